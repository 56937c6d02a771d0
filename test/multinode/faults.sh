#!/usr/bin/env bash
# Faults on simulated nodes (sim_nodes.sh), each ending in bounded time with the last committed
# generation intact, and a resume on the remaining ranks that ends identical to an uninterrupted run:
#   hung worker: testing.hang_rank makes rank 3 (on nodeb) stop answering when generation 1
#     starts; with runtime.worker_timeout: 5 rank 0 names the rank, its host and members, commits
#     nothing of generation 1 and ends the job with exit code 4;
#   lost node: the same hang without a timeout, then every process of nodeb is killed (as when a
#     node dies); the job ends with Open MPI's message naming the lost node.
# Usage: faults.sh PBTNAS_BINARY SOURCE_DIR. Exit code 77 (skipped) without namespaces.
source "$(dirname "$0")/../mpi/lib.sh"
SIM="$(dirname "$0")/sim_nodes.sh"
base=$(make_long_config faults)   # 5 generations


sim_run() {  # sim_run NAME NODES RANKS CONFIG OUT: rc in $rc, seconds in $secs, log in $WORK/NAME.log
  local name=$1 nodes=$2 ranks=$3 config=$4 out=$5 t0
  mkdir -p "$WORK/sim-$name"
  t0=$(date +%s)
  set +e
  SIM_NODES_DIR="$WORK/sim-$name" timeout 300 bash "$SIM" "$nodes" -- -n "$ranks" -x PBTNAS_PROGRESS \
    "$PBTNAS" run "$config" --out "$out" >"$WORK/$name.log" 2>&1
  rc=$?
  set -e
  secs=$(($(date +%s) - t0))
  [[ $rc -ne 77 ]] || skip "$(grep SKIPPED "$WORK/$name.log")"
}

run_pbtnas 3 "$base" "$WORK/full"; [[ $rc -eq 0 ]] || { cat "$WORK/full.log"; fail "uninterrupted run exited $rc"; }
fingerprint "$WORK/full" >"$WORK/full.txt"

# ---- hung worker
hung=$(with_keys hung '  worker_timeout: 5' $'  hang_rank: 3\n  hang_generation: 1')
sim_run hung nodea:2,nodeb:2 4 "$hung" "$WORK/hung"
[[ $rc -eq 4 ]] || { cat "$WORK/hung.log"; fail "the hung-worker run exited $rc, not 4"; }
((secs < 120)) || fail "the hung-worker run took $secs s (timeout 5 s)"
grep -q "rank 3 on host nodeb (members 2) sent nothing for 5 s in generation 1 (while training" "$WORK/hung.log" \
  || { cat "$WORK/hung.log"; fail "the message does not name the hung rank, its host and members"; }
grep -q "the last committed generation is 0" "$WORK/hung.log" || fail "the message does not name the last commit"
[[ "$(cat "$WORK/hung/checkpoints/LATEST")" == 0 ]] || fail "LATEST is not generation 0"
[[ ! -e "$WORK/hung/checkpoints/gen_000001" ]] || fail "generation 1 was (partly) committed"
pass "hung worker: exit 4 after $secs s, naming rank 3 on nodeb and its member; generation 0 intact"
# Resume on the remaining ranks (rank 3 does not exist there, so nothing hangs): identical results.
sim_run hung_resume nodea:3 3 "$hung" "$WORK/hung"
[[ $rc -eq 0 ]] || { cat "$WORK/hung_resume.log"; fail "the resume after the hang exited $rc"; }
grep -qF "resuming from committed generation 0" "$WORK/hung_resume.log" || { cat "$WORK/hung_resume.log"; fail "no resume after generation 0"; }
fingerprint "$WORK/hung" >"$WORK/hung.txt"
diff "$WORK/full.txt" "$WORK/hung.txt" || fail "the resumed run differs from the uninterrupted run"
pass "hung worker: resumed on 3 ranks of one node, identical to the uninterrupted run"

# ---- lost node: rank 3 hangs (no timeout) so that generation 1 is in progress; then nodeb dies.
lost=$(with_keys lost '  worker_timeout: -1' $'  hang_rank: 3\n  hang_generation: 1')
mkdir -p "$WORK/sim-lost"
t0=$(date +%s)
SIM_NODES_DIR="$WORK/sim-lost" timeout 300 bash "$SIM" nodea:2,nodeb:2 -- -n 4 -x PBTNAS_PROGRESS \
  "$PBTNAS" run "$lost" --out "$WORK/lost" >"$WORK/lost.log" 2>&1 &
job=$!
for _ in $(seq 1 600); do  # wait (at most 120 s) for the hook's line: generation 1 is running
  grep -q "testing.hang_rank: rank 3 hangs in generation 1" "$WORK/lost.log" 2>/dev/null && break
  kill -0 $job 2>/dev/null || break
  sleep 0.2
done
grep -q "testing.hang_rank: rank 3 hangs in generation 1" "$WORK/lost.log" || { cat "$WORK/lost.log"; fail "generation 1 never started"; }
SIM_NODES_DIR="$WORK/sim-lost" bash "$SIM" --kill nodeb
set +e
wait $job
rc=$?
set -e
secs=$(($(date +%s) - t0))
[[ $rc -ne 0 && $rc -ne 124 ]] || { cat "$WORK/lost.log"; fail "the job with a lost node exited $rc"; }
((secs < 180)) || fail "the job with a lost node took $secs s"
grep -q "lost communication with a remote daemon" "$WORK/lost.log" && grep -q "on node nodeb" "$WORK/lost.log" \
  || { cat "$WORK/lost.log"; fail "Open MPI's message does not name the lost node"; }
if pgrep -f "run $lost" >/dev/null; then fail "processes of the lost job are left behind"; fi
[[ "$(cat "$WORK/lost/checkpoints/LATEST")" == 0 ]] || fail "LATEST is not generation 0 after the lost node"
pass "lost node: the job ended (exit $rc) in $secs s, naming nodeb; generation 0 intact"
sim_run lost_resume nodea:2 2 "$lost" "$WORK/lost"
[[ $rc -eq 0 ]] || { cat "$WORK/lost_resume.log"; fail "the resume on the remaining node exited $rc"; }
fingerprint "$WORK/lost" >"$WORK/lost.txt"
diff "$WORK/full.txt" "$WORK/lost.txt" || fail "the run resumed on the remaining node differs from the uninterrupted run"
pass "lost node: resumed on the remaining node (2 ranks), identical to the uninterrupted run"
