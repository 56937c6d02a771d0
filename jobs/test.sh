#!/usr/bin/env bash
# Runs every test: unit (Catch2) and mpi (mpirun, fixed rank counts). Extra args go to ctest,
# e.g. `bash jobs/test.sh -L unit` or `-L mpi`.
set -euo pipefail
cd "$(dirname "$0")/.."
ctest --test-dir build --output-on-failure --timeout 900 "$@"
