#!/usr/bin/env bash
# Builds the test sandbox image localhost/edge-test/pause:1 offline, as an OCI archive:
# .cache/images/pause.tar (see lib.sh). Its only file is /pause, pause.c compiled static with the
# host's gcc and glibc (about 700 KB): it sleeps until SIGTERM or SIGINT and exits 0, reaping
# children meanwhile, as registry.k8s.io/pause does. Entrypoint ["/pause"], user 65535:65535 (as
# the Kubernetes image). Prints the archive's path. Rebuilds only when its inputs changed (pause.c,
# these scripts, the compiler); --force rebuilds anyway.
# Debian packages: umoci gcc libc6-dev (and nodejs, which the project has).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REFERENCE=${EDGE_PAUSE_IMAGE:-localhost/edge-test/pause:1}
CC=${CC:-gcc}
archive="$CACHE/pause.tar"

require umoci:umoci "$CC:gcc" node:nodejs
key=$(echo "$(input_key "${BASH_SOURCE[0]}" "$IMAGES_DIR/pause.c") $REFERENCE $("$CC" --version | head -1)" | sha256sum | cut -d' ' -f1)
if [ "${1:-}" != --force ] && up_to_date "$archive" "$key"; then
  echo "$archive"
  exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/edge-image-pause.XXXXXX")
trap 'rm -rf "$work"' EXIT
new_layout "$work"
rootfs="$work/bundle/rootfs"

"$CC" -Os -static -s -Wall -Werror -o "$rootfs/pause" "$IMAGES_DIR/pause.c" 2>"$work/cc.log" ||
  die "compiling pause.c statically failed (a static libc is in libc6-dev: apt-get install -y gcc libc6-dev): $(cat "$work/cc.log")"
"$rootfs/pause" -v >/dev/null || die "the compiled pause does not run"
chmod 0755 "$rootfs/pause"

repack_layer "$work" "static pause (scripts/images/pause.c)"
configure "$work" \
  --config.entrypoint /pause \
  --config.user 65535:65535 \
  --config.label "org.opencontainers.image.title=edge-test pause"
write_archive "$work" "$REFERENCE" "$archive"
echo "$key" >"$archive.key"
say "built $REFERENCE -> $archive"
echo "$archive"
