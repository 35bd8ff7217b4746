#!/usr/bin/env bash
# Builds a Dockerfile with buildah where no Docker engine and no image registry exist, and writes
# the image as an OCI archive that containerd imports:
#
#   scripts/images/buildah-build.sh ARCHIVE REFERENCE [buildah bud options...] CONTEXT
#
#   scripts/images/buildah-build.sh .cache/images/hub.tar localhost/edge-sync/cloud-hub:dev \
#     -f deploy/docker/Dockerfile --target cloud-hub \
#     --build-arg NODE_IMAGE=oci-archive:.cache/images/node-base.tar .
#   ctr -n k8s.io images import --snapshotter native .cache/images/hub.tar
#   ctr -n k8s.io run --rm --net-host --snapshotter native localhost/edge-sync/cloud-hub:dev hub
#
# A base image comes from an OCI archive through the FROM line itself: `FROM oci-archive:PATH`
# works in buildah, so a Dockerfile that takes its base as a build argument (FROM ${NODE_IMAGE})
# builds from base-node.sh's archive with --build-arg NODE_IMAGE=oci-archive:PATH.
# What it sets, and why:
#   --storage-driver vfs   overlay storage needs mounts this sandbox may refuse; vfs copies
#   private --root/--runroot in a temporary folder (EDGE_BUILDAH_ROOT keeps one between builds)
#   --ulimit nofile=20000:20000   RUN steps get the machine's cap (default there: 1024)
#   --timestamp SOURCE_DATE_EPOCH  created times fixed, as the other images here
# RUN steps run as root under runc with a private network that reaches the internet, not the
# host's loopback (--network host for that). Behind this sandbox's TLS-intercepting proxy, npm in
# a RUN step needs the host's CA bundle: -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro
# and NODE_EXTRA_CA_CERTS (a build argument turned into ENV, or npm's cafile).
# Needs root. Debian packages: buildah (and runc, which it pulls in).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$#" -ge 3 ] || die "usage: $0 ARCHIVE REFERENCE [buildah bud options...] CONTEXT"
archive=$1
reference=$2
shift 2
require buildah:buildah
[ "$(id -u)" -eq 0 ] || die "needs root (buildah with runc)"
case "$reference" in
  */*:*) ;;
  *) die "REFERENCE must be a full name with a tag (localhost/NAME:TAG), got: $reference" ;;
esac

if [ -n "${EDGE_BUILDAH_ROOT:-}" ]; then
  storage=$EDGE_BUILDAH_ROOT
  mkdir -p "$storage"
else
  mkdir -p "$CACHE"
  storage=$(mktemp -d "$CACHE/buildah.XXXXXX")
fi
buildah_() { buildah --root "$storage/root" --runroot "$storage/run" --storage-driver vfs "$@"; }
cleanup() {
  if [ -z "${EDGE_BUILDAH_ROOT:-}" ]; then
    buildah_ rm --all >/dev/null 2>&1 || true
    rm -rf "$storage"
  fi
}
trap cleanup EXIT

say "building $reference"
buildah_ bud --ulimit nofile=20000:20000 --timestamp "$EPOCH" --tag "$reference" "$@" >&2
mkdir -p "$(dirname "$archive")"
tmp="$archive.$$.tmp"
# The archive's index names the image (org.opencontainers.image.ref.name), which is the name
# `ctr images import` gives it.
buildah_ push --quiet "$reference" "oci-archive:$tmp:$reference" >&2
mv "$tmp" "$archive"
say "wrote $reference -> $archive"
echo "$archive"
