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

# crash_and_resume CONFIG OUT RANKS [RESUME_RANKS]: runs CONFIG with testing.crash_after_commit: 1
# (rank 0 is killed right after generation 2, index 1, is committed), checks that the crash came
# there, then runs the same command again (on RESUME_RANKS ranks, default RANKS) and checks that it
# resumed after generation 2 and finished. Fails the test otherwise.
crash_and_resume() {
  local cfg=$1 out=$2 ranks=$3 again=${4:-$3}
  local kcfg="$WORK/$(basename "$out")-crash.yaml"
  { cat "$cfg"; printf 'testing:\n  crash_after_commit: 1\n'; } >"$kcfg"
  run_pbtnas "$ranks" "$kcfg" "$out"
  [[ $rc -ne 0 ]] || { cat "$out.log"; fail "the run with crash_after_commit: 1 exited 0"; }
  grep -q "testing.crash_after_commit" "$out.log" || { cat "$out.log"; fail "the crash hook did not fire"; }
  [[ -f "$out/checkpoints/gen_000001/index.h5" ]] || { cat "$out.log"; fail "generation 2 (index 1) is not committed"; }
  [[ ! -e "$out/checkpoints/gen_000002/index.h5" ]] || fail "generation 3 was committed after the crash point"
  [[ ! -f "$out/summary.json" ]] || fail "the run finished although rank 0 was killed"
  run_pbtnas "$again" "$kcfg" "$out"  # the same command: resumes after generation 2; the hook stays behind
  [[ $rc -eq 0 ]] || { cat "$out.log"; fail "the resumed run exited $rc"; }
  grep -qF "resuming from committed generation 1 [2/" "$out.log" || { cat "$out.log"; fail "the second run did not resume after generation 2"; }
}

# same_with_2_and_3_workers CONFIG WHAT: runs CONFIG with 2 and 3 workers into $WORK/w2 and
# $WORK/w3, checks that the search made a mixing exchange and that both end with the same
# fingerprint ($WORK/a.txt: the 2-worker one).
same_with_2_and_3_workers() {
  local cfg=$1 what=$2
  run_pbtnas 3 "$cfg" "$WORK/w2"; [[ $rc -eq 0 ]] || { cat "$WORK/w2.log"; fail "2-worker $what run exited $rc"; }
  run_pbtnas 4 "$cfg" "$WORK/w3"; [[ $rc -eq 0 ]] || { cat "$WORK/w3.log"; fail "3-worker $what run exited $rc"; }
  grep -q " <- .*mix" "$WORK/w2.log" || fail "the run made no mixing exchange, so the test would prove little"
  fingerprint "$WORK/w2" >"$WORK/a.txt"
  fingerprint "$WORK/w3" >"$WORK/b.txt"
  diff "$WORK/a.txt" "$WORK/b.txt" || fail "$what results differ between 2 and 3 workers"
}

# with_keys NAME 'runtime lines' 'testing lines': a copy of the config "$base" with lines added to
# its runtime section and a testing section appended; prints its path.
with_keys() {
  local f="$WORK/$1.yaml"
  cp "$base" "$f"
  grep -q '^runtime:' "$f" || fail "the smoke config has no runtime section"
  sed -i "/^runtime:/a\\$2" "$f"
  printf 'testing:\n%s\n' "$3" >>"$f"
  echo "$f"
}

# A tiny search of the data-free toy task (4 members, 2 generations), on stdout.
toy_config() {
  cat <<'YAML'
population_size: 4
parents_fraction: 0.5
max_epochs: 2
epochs_step: 1
task: toy
checkpoint:
  keep: 0
runtime:
  threads_per_rank: 1
YAML
}

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
  config_with "$SRC/jobs/configs/smoke_classify.yaml" "$@"
}

# The same from another base config.
config_with() {  # config_with BASE NAME 'yaml lines to append'
  local base=$1 name=$2 extra=${3:-}
  local f="$WORK/$name.yaml"
  cp "$base" "$f"
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
print("best", s["best_member"], s["fitness"], s["test_score"], s["genome"], s["fitness_history"])
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
