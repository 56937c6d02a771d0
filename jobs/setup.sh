#!/usr/bin/env bash
# Installs every system dependency of pbtnas from Debian 12 packages.
# Idempotent: when everything is present it only checks and returns (about a second).
# Usage: bash jobs/setup.sh            (as root, or with sudo available)
#        PBTNAS_SETUP_TESTS=0 bash jobs/setup.sh   (only what building and running need)
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache
  libtorch-dev libopenblas0-pthread
  libopenmpi-dev openmpi-bin
  libboost-serialization-dev
  libhdf5-dev hdf5-tools
  catch2 libyaml-cpp-dev libcli11-dev nlohmann-json3-dev
  zlib1g-dev dataset-fashion-mnist
  libstb-dev                                   # classify.data.format folder: PNG/JPEG decoding (stb_image)
  dpkg-dev                                     # the Debian package (cpack: dpkg-shlibdeps finds its dependencies)
  libmujoco-dev libmujoco-samples              # RL task: MuJoCo 2.2.2 (mujoco-testspeed for bench-rl)
  libegl-dev libegl1 libegl-mesa0 libgl1-mesa-dri libosmesa6 libosmesa6-dev  # RL pixels: offscreen rendering (EGL, OSMesa fallback)
  libqhull-dev                                 # mujoco::mujoco names /usr/include/libqhull_r/ but does not depend on it
  libgl-dev libopengl-dev                      # mujoco's CMake package finds OpenGL, which libmujoco-dev does not pull in
  python3-h5py python3-numpy python3-torch     # checkpoint reading in tests; bench-gan Python side
  graphviz libjs-chart.js                      # pbtnas report: lineage layout, charts
)
# Only the test suite needs these; PBTNAS_SETUP_TESTS=0 leaves them out (the Containerfile does).
TEST_PACKAGES=(
  python3-scipy                                # ctest stats_vs_scipy: the study's rank tests against scipy
  chromium                                     # the report page's browser test
  munge slurmctld slurmd slurm-client slurm-wlm-basic-plugins   # test/slurm: throwaway cluster
)
[[ "${PBTNAS_SETUP_TESTS:-1}" == 0 ]] || PACKAGES+=("${TEST_PACKAGES[@]}")

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-o DPkg::Lock::Timeout=600 -y -q --no-install-recommends)
# A machine where 'apt-get update' never ran has empty lists: refresh them first.
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
$SUDO apt-get "${APT_OPTS[@]}" install "${missing[@]}"

# Debian's libtorch calls whatever libblas.so.3 points to; make sure it is OpenBLAS
# (the reference BLAS makes Linear layers several times slower).
blas=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/{print $2}')
case "$blas" in
  *openblas*) ;;
  *) cand=$(update-alternatives --list libblas.so.3-x86_64-linux-gnu 2>/dev/null | grep openblas-pthread | head -n1 || true)
     [[ -n "$cand" ]] && $SUDO update-alternatives --set libblas.so.3-x86_64-linux-gnu "$cand" ;;
esac
echo "setup: done"
