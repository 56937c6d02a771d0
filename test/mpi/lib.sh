# Shared helpers for the MPI end-to-end tests (sourced). Usage in a test:
#   source lib.sh BINARY SOURCE_DIR
set -euo pipefail
PBTNAS="$1"
SRC="$2"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pbtnas-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# Open MPI refuses root without these; tests oversubscribe the 2-core machines on purpose.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# Logs go to files: plain progress lines (rank 0 would otherwise see Open MPI's pseudo-terminal).
export PBTNAS_PROGRESS=lines
PY=/usr/bin/python3

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
# The one skip rule of the test scripts: say what is missing and how to get it, exit 77
# (SKIP_RETURN_CODE 77 in the CMake files).
skip() { echo "SKIPPED: $*"; exit 77; }

# The smoke configs read Fashion-MNIST from Debian's dataset-fashion-mnist; a script that needs
# no data set sets PBTNAS_TEST_NEEDS_FASHION_MNIST=0 before sourcing this file.
if [[ "${PBTNAS_TEST_NEEDS_FASHION_MNIST:-1}" == 1 && ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]]; then
  skip "/usr/share/datasets/fashion-mnist is absent (install dataset-fashion-mnist)"
fi

# run_pbtnas RANKS CONFIG OUT [extra args] -> exit code in $rc, output in $OUT.log
run_pbtnas() {
  local ranks=$1 config=$2 out=$3
  shift 3
  set +e
  timeout 600 mpirun -n "$ranks" "$PBTNAS" run "$config" --out "$out" "$@" >"$out.log" 2>&1
  rc=$?
  set -e
}

# A copy of the smoke config with extra top-level YAML lines appended / keys replaced.
make_config() {  # make_config NAME 'yaml lines to append'
  local name=$1 extra=${2:-}
  local f="$WORK/$name.yaml"
  cp "$SRC/jobs/configs/smoke_classify.yaml" "$f"
  if [[ -n "$extra" ]]; then
    # drop keys that the extra lines redefine (top-level only), then append
    while IFS= read -r line; do
      key=${line%%:*}
      [[ "$line" =~ ^[a-z_]+: ]] && sed -i "/^${key}:/d" "$f"
    done <<<"$extra"
    printf '%s\n' "$extra" >>"$f"
  fi
  echo "$f"
}

# A longer variant of the smoke config (5 generations of ~1 s) for tests that interrupt a run.
make_long_config() {  # make_long_config NAME
  local f="$WORK/$1.yaml"
  sed -e 's/^max_epochs: .*/max_epochs: 5/' -e 's/samples_per_epoch: .*/samples_per_epoch: 3000/' \
    "$SRC/jobs/configs/smoke_classify.yaml" >"$f"
  grep -q 'samples_per_epoch: 3000' "$f" || fail "make_long_config: smoke config layout changed"
  echo "$f"
}

# Fitness histories and architectures of a run (metrics.jsonl without timings) + final genomes.
fingerprint() {  # fingerprint OUT
  "$PY" - "$1" <<'PYEOF'
import json, sys
out = sys.argv[1]
rows = [json.loads(l) for l in open(out + "/metrics.jsonl") if l.strip()]
for r in sorted(rows, key=lambda r: (r["generation"], r["member"])):
    print(r["generation"], r["member"], r["fitness"], r["train_loss"], r["architecture"])
s = json.load(open(out + "/summary.json"))
print("best", s["best_member"], s["validation"], s["test"], s["genome"], s["fitness_history"])
PYEOF
}

# launch CONFIG OUT -> a run through jobs/launch_local.sh (3 ranks, mpirun --quiet, Ctrl-C as a
# stop request); exit code in $rc, output in $OUT.log.
launch() {
  local config=$1 out=$2
  set +e
  PBTNAS_BIN="$PBTNAS" timeout 600 bash "$SRC/jobs/launch_local.sh" "$config" "$out" 3 >"$out.log" 2>&1
  rc=$?
  set -e
}

# The newest committed generation of a run folder (checkpoints/LATEST), or "none".
latest() { cat "$1/checkpoints/LATEST" 2>/dev/null || echo none; }

# Fails when a log holds one of Open MPI's abort boxes (MPI_Abort, a non-zero exit code).
no_abort_boxes() {  # no_abort_boxes LOG WHAT
  if grep -nE 'MPI_ABORT|aborted|non-zero (exit|status)|exiting improperly' "$1"; then
    cat "$1"; fail "$2: Open MPI's abort text in the output"
  fi
}

# wait_for_file PATH SECONDS: until PATH exists (polling), or fail.
wait_for_file() {
  local path=$1 seconds=$2 i
  for ((i = 0; i < seconds * 20; ++i)); do
    [[ -e "$path" ]] && return 0
    sleep 0.05
  done
  fail "$path did not appear within $seconds s"
}

# wait_for_line FILE PATTERN SECONDS: until FILE holds a line matching the fixed string PATTERN.
wait_for_line() {
  local file=$1 pattern=$2 seconds=$3 i
  for ((i = 0; i < seconds * 20; ++i)); do
    grep -qF -- "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.05
  done
  cat "$file"; fail "no line '$pattern' in $file within $seconds s"
}

# in_background CMD... : starts CMD in the background with SIGINT and SIGQUIT at their default
# (a non-interactive shell starts background jobs with them ignored, and bash cannot trap a
# signal that was ignored when it started); its pid in $bg_pid.
in_background() {
  "$PY" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL); signal.signal(signal.SIGQUIT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$@" &
  bg_pid=$!
}
