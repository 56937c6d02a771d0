#!/usr/bin/env bash
# Builds the pbtnas image from Containerfile with podman and runs the smoke search in it.
#   bash jobs/container/smoke.sh [BASE_IMAGE]
# BASE_IMAGE: the Debian 12 base (default docker.io/library/debian:12; without registry access,
# localhost/debian:12 from jobs/container/make_base_image.sh). PODMAN_FLAGS adds global podman
# options, e.g. on a host that is itself a container with cgroups v1:
#   PODMAN_FLAGS="--runtime runc --cgroup-manager=cgroupfs" PODMAN_RUN_FLAGS="--ulimit nofile=20000:20000 --ulimit nproc=4096:4096"
# CCACHE_DIR_HOST: a ccache folder lent to the build (see Containerfile).
set -euo pipefail
cd "$(dirname "$0")/../.."
base=${1:-docker.io/library/debian:12}
read -r -a flags <<<"${PODMAN_FLAGS:-}"
read -r -a run_flags <<<"${PODMAN_RUN_FLAGS:-}"
build=(--build-arg "BASE=$base" -t localhost/pbtnas -f Containerfile)
[[ -n "${CCACHE_DIR_HOST:-}" ]] && build+=(-v "$CCACHE_DIR_HOST:/root/.cache/ccache")
start=$(date +%s)
podman "${flags[@]}" build "${run_flags[@]}" "${build[@]}" .
echo "container: built in $(( $(date +%s) - start )) s"
out=$(podman "${flags[@]}" run --rm "${run_flags[@]}" localhost/pbtnas \
  launch_local.sh /usr/local/share/pbtnas/jobs/configs/smoke_classify.yaml /tmp/smoke 2>&1) || { echo "$out"; exit 1; }
echo "$out" | tail -3
grep -q "^done: best member" <<<"$out" || { echo "container: the smoke search printed no summary" >&2; exit 1; }
echo "container: the smoke search ran in localhost/pbtnas"
