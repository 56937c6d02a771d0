#!/usr/bin/env bash
# Runs a search on this machine: bash jobs/launch_local.sh CONFIG OUT [RANKS]
# RANKS defaults to 3 (rank 0 coordinates, 2 workers). Extra ranks beyond the cores are allowed.
# PBTNAS_BIN names the executable (default: build/pbtnas of this checkout; in an installed copy,
# PREFIX/share/pbtnas/jobs/launch_local.sh, the PREFIX/bin/pbtnas beside it, else pbtnas on PATH).
#
# Ctrl-C (or SIGTERM, SIGHUP) stops the run cleanly: the generation in progress is committed and
# the script exits with pbtnas's code 3; a second Ctrl-C abandons that generation at once (exit
# 3 too; the committed generations are kept). The same command resumes. Open MPI's mpirun would
# kill the ranks on SIGINT/SIGTERM (it does not forward them), so mpirun runs in its own process
# group, out of the terminal's reach, and this script turns the signal into SIGUSR1, which mpirun
# forwards to every rank (docs/config.md, "Stopping a run").
set -euo pipefail
config=${1:?usage: launch_local.sh CONFIG OUT [RANKS]}
out=${2:?usage: launch_local.sh CONFIG OUT [RANKS]}
ranks=${3:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${PBTNAS_BIN:-$here/build/pbtnas}
if [[ -z "${PBTNAS_BIN:-}" && ! -x "$bin" ]]; then
  if [[ -x "$here/../../bin/pbtnas" ]]; then bin=$(cd "$here/../../bin" && pwd)/pbtnas
  elif command -v pbtnas >/dev/null; then bin=$(command -v pbtnas)
  fi
fi
if [[ ! -x "$bin" ]]; then
  echo "launch_local.sh: $bin is not an executable; build it first (bash jobs/build.sh), or set PBTNAS_BIN" >&2
  exit 2
fi
# --quiet: no Open MPI boxes after a rank's non-zero exit code (a clean stop exits 3) or
# MPI_Abort, so that pbtnas's own message is the last word (it also hides mpirun's launch errors,
# which the check above and --oversubscribe avoid).
args=(-n "$ranks" --oversubscribe --bind-to none --quiet)
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

child=""
interrupted=0
# shellcheck disable=SC2317  # (run by the trap)
stop_request() {
  interrupted=1
  [[ -z "$child" ]] || kill -USR1 "$child" 2>/dev/null || true
}
trap stop_request INT TERM HUP
set -m  # mpirun in a process group of its own: Ctrl-C on the terminal reaches only this script
mpirun "${args[@]}" "$bin" run "$config" --out "$out" </dev/null &
child=$!
set +m
((interrupted == 0)) || kill -USR1 "$child" 2>/dev/null || true  # a request while it was starting
while :; do  # a trapped signal ends `wait` early: wait again
  interrupted=0
  rc=0
  wait "$child" || rc=$?
  ((interrupted)) || break
done
exit "$rc"
