#!/usr/bin/env bash
# Builds the images the container tests use (busybox.sh, pause.sh) offline into .cache/images/,
# or reuses them when their inputs did not change (--force rebuilds), and prints one line per
# image: REFERENCE ARCHIVE (the reference the archive names, the OCI archive's path).
# Debian packages: umoci busybox-static gcc libc6-dev (and nodejs).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
busybox=$(bash "$here/busybox.sh" "$@")
pause=$(bash "$here/pause.sh" "$@")
printf '%s %s\n' "${EDGE_BUSYBOX_IMAGE:-localhost/edge-test/busybox:1}" "$busybox"
printf '%s %s\n' "${EDGE_PAUSE_IMAGE:-localhost/edge-test/pause:1}" "$pause"
