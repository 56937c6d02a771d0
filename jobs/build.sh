#!/usr/bin/env bash
# Configures and builds pbtnas into ./build (Release, Ninja). Re-running rebuilds incrementally.
# Extra arguments go to the configure step, e.g. bash jobs/build.sh -DPBTNAS_BUILD_TESTS=OFF
set -euo pipefail
cd "$(dirname "$0")/.."
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)  # rebuilds from the cache
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" "$@" >/dev/null
cmake --build build -j "$(nproc)"
