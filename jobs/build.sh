#!/usr/bin/env bash
# Configures and builds pbtnas into ./build (Release, Ninja). Re-running rebuilds incrementally.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
