#!/usr/bin/env bash
# A slow node on simulated nodes (sim_nodes.sh, nodea with ranks 0-2, nodeb with ranks 3-4: four
# workers of one member each): testing.slow_rank makes rank 4 (on nodeb) wait
# testing.slow_step_seconds before each training step of generation 1, so
# that its generation takes longer than runtime.worker_timeout, while it keeps sending progress
# notes (runtime.progress_seconds) far more often than the timeout:
#   the generation waits for it (no worker is declared hung), the run ends identical to an
#   unslowed run, and the generation line and workers.jsonl name the host that held the others
#   back (rank 4 on nodeb);
#   the same slow generation without progress notes is declared hung (exit 4): the timeout was
#   really shorter than the slow generation.
# Usage: slow_node.sh PBTNAS_BINARY SOURCE_DIR. Exit code 77 (skipped) without namespaces.
source "$(dirname "$0")/../mpi/lib.sh"
SIM="$(dirname "$0")/sim_nodes.sh"
base=$(make_config base)   # the smoke config: 3 generations; a member trains 8 batches per generation
timeout_s=25


sim_run() {  # sim_run NAME CONFIG: 3 + 2 ranks on 2 nodes; rc in $rc, log in $WORK/NAME.log
  local name=$1 config=$2
  mkdir -p "$WORK/sim-$name"
  set +e
  SIM_NODES_DIR="$WORK/sim-$name" timeout 300 bash "$SIM" nodea:3,nodeb:2 -- -n 5 -x PBTNAS_PROGRESS \
    "$PBTNAS" run "$config" --out "$WORK/$name" >"$WORK/$name.log" 2>&1
  rc=$?
  set -e
  [[ $rc -ne 77 ]] || skip "$(grep SKIPPED "$WORK/$name.log")"
}

# 5 s more per step: rank 4's member trains >= 8 x 5 = 40 s in generation 1, more than the 25 s
# timeout; with a note after every step it is never silent for much more than 5 s.
slow_keys=$'  slow_rank: 4\n  slow_generation: 1\n  slow_step_seconds: 5'
slow=$(with_keys slow "  worker_timeout: $timeout_s\\n  progress_seconds: 0.5" "$slow_keys")
silent=$(with_keys silent "  worker_timeout: $timeout_s\\n  progress_seconds: 0" "$slow_keys")

run_pbtnas 5 "$base" "$WORK/full"; [[ $rc -eq 0 ]] || { cat "$WORK/full.log"; fail "the unslowed run exited $rc"; }
fingerprint "$WORK/full" >"$WORK/full.txt"

# ---- slow, with progress notes: waited for, identical
sim_run slow "$slow"
[[ $rc -eq 0 ]] || { cat "$WORK/slow.log"; fail "the run with a slow node exited $rc"; }
grep -q "testing.slow_rank: rank 4 trains slowly in generation 1 (+5 s per training step)" "$WORK/slow.log" ||
  { cat "$WORK/slow.log"; fail "the slow-rank hook did not act"; }
if grep -q "stopped answering" "$WORK/slow.log"; then cat "$WORK/slow.log"; fail "the slow worker was declared hung"; fi
train1=$("$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    j = json.loads(l)
    if j["generation"] == 1: print("%.1f" % j["train_seconds"])' "$WORK/slow/generations.jsonl")
"$PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)' "$train1" "$timeout_s" ||
  fail "generation 1 trained for $train1 s, not longer than the $timeout_s s timeout: the test proves nothing"
fingerprint "$WORK/slow" >"$WORK/slow.txt"
diff "$WORK/full.txt" "$WORK/slow.txt" || fail "the run with a slow node differs from the unslowed run"
pass "slow node: generation 1 trained $train1 s (> worker_timeout $timeout_s s) and was waited for; results identical to the unslowed run"

# Which host held the others back: the generation line and workers.jsonl.
gen1=$(grep -E '^gen 1 \[2/3\]' "$WORK/slow.log") || { cat "$WORK/slow.log"; fail "no line for generation 1"; }
grep -q "held back by rank 4 on host nodeb (trained " <<<"$gen1" || fail "the generation line does not name the slow host: $gen1"
"$PY" - "$WORK/slow/workers.jsonl" <<'PYEOF' || fail "workers.jsonl does not show rank 4 on nodeb as the busiest worker of generation 1"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
g1 = [r for r in rows if r["generation"] == 1]
hosts = {r["rank"]: r["host"] for r in g1}
assert hosts == {1: "nodea", 2: "nodea", 3: "nodeb", 4: "nodeb"}, hosts
busiest = max(g1, key=lambda r: r["busy_seconds"])
assert busiest["rank"] == 4 and busiest["host"] == "nodeb", busiest
assert all(r["wait_seconds"] > 5 for r in g1 if r["rank"] != 4), g1
PYEOF
pass "the generation line and workers.jsonl name rank 4 on nodeb as the worker that held the others back: ${gen1##*| }"

# ---- the same slow generation without progress notes: declared hung
sim_run silent "$silent"
[[ $rc -eq 4 ]] || { cat "$WORK/silent.log"; fail "the slow run without progress notes exited $rc, not 4"; }
grep -q "rank 4 on host nodeb (members 3) sent nothing for $timeout_s s in generation 1 (while training" "$WORK/silent.log" ||
  { cat "$WORK/silent.log"; fail "the message does not name the silent rank"; }
pass "without progress notes the same slow worker is declared hung after $timeout_s s (exit 4): the notes are what tell slow from hung"
