# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this
# Shared by the image scripts in this folder (sourced, not run). Images are built offline into
# $EDGE_IMAGES_CACHE (default .cache/images/, ignored by git) as OCI archives: tars of an OCI image
# layout whose index names the image in both annotations containerd and registries read
# (io.containerd.image.name = the full reference, org.opencontainers.image.ref.name = the tag).
# Such a tar imports with `ctr images import` and copies to a registry (skopeo copy oci-archive:).
#
# Reproducible: every file time, the image's created time and its history are set from
# SOURCE_DATE_EPOCH (default: 2024-01-01T00:00:00Z), so the same inputs give the same digests.

IMAGES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$IMAGES_DIR/../.." && pwd)
CACHE=${EDGE_IMAGES_CACHE:-$REPO/.cache/images}
EPOCH=${SOURCE_DATE_EPOCH:-1704067200}
CREATED=$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)
SCRIPT_NAME=$(basename "$0" .sh)

say() { printf 'images/%s: %s\n' "$SCRIPT_NAME" "$*" >&2; }
die() {
  printf 'images/%s: error: %s\n' "$SCRIPT_NAME" "$*" >&2
  exit 1
}

# require TOOL:PACKAGE ...: fails with the install command for every missing tool.
require() {
  local missing=() spec
  for spec in "$@"; do
    command -v "${spec%%:*}" >/dev/null 2>&1 || missing+=("${spec#*:}")
  done
  [ "${#missing[@]}" -eq 0 ] ||
    die "missing tools; run npm run setup:system, or apt-get install -y ${missing[*]}"
}

# oci_arch: the host's architecture in OCI terms (amd64, arm64).
oci_arch() {
  case "$(uname -m)" in
    x86_64) echo amd64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) die "unsupported architecture $(uname -m)" ;;
  esac
}

# up_to_date ARCHIVE KEY: true when ARCHIVE exists and was built from inputs hashed to KEY.
up_to_date() {
  [ -f "$1" ] && [ -f "$1.key" ] && [ "$(cat "$1.key")" = "$2" ]
}

# input_key FILE...: a hash of the files that decide an image's content, this library and the
# epoch included, so a change to any of them rebuilds it.
input_key() {
  { sha256sum "$IMAGES_DIR/lib.sh" "$@" | cut -d' ' -f1; echo "$EPOCH"; } | sha256sum | cut -d' ' -f1
}

# normalize_times DIR: every file, link and directory under DIR gets the time EPOCH.
normalize_times() {
  find "$1" -depth -exec touch -h -d "@$EPOCH" {} +
}

# new_layout WORK: an empty OCI layout WORK/layout holding one empty image tagged "build", unpacked
# as the runtime bundle WORK/bundle (rootfs in WORK/bundle/rootfs).
new_layout() {
  local work=$1
  [ "$(id -u)" -eq 0 ] || die "needs root (umoci unpack keeps file owners; busybox.sh chroots)"
  umoci init --layout "$work/layout"
  umoci new --image "$work/layout:build"
  configure "$work" --architecture "$(oci_arch)" --os linux
  umoci unpack --image "$work/layout:build" "$work/bundle" >/dev/null
}

# repack_layer WORK COMMENT: WORK/bundle/rootfs becomes the image's one layer. Run the image's
# `umoci config` after this: repack rebuilds on the manifest the bundle was unpacked from.
repack_layer() {
  local work=$1 comment=$2
  normalize_times "$work/bundle/rootfs"
  umoci repack --image "$work/layout:build" --history.created "$CREATED" \
    --history.created_by "scripts/images/$SCRIPT_NAME.sh" --history.comment "$comment" "$work/bundle"
}

# configure WORK ARG...: `umoci config` of the image under construction, with the fixed times.
configure() {
  local work=$1
  shift
  umoci config --image "$work/layout:build" --no-history --created "$CREATED" "$@"
}

# write_archive WORK REFERENCE ARCHIVE: retags the image as REFERENCE's tag, names it REFERENCE,
# and writes the layout as the tar ARCHIVE (atomically).
write_archive() {
  local work=$1 reference=$2 archive=$3
  umoci tag --image "$work/layout:build" "${reference##*:}"
  umoci rm --image "$work/layout:build"
  umoci gc --layout "$work/layout"
  # umoci writes the tag alone as org.opencontainers.image.ref.name; containerd's importer and
  # CRI want the full name too (io.containerd.image.name), as `ctr images export` writes it.
  node -e '
    const fs = require("fs");
    const [file, reference] = process.argv.slice(1);
    const index = JSON.parse(fs.readFileSync(file, "utf8"));
    for (const m of index.manifests) m.annotations = { ...m.annotations, "io.containerd.image.name": reference };
    fs.writeFileSync(file, JSON.stringify(index));
  ' "$work/layout/index.json" "$reference"
  normalize_times "$work/layout"
  mkdir -p "$(dirname "$archive")"
  # A temporary name of its own: two builds at once (parallel test files) must not mix bytes.
  local tmp
  tmp=$(mktemp "$archive.XXXXXX")
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$EPOCH" \
    -C "$work/layout" -cf "$tmp" .
  chmod 0644 "$tmp"
  mv "$tmp" "$archive"
}
