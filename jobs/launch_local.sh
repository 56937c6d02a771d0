#!/usr/bin/env bash
# Runs a search on this machine: bash jobs/launch_local.sh CONFIG OUT [RANKS]
# RANKS defaults to 3 (rank 0 coordinates, 2 workers). Extra ranks beyond the cores are allowed.
set -euo pipefail
config=${1:?usage: launch_local.sh CONFIG OUT [RANKS]}
out=${2:?usage: launch_local.sh CONFIG OUT [RANKS]}
ranks=${3:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
args=(-n "$ranks" --oversubscribe --bind-to none)
[[ $(id -u) -eq 0 ]] && args+=(--allow-run-as-root)
# OpenBLAS picks its GEMM kernels from the CPU model; on some virtual CPUs it falls back to a
# generic core. Name a core that matches the CPU flags unless the user chose one (see
# docs/performance.md for the measured effect).
if [[ -z "${OPENBLAS_CORETYPE:-}" ]]; then
  flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
  if [[ $flags == *avx512f* ]]; then export OPENBLAS_CORETYPE=SkylakeX
  elif [[ $flags == *avx2* ]]; then export OPENBLAS_CORETYPE=Haswell
  fi
fi
args+=(-x OPENBLAS_CORETYPE)
# Rank 0 redraws its progress line only on a terminal; Open MPI gives ranks a pseudo-terminal
# even when this script's output goes to a file, so tell it (docs/config.md, live progress).
if [[ -z "${PBTNAS_PROGRESS:-}" ]]; then
  if [[ -t 1 ]]; then export PBTNAS_PROGRESS=redraw; else export PBTNAS_PROGRESS=lines; fi
fi
args+=(-x PBTNAS_PROGRESS)
exec mpirun "${args[@]}" "$here/build/pbtnas" run "$config" --out "$out"
