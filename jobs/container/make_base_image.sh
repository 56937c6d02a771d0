#!/usr/bin/env bash
# Builds a Debian 12 (bookworm) base image from Debian's packages, for machines that cannot pull
# docker.io/library/debian:12: debootstrap a minimal root file system, then `podman import` it.
#   bash jobs/container/make_base_image.sh [IMAGE] [MIRROR]
# IMAGE defaults to localhost/debian:12, MIRROR to http://deb.debian.org/debian. Needs root,
# debootstrap and podman (apt install debootstrap podman). Then:
#   podman build --build-arg BASE=localhost/debian:12 -t pbtnas -f Containerfile .
set -euo pipefail
image=${1:-localhost/debian:12}
mirror=${2:-http://deb.debian.org/debian}
[[ $(id -u) -eq 0 ]] || { echo "make_base_image.sh: debootstrap needs root" >&2; exit 2; }
for tool in debootstrap podman; do
  command -v $tool >/dev/null || { echo "make_base_image.sh: $tool is missing (apt install $tool)" >&2; exit 2; }
done
root=$(mktemp -d "${TMPDIR:-/var/tmp}/pbtnas-rootfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase bookworm "$root" "$mirror"
# The image's apt sources: the same mirror, with the security and updates suites.
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | podman import --change 'CMD ["/bin/bash"]' - "$image"
echo "make_base_image.sh: $image ($(podman image inspect --format '{{.Size}}' "$image") bytes)"
