#!/usr/bin/env bash
# Real signals from outside, sent at exact points: rank 0 waits (testing.wait_for_signal) with a
# marker file until the test has sent them.
#  * Ctrl-C (SIGINT) to jobs/launch_local.sh: the script turns it into SIGUSR1, which mpirun
#    forwards; the run commits the generation in progress and exits 3, without abort boxes. A
#    second signal (here SIGTERM) abandons the generation.
#  * SIGINT to a bare mpirun: Open MPI 4.1 does not forward it; it sends SIGTERM to the ranks
#    about a second later and SIGKILL a second after that, and exits 1. Rank 0 still says what
#    happened, nothing committed is lost, and the same command resumes.
# Each interrupted run, resumed, ends identical to an uninterrupted run of the same launcher.
source "$(dirname "$0")/lib.sh"
cfg=$(make_long_config long)   # 5 generations
launch "$cfg" "$WORK/full"; [[ $rc -eq 0 ]] || { cat "$WORK/full.log"; fail "uninterrupted run exited $rc"; }
fingerprint "$WORK/full" >"$WORK/full.txt"
run_pbtnas 3 "$cfg" "$WORK/plain"; [[ $rc -eq 0 ]] || { cat "$WORK/plain.log"; fail "uninterrupted mpirun run exited $rc"; }
fingerprint "$WORK/plain" >"$WORK/plain.txt"

# with_wait NAME HOOK -> $c: the config with `testing: {wait_for_signal: HOOK}`, $out: its folder
with_wait() {
  c="$WORK/$1.yaml"
  out="$WORK/$1"
  { cat "$cfg"; printf 'testing:\n  wait_for_signal: %s\n' "$2"; } >"$c"
}
# resumes NAME WANT REFERENCE [launcher]: the same command resumes after generation WANT and
# ends identical to REFERENCE (a fingerprint file).
resumes() {
  local name=$1 want=$2 reference=$3 how=${4:-launch}
  if [[ $how == launch ]]; then launch "$c" "$out"; else run_pbtnas 3 "$c" "$out"; fi
  [[ $rc -eq 0 ]] || { cat "$out.log"; fail "$name: resumed run exited $rc"; }
  grep -qF "resuming from committed generation $want [$((want + 1))/5]" "$out.log" || { cat "$out.log"; fail "$name: no resume"; }
  fingerprint "$out" | diff "$reference" - || fail "$name: interrupted and resumed run differs from the uninterrupted run"
}
marker() { echo "$out/testing_waiting_for_signal"; }

# --- Ctrl-C on launch_local.sh while generation 1 trains ---------------------------------------
with_wait ctrl_c '{generation: 1, when: during_training}'
in_background env PBTNAS_BIN="$PBTNAS" bash "$SRC/jobs/launch_local.sh" "$c" "$out" 3 >"$out.log" 2>&1
wait_for_file "$(marker)" 120
kill -INT "$bg_pid"
set +e; wait "$bg_pid"; rc=$?; set -e
[[ $rc -eq 3 ]] || { cat "$out.log"; fail "Ctrl-C on launch_local.sh: expected exit code 3, got $rc"; }
for line in "pbtnas: SIGUSR1: stop requested: the run stops with exit code 3 once the generation in progress is committed" \
  "stop requested: generation 1 [2/5] is committed; exiting with code 3. To resume, run the same command again"; do
  grep -qF -- "$line" "$out.log" || { cat "$out.log"; fail "Ctrl-C on launch_local.sh: no line '$line'"; }
done
no_abort_boxes "$out.log" "Ctrl-C on launch_local.sh"
[[ "$(latest "$out")" == 1 && ! -f "$out/summary.json" ]] || { cat "$out.log"; fail "Ctrl-C on launch_local.sh: newest commit $(latest "$out"), expected 1"; }
resumes ctrl_c 1 "$WORK/full.txt"
pass "Ctrl-C on launch_local.sh: generation 1 committed, exit 3, no abort box, resumed to the same result"

# --- Ctrl-C, then SIGTERM, on launch_local.sh while generation 2 trains: abandoned --------------
with_wait ctrl_c_twice '{generation: 2, when: during_training, count: 2}'
in_background env PBTNAS_BIN="$PBTNAS" bash "$SRC/jobs/launch_local.sh" "$c" "$out" 3 >"$out.log" 2>&1
wait_for_file "$(marker)" 120
kill -INT "$bg_pid"
# the second only once rank 0 has taken the first (two pending SIGUSR1 would merge into one)
wait_for_line "$out.log" "pbtnas: SIGUSR1: stop requested" 60
kill -TERM "$bg_pid"
set +e; wait "$bg_pid"; rc=$?; set -e
[[ $rc -eq 3 ]] || { cat "$out.log"; fail "two signals on launch_local.sh: expected exit code 3, got $rc"; }
grep -qF "pbtnas: SIGUSR1: a second stop request: abandoning the generation in progress" "$out.log" ||
  { cat "$out.log"; fail "two signals on launch_local.sh: no word of the abandoned generation"; }
no_abort_boxes "$out.log" "two signals on launch_local.sh"
[[ "$(latest "$out")" == 1 && ! -e "$out/checkpoints/gen_000002/index.h5" ]] ||
  { cat "$out.log"; fail "two signals on launch_local.sh: newest commit $(latest "$out"), expected 1"; }
resumes ctrl_c_twice 1 "$WORK/full.txt"
pass "a second signal on launch_local.sh: generation 2 abandoned, exit 3, no abort box, resumed to the same result"

# --- SIGINT on a bare mpirun, right after generation 1 is committed ---------------------------
with_wait bare_mpirun '{generation: 1, when: after_commit}'
in_background mpirun -n 3 "$PBTNAS" run "$c" --out "$out" >"$out.log" 2>&1   # (no `timeout`: it would relay the signal twice)
wait_for_file "$(marker)" 120
kill -INT "$bg_pid"
set +e; wait "$bg_pid"; rc=$?; set -e
# Measured with Open MPI 4.1.4: mpirun exits 1 whatever its ranks return after it was signalled.
[[ $rc -eq 1 ]] || { cat "$out.log"; fail "SIGINT on mpirun: expected mpirun's exit code 1, got $rc"; }
# The ranks see SIGTERM (from mpirun), not SIGINT; rank 0 says what that means.
grep -qF "pbtnas: SIGTERM: stop requested" "$out.log" || { cat "$out.log"; fail "SIGINT on mpirun: rank 0 said nothing"; }
[[ "$(latest "$out")" == 1 && ! -f "$out/summary.json" ]] || { cat "$out.log"; fail "SIGINT on mpirun: newest commit $(latest "$out"), expected 1"; }
resumes bare_mpirun 1 "$WORK/plain.txt" mpirun
pass "SIGINT on a bare mpirun: ranks ended by mpirun (exit 1), rank 0 said so, generation 1 intact, resumed to the same result"
