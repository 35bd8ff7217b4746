#!/usr/bin/env bash
# `npm run setup:system`: installs the Debian packages that `npm test` and `npm run test:arm64`
# use, so that a fresh Debian (or Ubuntu) machine goes green with the README's commands.
# .ci/run calls it too. Idempotent: it installs only what is missing, and when nothing is, it
# changes nothing and needs no network (no apt-get update). Uses sudo when not run as root.
#
#   --check   only report what is missing (exit 1 if anything is), install nothing
#
# A test that needs one of these tools and does not find it fails with
# "X is not installed: run `npm run setup:system` (or: apt-get install -y PKG)"
# (test/helpers/system-tools.ts, which names its packages from the list below).
set -euo pipefail

# Every Debian package the tests and test:arm64 need, and nothing else.
PACKAGES=(
  kubectl               # the real kubectl against the embedded API and the agent's local API (>= 1.31)
  mosquitto             # the MQTT broker (tests start their own on free loopback ports)
  bubblewrap            # bwrap: Pod sandboxes
  util-linux            # nsenter: exec into a sandboxed Pod (kubelet API)
  bsdutils              # script: the pseudo-terminal of exec -t in the process runtime
  shellcheck            # lints deploy/edge/install.sh and the scripts
  systemd               # systemd-analyze verify of the agent's unit
  qemu-user-static      # test:arm64: the agent as an arm64 process
  g++-aarch64-linux-gnu # test:arm64: better-sqlite3 built for arm64 (and the arm64 C library)
  make                  # test:arm64: node-gyp's build
  python3               # test:arm64: node-gyp
  file                  # test:arm64: checks that what it built is arm64
  containerd            # container tests: a private containerd per test (CRI)
  runc                  # containerd's runtime
  umoci                 # builds the OCI test images offline (scripts/images/)
  busybox-static        # the busybox test image's only binary
  gcc                   # the test pause image (a static C program)
  libc6-dev             # static glibc for it
  docker-registry       # a private registry with htpasswd auth for image pulls
  apache2-utils         # htpasswd
  skopeo                # pushes OCI archives into that registry
  buildah               # builds deploy/docker images without a Docker engine
  python3-kubernetes    # the official Python client: the compatibility suite against the embedded API
)

# kubectl talks to a 1.32 API in the tests; kubectl supports one minor version of skew.
readonly KUBECTL_MIN_MINOR=31

say() { printf 'setup:system: %s\n' "$*"; }
die() {
  printf 'setup:system: error: %s\n' "$*" >&2
  exit 1
}

check_only=false
case "${1:-}" in
  '') ;;
  --check) check_only=true ;;
  -h | --help)
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown argument '$1' (try --help)" ;;
esac

command -v dpkg-query >/dev/null 2>&1 || die "this script installs Debian packages with apt-get; on another system install the equivalents of: ${PACKAGES[*]}"

installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }

# The minor version of the kubectl on PATH, or nothing.
kubectl_minor() {
  command -v kubectl >/dev/null 2>&1 || return 0
  kubectl version --client -o json 2>/dev/null | sed -n 's/.*"minor": *"\([0-9]*\).*/\1/p' | head -n 1
}

# A kubectl installed another way (kubernetes.io's binary download, for instance) serves as well,
# if it is recent enough.
usable_kubectl_on_path() {
  local minor
  minor=$(kubectl_minor)
  [ -n "$minor" ] && [ "$minor" -ge "$KUBECTL_MIN_MINOR" ]
}

missing=()
for package in "${PACKAGES[@]}"; do
  installed "$package" && continue
  [ "$package" = kubectl ] && usable_kubectl_on_path && continue
  missing+=("$package")
done

if [ "${#missing[@]}" -eq 0 ]; then
  say "all ${#PACKAGES[@]} packages are installed: ${PACKAGES[*]}"
  exit 0
fi
if $check_only; then
  say "missing: ${missing[*]} (run: npm run setup:system)"
  exit 1
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "not root and no sudo: run as root: apt-get install -y ${missing[*]}"
  fi
}

say "installing: ${missing[*]}"
as_root apt-get update -qq

# Debian's own kubernetes-client is kubectl 1.20, too old for the tests; the package named
# kubectl comes from the Kubernetes project's apt repository, which has to be configured first.
kubectl_unavailable=false
if [[ " ${missing[*]} " == *" kubectl "* ]]; then
  candidate=$(apt-cache policy kubectl 2>/dev/null | sed -n 's/^ *Candidate: *//p')
  if [ -z "$candidate" ] || [ "$candidate" = '(none)' ]; then
    kubectl_unavailable=true
    remaining=()
    for package in "${missing[@]}"; do [ "$package" = kubectl ] || remaining+=("$package"); done
    missing=("${remaining[@]}")
  fi
fi

if [ "${#missing[@]}" -gt 0 ]; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if $kubectl_unavailable; then
  minor=$(kubectl_minor)
  cat >&2 <<EOF
setup:system: error: the package kubectl is not in this machine's apt sources.
Debian's own kubernetes-client is kubectl 1.20, too old for the tests (they need 1.${KUBECTL_MIN_MINOR} or later${minor:+; the kubectl on PATH is 1.$minor}).
Add the Kubernetes project's apt repository, then run \`npm run setup:system\` again:

  sudo apt-get install -y curl gpg
  sudo mkdir -p -m 755 /etc/apt/keyrings
  curl -fsSL https://pkgs.k8s.io/core:/stable:/v1.32/deb/Release.key | sudo gpg --dearmor -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg
  echo 'deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.32/deb/ /' | sudo tee /etc/apt/sources.list.d/kubernetes.list

or put kubectl 1.${KUBECTL_MIN_MINOR} or later on PATH another way: https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/
EOF
  exit 1
fi
say "done"
