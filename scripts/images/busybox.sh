#!/usr/bin/env bash
# Builds the test image localhost/edge-test/busybox:1 offline from Debian's busybox-static, as an
# OCI archive: .cache/images/busybox.tar (see lib.sh). Configured as the busybox image people know:
# /bin/busybox plus a link for every applet at its usual path (/bin/sh, /usr/bin/env, ...),
# root and nobody in /etc/passwd, PATH set, Cmd ["sh"], no entrypoint, runs as root.
# Needs root (chroot, umoci unpack). Prints the archive's path. Rebuilds only when its inputs
# changed (the busybox binary, these scripts); --force rebuilds anyway.
# Debian packages: umoci busybox-static (and nodejs, which the project has).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REFERENCE=${EDGE_BUSYBOX_IMAGE:-localhost/edge-test/busybox:1}
BUSYBOX=${BUSYBOX_BIN:-/bin/busybox}
archive="$CACHE/busybox.tar"

require umoci:umoci node:nodejs
[ -x "$BUSYBOX" ] || die "no $BUSYBOX; run npm run setup:system, or apt-get install -y busybox-static"
"$BUSYBOX" --list-full >/dev/null 2>&1 || die "$BUSYBOX cannot list its applets (not busybox-static?)"

key=$(echo "$(input_key "${BASH_SOURCE[0]}" "$BUSYBOX") $REFERENCE" | sha256sum | cut -d' ' -f1)
if [ "${1:-}" != --force ] && up_to_date "$archive" "$key"; then
  echo "$archive"
  exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/edge-image-busybox.XXXXXX")
trap 'rm -rf "$work"' EXIT
new_layout "$work"
rootfs="$work/bundle/rootfs"

mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,root,home,var/spool/mail,var/www,dev,proc,sys}
install -d -m 1777 "$rootfs/tmp"
install -m 0755 "$BUSYBOX" "$rootfs/bin/busybox"
# One process for all ~270 links (a loop of ln takes seconds on a loaded machine): busybox
# itself, chrooted into the rootfs, links every applet to /bin/busybox at its usual path.
chroot "$rootfs" /bin/busybox --install -s
rm -f "$rootfs/linuxrc"
if [ "$(readlink "$rootfs/bin/sh")" != /bin/busybox ] || [ ! -L "$rootfs/usr/bin/env" ]; then
  die "busybox --install -s did not link the applets"
fi
cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
tty:x:5:
www-data:x:33:
nogroup:x:65534:
GROUP
chmod 0700 "$rootfs/root"

repack_layer "$work" "busybox-static with applet links"
configure "$work" \
  --config.env 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --config.cmd sh \
  --config.label "org.opencontainers.image.title=edge-test busybox" \
  --config.label "org.opencontainers.image.description=busybox-static $("$BUSYBOX" 2>&1 | head -1 | cut -d' ' -f2) for edge-sync tests"
write_archive "$work" "$REFERENCE" "$archive"
echo "$key" >"$archive.key"
say "built $REFERENCE -> $archive"
echo "$archive"
