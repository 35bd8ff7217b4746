#!/usr/bin/env bash
# Installs the edge-sync edge agent on Debian, Ubuntu and Raspberry Pi OS (arm64, armhf, amd64)
# as a systemd service, from the agent's own package: `npm run build:agent && npm pack ./dist-agent`
# in an edge-sync checkout makes edge-sync-agent-VERSION.tgz (one bundled script, edge-agent.js,
# and better-sqlite3; none of the hub's dependencies). Idempotent: run it again with
# the same arguments and nothing changes; with a new tarball or settings it upgrades in place
# and restarts the agent (its workloads keep running). deploy/README.md explains every step.
set -euo pipefail

readonly USER_NAME=edge-agent
readonly UNIT_NAME=edge-agent.service
readonly PREFIX_DIR=/opt/edge-agent
readonly CONFIG_DIR=/etc/edge-agent
readonly DATA_DIR=/var/lib/edge-agent
readonly RUNTIME_DIR=/run/edge-agent
readonly UNIT_DIR=/etc/systemd/system
readonly MIN_NODE_MAJOR=20
readonly CONTAINERD_SOCKET=/run/containerd/containerd.sock

usage() {
  cat <<'EOF'
Usage: install.sh --tarball FILE --hub URL --token-file FILE [--node NAME] [--hub-ca FILE] [options]
       install.sh --uninstall [--purge] [--root DIR] [--no-systemctl]

Install (or upgrade) the edge agent:
  --tarball FILE        the agent package, edge-sync-agent-VERSION.tgz (in an edge-sync
                        checkout: npm run build:agent && npm pack ./dist-agent); needed on
                        the first install, optional later (the installed version is kept)
  --hub URL             hub address: ws://HOST:PORT, wss://..., mqtt://HOST:PORT or mqtts://...
  --node NAME           this node's name (default: the host name)
  --token-file FILE     this node's token (`cloud-hub token create NAME`), copied to
                        /etc/edge-agent/token (owned by the edge-agent user, mode 0400);
                        needed unless that file exists. To rotate it, run this again with
                        the new token (or replace the file's content): the agent reads it
                        again when the hub refuses the old one, no restart needed
  --hub-ca FILE         the CA that signs the hub's certificate, for wss:// or mqtts:// with
                        a private CA (a hub started with --tls writes it to DATA/hub-ca.crt);
                        copied to /etc/edge-agent/hub-ca.crt and named in config.yaml
  --local-api HOST:PORT where edge applications read the cache (default 127.0.0.1:10350)
  --metrics HOST:PORT   /metrics, /healthz, /readyz (default 127.0.0.1:9101)
  --node-bin PATH       the Node.js binary to run the agent with (default: node on PATH)
  --install-node        install Node.js with apt-get when it is missing or older than 20
  --with-containerd     run Pods as containers: install containerd and runc (Debian packages)
                        when missing, let the edge-agent group use containerd's socket, and
                        set containerRuntimeEndpoint in config.yaml (Pods with
                        runtimeClassName edge-process still run as processes)
  The settings go to /etc/edge-agent/config.yaml. Without --hub, --node, --local-api or
  --metrics (or --with-containerd) an existing config.yaml is left as it is; with any of them it is written anew,
  the others taken from the old file (kept as config.yaml.bak).

Remove it:
  --uninstall           stop the agent and its workloads, remove the program, the unit, the
                        configuration and the edge-agent user; keep /var/lib/edge-agent
  --purge               --uninstall, and remove /var/lib/edge-agent too

Both:
  --root DIR            work on the root file system mounted at DIR (an image, a test)
                        instead of /; Node.js is checked on this machine
  --no-systemctl        write the unit but do not call systemctl (no systemd running)
  -h, --help            this text
EOF
}

say() { printf 'install.sh: %s\n' "$*"; }
die() {
  printf 'install.sh: error: %s\n' "$*" >&2
  exit 1
}

tarball='' hub='' node_name='' token_file='' hub_ca='' local_api='' metrics=''
node_bin='' install_node=0 with_containerd=0 uninstall=0 purge=0 root='' use_systemctl=1
config_flags=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tarball) tarball=${2:?--tarball needs a file}; shift ;;
    --hub) hub=${2:?--hub needs a URL}; config_flags=1; shift ;;
    --node) node_name=${2:?--node needs a name}; config_flags=1; shift ;;
    --token-file) token_file=${2:?--token-file needs a file}; shift ;;
    --hub-ca) hub_ca=${2:?--hub-ca needs a file}; config_flags=1; shift ;;
    --local-api) local_api=${2:?--local-api needs HOST:PORT}; config_flags=1; shift ;;
    --metrics) metrics=${2:?--metrics needs HOST:PORT}; config_flags=1; shift ;;
    --node-bin) node_bin=${2:?--node-bin needs a path}; shift ;;
    --install-node) install_node=1 ;;
    --with-containerd) with_containerd=1; config_flags=1 ;;
    --uninstall) uninstall=1 ;;
    --purge) uninstall=1; purge=1 ;;
    --root) root=${2:?--root needs a directory}; shift ;;
    --no-systemctl) use_systemctl=0 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done

if [ -n "$root" ]; then
  [ -d "$root" ] || die "--root $root: no such directory"
  root=$(cd "$root" && pwd)
fi
is_root=0
[ "$(id -u)" -eq 0 ] && is_root=1
if [ "$is_root" -eq 0 ]; then
  [ -n "$root" ] || die "run as root (sudo $0 ...)"
  say "not root: the edge-agent user and file ownership are left out (--root $root)"
fi

# systemctl only makes sense on the running system with systemd as init.
if [ "$use_systemctl" -eq 1 ]; then
  if [ -n "$root" ]; then
    use_systemctl=0
  elif ! command -v systemctl >/dev/null 2>&1 || [ ! -d /run/systemd/system ]; then
    say "systemd is not running here: the unit is written but not started"
    use_systemctl=0
  fi
fi

# ---------------------------------------------------------------------------------------------
# Accounts, in the target root (useradd/userdel --prefix edit DIR/etc/passwd and friends).

account_args() { if [ -n "$root" ]; then printf '%s\n' --prefix "$root"; fi; }
has_user() { grep -q "^${USER_NAME}:" "$root/etc/passwd" 2>/dev/null; }
has_group() { grep -q "^${USER_NAME}:" "$root/etc/group" 2>/dev/null; }
user_ids() { awk -F: -v user="$USER_NAME" '$1 == user { print $3 ":" $4 }' "$root/etc/passwd"; }

owned() { # owned OWNER MODE PATH...: chown (root only) and chmod
  local owner=$1 mode=$2
  shift 2
  if [ "$is_root" -eq 1 ]; then chown "$owner" "$@"; fi
  chmod "$mode" "$@"
}

# ---------------------------------------------------------------------------------------------
# Uninstall

systemctl_quiet() { systemctl "$@" >/dev/null 2>&1 || true; }

stop_workloads() { # stop_workloads CGROUP
  # KillMode=process leaves the workloads running when the agent stops; they stay in the unit's
  # control group, or in the cgroups the agent made below it (Delegate=yes: one per Pod and
  # container). Stopping for good means stopping them too: TERM, then KILL after 10 s.
  # (cgroup.procs always has size 0 in sysfs: read it to know whether it is empty.)
  local base='' pids pid tries signal
  for base in "/sys/fs/cgroup$1" "/sys/fs/cgroup/systemd$1"; do
    [ -r "$base/cgroup.procs" ] && break
  done
  [ -r "$base/cgroup.procs" ] || return 0
  for signal in TERM KILL; do
    for tries in 1 2 3 4 5 6 7 8 9 10; do
      pids=$(find "$base" -name cgroup.procs -exec cat {} + 2>/dev/null || true)
      [ -n "$pids" ] || return 0
      if [ "$tries" -eq 1 ]; then
        for pid in $pids; do kill "-$signal" "$pid" 2>/dev/null || true; done
      fi
      sleep 1
    done
  done
}

do_uninstall() {
  local cgroup
  if [ "$use_systemctl" -eq 1 ]; then
    say "stopping $UNIT_NAME and its workloads"
    # Where the workloads are: asked while the unit is still loaded (default: system.slice).
    cgroup=$(systemctl show -p ControlGroup --value "$UNIT_NAME" 2>/dev/null || true)
    systemctl_quiet disable --now "$UNIT_NAME"
    stop_workloads "${cgroup:-/system.slice/$UNIT_NAME}"
  fi
  rm -f "$root$UNIT_DIR/$UNIT_NAME"
  if [ "$use_systemctl" -eq 1 ]; then
    systemctl_quiet daemon-reload
    systemctl_quiet reset-failed "$UNIT_NAME"
  fi
  rm -rf "$root$PREFIX_DIR" "$root$PREFIX_DIR.new" "$root$PREFIX_DIR.old" "$root$CONFIG_DIR"
  # The workloads are stopped: their Secret volumes go too (RuntimeDirectoryPreserve=yes keeps them otherwise).
  rm -rf "$root$RUNTIME_DIR"
  if [ "$is_root" -eq 1 ]; then
    # shellcheck disable=SC2046 # account_args prints zero or two words
    if has_user; then userdel $(account_args) "$USER_NAME" || say "could not remove the user $USER_NAME (processes still running as it?)"; fi
    # shellcheck disable=SC2046
    if has_group; then groupdel $(account_args) "$USER_NAME" || say "could not remove the group $USER_NAME"; fi
  fi
  if [ "$purge" -eq 1 ]; then
    rm -rf "$root$DATA_DIR"
    say "removed the agent and its data ($DATA_DIR)"
  else
    say "removed the agent; its data is kept in $DATA_DIR (--purge removes it)"
  fi
}

if [ "$uninstall" -eq 1 ]; then
  do_uninstall
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# Checks: architecture, Node.js, npm, the inputs.

# The userland's architecture decides which Node.js runs (a Raspberry Pi may run a 64-bit
# kernel under a 32-bit armhf userland).
arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
case "$arch" in
  amd64 | x86_64) arch=amd64 node_arch=x64 ;;
  arm64 | aarch64) arch=arm64 node_arch=arm64 ;;
  armhf | armv7l | armv8l) arch=armhf node_arch=arm ;;
  armel | armv6l) die "architecture $arch (ARMv6: Raspberry Pi 1 and Zero) has no Node.js $MIN_NODE_MAJOR; use a Raspberry Pi 2 or later" ;;
  *) die "architecture $arch is not supported (arm64, armhf, amd64)" ;;
esac

node_hint() {
  cat >&2 <<EOF
install.sh: Node.js $MIN_NODE_MAJOR or later is needed ($arch). Install it, then run this again:
  - Debian 13 and later, Ubuntu 24.10 and later:   sudo apt-get install nodejs npm
  - older releases and Raspberry Pi OS: Node.js $MIN_NODE_MAJOR for "linux-$node_arch" from nodejs.org
    (the node-v$MIN_NODE_MAJOR.x-linux-$node_arch.tar.xz archive unpacked into /usr/local) or
    NodeSource's nodejs $MIN_NODE_MAJOR.x Debian packages
  or re-run with --install-node to let this script try apt-get.
EOF
}

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

[ -n "$node_bin" ] || node_bin=$(command -v node || command -v nodejs || true)
if [ -z "$node_bin" ] || [ "$(node_major "$node_bin")" -lt "$MIN_NODE_MAJOR" ]; then
  if [ "$install_node" -eq 1 ] && [ -z "$root" ] && command -v apt-get >/dev/null 2>&1; then
    candidate=$(apt-cache policy nodejs 2>/dev/null | awk '/Candidate:/ { print $2 }')
    candidate_major=$(printf '%s' "${candidate#*:}" | cut -d. -f1)
    if [ -n "$candidate_major" ] && [ "$candidate_major" -ge "$MIN_NODE_MAJOR" ] 2>/dev/null; then
      say "installing nodejs $candidate and npm with apt-get"
      DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm
      node_bin=$(command -v node)
    else
      say "apt offers nodejs ${candidate:-(none)}, older than $MIN_NODE_MAJOR"
    fi
  fi
  if [ -z "$node_bin" ] || [ "$(node_major "$node_bin")" -lt "$MIN_NODE_MAJOR" ]; then
    [ -n "$node_bin" ] && say "$node_bin is Node.js $("$node_bin" --version 2>/dev/null || echo '(unknown)')"
    node_hint
    exit 1
  fi
fi
[ "$("$node_bin" -p process.arch)" = "$node_arch" ] || die "$node_bin is built for $("$node_bin" -p process.arch), this system is $arch ($node_arch)"
npm_bin=$(dirname "$node_bin")/npm
[ -x "$npm_bin" ] || npm_bin=$(command -v npm || true)

# The settings: given ones, else those of an existing config.yaml, else the defaults.
config="$root$CONFIG_DIR/config.yaml"
config_value() {
  [ -f "$config" ] || return 0
  sed -n "s/^$1: *\"\{0,1\}\([^\"]*\)\"\{0,1\} *\$/\1/p" "$config" | head -n 1
}
write_config=0
if [ "$config_flags" -eq 1 ] || [ ! -f "$config" ]; then
  write_config=1
  hub=${hub:-$(config_value hub)}
  node_name=${node_name:-$(config_value node)}
  node_name=${node_name:-$(hostname | tr '[:upper:]' '[:lower:]')}
  local_api=${local_api:-$(config_value localApi)}
  local_api=${local_api:-127.0.0.1:10350}
  metrics=${metrics:-$(config_value metrics)}
  metrics=${metrics:-127.0.0.1:9101}
  runtime_endpoint=$(config_value containerRuntimeEndpoint)
  if [ "$with_containerd" -eq 1 ]; then runtime_endpoint=unix://$CONTAINERD_SOCKET; fi
  [ -n "$hub" ] || die "--hub URL is needed (there is no $CONFIG_DIR/config.yaml to take it from)"
  [[ "$hub" =~ ^(wss?|mqtts?)://[^[:space:]\"\\]+$ ]] || die "--hub $hub: expected ws://, wss://, mqtt:// or mqtts://HOST:PORT"
  if ! [[ "$node_name" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ ]] || [ "${#node_name}" -gt 253 ]; then
    die "node name \"$node_name\" is not a DNS-1123 subdomain (lower case letters, digits, '-' and '.'); pass --node NAME"
  fi
  for value in "$local_api" "$metrics"; do
    [[ "$value" =~ ^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):[0-9]{1,5}$ ]] || die "$value: expected HOST:PORT"
  done
fi
[ -z "$tarball" ] || [ -f "$tarball" ] || die "--tarball $tarball: no such file"
[ -z "$token_file" ] || [ -s "$token_file" ] || die "--token-file $token_file: missing or empty"
if [ -n "$hub_ca" ]; then
  [ -s "$hub_ca" ] || die "--hub-ca $hub_ca: missing or empty"
  grep -q -- '-----BEGIN CERTIFICATE-----' "$hub_ca" || die "--hub-ca $hub_ca: no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)"
fi

readonly PACKAGE_NAME=edge-sync-agent
installed_main="$root$PREFIX_DIR/node_modules/$PACKAGE_NAME/edge-agent.js"
[ -n "$tarball" ] || [ -f "$installed_main" ] || die "--tarball FILE is needed for the first install (npm run build:agent && npm pack ./dist-agent in an edge-sync checkout makes one)"
if [ -n "$tarball" ]; then
  # The agent's package, not edge-sync's own (that one carries the hub and its dependencies).
  tarball_name=$(tar -xzOf "$tarball" package/package.json 2>/dev/null | "$node_bin" -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { try { console.log(JSON.parse(s).name ?? "") } catch { console.log("") } })' || true)
  [ "$tarball_name" = "$PACKAGE_NAME" ] || die "--tarball $tarball: expected the $PACKAGE_NAME package, found ${tarball_name:-no package.json}; in an edge-sync checkout run npm run build:agent && npm pack ./dist-agent"
fi
[ -n "$token_file" ] || [ -s "$root$CONFIG_DIR/token" ] || die "--token-file FILE is needed: the hub accepts only nodes with a token (cloud-hub token create NODE)"

changed=0

# install_file MODE OWNER SOURCE TARGET: copy when the content, mode or (as root) owner differs.
install_file() {
  local mode=$1 owner=$2 source=$3 target=$4
  if [ -f "$target" ] && cmp -s "$source" "$target" && [ "$(stat -c %a "$target")" = "${mode#0}" ] &&
    { [ "$is_root" -eq 0 ] || [ "$(stat -c %u:%g "$target")" = "$owner" ]; }; then return 0; fi
  install -m "$mode" "$source" "$target.tmp.$$"
  if [ "$is_root" -eq 1 ]; then chown "$owner" "$target.tmp.$$"; fi
  mv -f "$target.tmp.$$" "$target"
  say "wrote $target"
  changed=1
}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# ---------------------------------------------------------------------------------------------
# The edge-agent user and the directories.

if [ "$is_root" -eq 1 ] && ! has_user; then
  # shellcheck disable=SC2046 # account_args prints zero or two words
  useradd $(account_args) --system --user-group --home-dir "$DATA_DIR" --no-create-home \
    --shell /usr/sbin/nologin --comment "edge-sync agent" "$USER_NAME"
  say "created the system user $USER_NAME"
  changed=1
fi
ids=root:root
if [ "$is_root" -eq 1 ]; then ids=$(user_ids); fi
agent_uid=${ids%%:*} agent_gid=${ids##*:}

mkdir -p "$root$PREFIX_DIR" "$root$CONFIG_DIR" "$root$DATA_DIR" "$root$UNIT_DIR"
owned "0:0" 0755 "$root$PREFIX_DIR"
owned "0:$agent_gid" 0750 "$root$CONFIG_DIR"
owned "$agent_uid:$agent_gid" 0700 "$root$DATA_DIR"
# A data dir kept by --uninstall may belong to an earlier edge-agent user's ids.
if [ "$is_root" -eq 1 ] && [ -n "$(find "$root$DATA_DIR" ! -user "$agent_uid" -print -quit)" ]; then
  chown -R "$agent_uid:$agent_gid" "$root$DATA_DIR"
  say "gave $DATA_DIR to $USER_NAME"
fi

# ---------------------------------------------------------------------------------------------
# The program: npm installs the agent's package (the bundled edge-agent.js) and its one
# dependency, better-sqlite3, in a new directory that replaces the old one only once it is complete.

if [ -n "$tarball" ]; then
  sum=$(sha256sum "$tarball" | cut -d' ' -f1)
  if [ -f "$installed_main" ] && [ "$(cat "$root$PREFIX_DIR/.tarball.sha256" 2>/dev/null)" = "$sum" ]; then
    say "$PREFIX_DIR already holds this tarball"
  else
    [ -n "$npm_bin" ] || die "npm is missing (Debian: apt-get install npm)"
    staging="$root$PREFIX_DIR.new"
    rm -rf "$staging"
    mkdir -p "$staging"
    cp "$tarball" "$staging/$PACKAGE_NAME.tgz"
    printf '{ "name": "edge-agent-install", "private": true, "allowScripts": { "better-sqlite3": true } }\n' >"$staging/package.json"
    say "installing $(basename "$tarball") into $PREFIX_DIR (npm install --omit=dev)"
    # better-sqlite3 downloads its prebuilt binary for this arch, or compiles it (build-essential, python3).
    if ! (cd "$staging" && PATH="$(dirname "$node_bin"):$PATH" "$npm_bin" install --omit=dev --no-audit --no-fund --no-update-notifier "./$PACKAGE_NAME.tgz"); then
      rm -rf "$staging"
      die "npm install failed; if better-sqlite3 had to be compiled: apt-get install build-essential python3"
    fi
    [ -f "$staging/node_modules/$PACKAGE_NAME/edge-agent.js" ] || die "the tarball holds no edge-agent.js (was it made with npm pack ./dist-agent?)"
    printf '%s\n' "$sum" >"$staging/.tarball.sha256"
    rm -rf "$root$PREFIX_DIR.old"
    mv "$root$PREFIX_DIR" "$root$PREFIX_DIR.old"
    mv "$staging" "$root$PREFIX_DIR"
    rm -rf "$root$PREFIX_DIR.old"
    if [ "$is_root" -eq 1 ]; then chown -R 0:0 "$root$PREFIX_DIR"; fi
    chmod 0755 "$root$PREFIX_DIR"
    say "installed $(du -sh "$root$PREFIX_DIR" | cut -f1) in $PREFIX_DIR"
    changed=1
  fi
fi

# ---------------------------------------------------------------------------------------------
# containerd (--with-containerd): Debian's package, its CRI plugin on (containerd's default), and
# its socket usable by the edge-agent group. A config.toml that this script did not write is left
# alone; it then says what to add.

if [ "$with_containerd" -eq 1 ]; then
  if [ -z "$root" ] && ! command -v containerd >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "--with-containerd: containerd is missing and there is no apt-get here; install containerd and runc"
    say "installing containerd and runc with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y containerd runc
    changed=1
  elif [ -n "$root" ] && [ ! -x "$root/usr/bin/containerd" ]; then
    say "containerd is not installed in $root: install the Debian packages containerd and runc there"
  fi
  containerd_gid=$agent_gid
  [[ "$containerd_gid" =~ ^[0-9]+$ ]] || containerd_gid=0
  containerd_config="$root/etc/containerd/config.toml"
  containerd_before=$(cat "$containerd_config" 2>/dev/null || true)
  if [ ! -f "$containerd_config" ] || grep -q '^# Written by edge-sync' "$containerd_config"; then
    mkdir -p "$root/etc/containerd"
    {
      printf '# Written by edge-sync install.sh --with-containerd: containerd defaults (CRI plugin on, runc)\n'
      printf '# and the socket open to the %s group. Pods use the host network: no CNI is needed.\n' "$USER_NAME"
      printf 'version = 2\n\n[grpc]\n  address = "%s"\n  gid = %s\n' "$CONTAINERD_SOCKET" "$containerd_gid"
    } >"$scratch/containerd.toml"
    install_file 0644 "0:0" "$scratch/containerd.toml" "$containerd_config"
  elif ! grep -Eq "^[[:space:]]*gid[[:space:]]*=[[:space:]]*${containerd_gid}[[:space:]]*\$" "$containerd_config"; then
    say "left /etc/containerd/config.toml as it is: for the agent to reach containerd, add gid = $containerd_gid under [grpc] and restart containerd"
  fi
  if [ "$use_systemctl" -eq 1 ]; then
    systemctl enable containerd >/dev/null 2>&1 || true
    if [ "$containerd_before" != "$(cat "$containerd_config" 2>/dev/null || true)" ]; then
      systemctl restart containerd
      say "restarted containerd with the new configuration"
    else
      systemctl start containerd
    fi
  fi
fi

# ---------------------------------------------------------------------------------------------
# Token, hub CA and configuration. Root owns the configuration and the agent's group reads it.
# The token is the node's identity: the agent refuses a token file that its group or others
# can read, so it belongs to the edge-agent user alone (0400); the unit's ProtectSystem=strict
# keeps /etc read-only for the agent all the same.

if [ -n "$token_file" ]; then
  install_file 0400 "$agent_uid:$agent_gid" "$token_file" "$root$CONFIG_DIR/token"
fi
if [ -n "$hub_ca" ]; then
  install_file 0644 "0:0" "$hub_ca" "$root$CONFIG_DIR/hub-ca.crt"
fi

yaml_quote() { printf '"%s"' "$1"; } # the values were checked: no quotes, backslashes or spaces

if [ "$write_config" -eq 1 ]; then
  {
    printf '# edge-agent settings, read with "edge-agent --config %s".\n' "$CONFIG_DIR/config.yaml"
    printf '# Written by install.sh. Every flag of "edge-agent --help" can be set here by its camelCase\n'
    printf '# name (logLevel, labels, filterRules, ...); flags and EDGE_* environment variables (for\n'
    printf '# instance in %s/env) override this file.\n' "$CONFIG_DIR"
    printf 'hub: %s\n' "$(yaml_quote "$hub")"
    printf 'node: %s\n' "$(yaml_quote "$node_name")"
    printf 'tokenFile: %s\n' "$(yaml_quote "$CONFIG_DIR/token")"
    if [ -s "$root$CONFIG_DIR/hub-ca.crt" ]; then printf 'hubCa: %s\n' "$(yaml_quote "$CONFIG_DIR/hub-ca.crt")"; fi
    printf 'data: %s\n' "$(yaml_quote "$DATA_DIR")"
    printf 'localApi: %s\n' "$(yaml_quote "$local_api")"
    printf 'metrics: %s\n' "$(yaml_quote "$metrics")"
    if [ -n "$runtime_endpoint" ]; then printf 'containerRuntimeEndpoint: %s\n' "$(yaml_quote "$runtime_endpoint")"; fi
  } >"$scratch/config.yaml"
  if [ -f "$config" ] && ! cmp -s "$scratch/config.yaml" "$config"; then
    cp -p "$config" "$config.bak"
    say "kept the previous configuration as $CONFIG_DIR/config.yaml.bak"
  fi
  install_file 0640 "0:$agent_gid" "$scratch/config.yaml" "$config"
fi

# ---------------------------------------------------------------------------------------------
# The systemd unit.

cat >"$scratch/$UNIT_NAME" <<EOF
# Written by edge-sync's install.sh; remove with install.sh --uninstall.
[Unit]
Description=edge-sync edge agent
Documentation=file://$PREFIX_DIR/node_modules/$PACKAGE_NAME/README.md
Wants=network-online.target
# containerd, when the agent runs Pods through it (--with-containerd); no effect otherwise.
After=network-online.target containerd.service

[Service]
Type=simple
User=$USER_NAME
Group=$USER_NAME
# Optional EDGE_* variables (they override config.yaml), e.g. LOG_LEVEL=debug.
EnvironmentFile=-$CONFIG_DIR/env
# A 1 MB young generation instead of V8's 16 MB semi-spaces: an idle agent on a small device
# trades a few cheap scavenges for about 12 MB less resident memory (npm run bench, agent-rss).
ExecStart=$node_bin --max-semi-space-size=1 $PREFIX_DIR/node_modules/$PACKAGE_NAME/edge-agent.js --config $CONFIG_DIR/config.yaml
Restart=always
RestartSec=2
# The agent runs each workload as a detached process of its own (session, process group) that
# outlives the agent: a restarted or upgraded agent adopts what is running. The default
# KillMode=control-group would kill every workload with the agent; "process" signals only the
# agent on stop and restart. install.sh --uninstall stops the workloads too.
KillMode=process
# The unit's cgroup is the agent's to manage: it makes one cgroup per Pod and per container
# below it (edge-sync/<scope>/pod<uid>/<container>) with the Pods' memory, CPU and pids limits.
# On cgroup v2 this hands it the cpu, memory and pids controllers (and the subtree's ownership).
Delegate=yes
TimeoutStopSec=30
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
# The only writable place: the cache, the outbox and the workloads' files.
ReadWritePaths=$DATA_DIR
# Secret volumes live on a memory filesystem, never on disk: /run/edge-agent (tmpfs), the
# agent's own (0700), passed to it as \$RUNTIME_DIRECTORY (Secrets in its secrets/). Kept when
# the agent stops (yes, not restart: its workloads keep running, and with them their Secret
# files); /run is emptied at reboot and the agent writes them again from its cache.
RuntimeDirectory=edge-agent
RuntimeDirectoryMode=0700
RuntimeDirectoryPreserve=yes

[Install]
WantedBy=multi-user.target
EOF
install_file 0644 "0:0" "$scratch/$UNIT_NAME" "$root$UNIT_DIR/$UNIT_NAME"

if [ "$use_systemctl" -eq 1 ]; then
  systemctl daemon-reload
  systemctl enable "$UNIT_NAME" >/dev/null
  if [ "$changed" -eq 1 ]; then
    systemctl restart "$UNIT_NAME"
    say "(re)started $UNIT_NAME: systemctl status $UNIT_NAME; journalctl -u $UNIT_NAME"
  else
    systemctl start "$UNIT_NAME"
    say "nothing changed; $UNIT_NAME is running"
  fi
elif [ "$changed" -eq 0 ]; then
  say "nothing changed"
fi
