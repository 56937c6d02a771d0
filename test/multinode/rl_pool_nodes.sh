#!/usr/bin/env bash
# The RL search with a shared replay pool (rl.replay: shared) on simulated nodes
# (test/multinode/sim_nodes.sh): 1 node x 3 ranks and 2 nodes (1 + 2 ranks, so the two workers are
# on different nodes and every generation's new steps cross between the nodes) give identical
# results and identical pools in every generation; each node keeps one copy of the pool in shared
# memory (on one node, the two workers share one).
# Usage: rl_pool_nodes.sh PBTNAS_BINARY SOURCE_DIR. Exit code 77 (skipped) without namespaces.
PBTNAS_TEST_NEEDS_FASHION_MNIST=0 source "$(dirname "$0")/../mpi/lib.sh"
SIM="$(dirname "$0")/sim_nodes.sh"
cfg="$WORK/pool.yaml"
sed -e 's/^max_epochs: .*/max_epochs: 3/' \
    -e 's/^  frames_per_epoch: .*/  frames_per_epoch: 1000/' \
    -e 's/^  replay_capacity: .*/  replay: shared\n  pool_capacity: 3000/' "$SRC/jobs/configs/smoke_rl.yaml" >"$cfg"
grep -q '^  replay: shared' "$cfg" && grep -q '^  frames_per_epoch: 1000' "$cfg" || fail "smoke_rl.yaml layout changed"
export HOME="$WORK/home" XDG_CACHE_HOME=""
mkdir -p "$HOME"

sim_run() {  # sim_run NAME NODES RANKS
  local name=$1 nodes=$2 ranks=$3
  mkdir -p "$WORK/sim-$name"
  set +e
  SIM_NODES_DIR="$WORK/sim-$name" timeout 600 bash "$SIM" "$nodes" -- -n "$ranks" \
    -x PBTNAS_PROGRESS -x HOME "$PBTNAS" run "$cfg" --out "$WORK/$name" >"$WORK/$name.log" 2>&1
  rc=$?
  set -e
  [[ $rc -ne 77 ]] || skip "$(grep SKIPPED "$WORK/$name.log")"
  [[ $rc -eq 0 ]] || { cat "$WORK/$name.log"; fail "$name ($nodes) exited $rc"; }
}

pools() {  # pools OUT: every generation's pool, tensor by tensor
  PYTHONPATH="$SRC/jobs/tools" "$PY" - "$1" <<'PYEOF'
import glob, hashlib, sys
import pbtnas_h5
out = sys.argv[1]
for path in sorted(glob.glob(out + "/checkpoints/gen_*/pool.h5")):
    for name, a in sorted(pbtnas_h5.read_state(path, "").items()):
        print(path[len(out):], name, a.dtype, a.shape, hashlib.sha256(a.tobytes()).hexdigest()[:16])
PYEOF
}

sim_run one nodea:3 3
sim_run two nodea:2,nodeb:1 3
grep -q "nodeb" "$WORK/two.log" || { cat "$WORK/two.log"; fail "no rank ran on nodeb"; }
# One copy of the pool per node in each node's own scratch (one node: a writer and one reader).
grep -q "one copy in shared memory on node nodea .*read by 0 other worker" "$WORK/two.log" &&
  grep -q "one copy in shared memory on node nodeb .*read by 0 other worker" "$WORK/two.log" &&
  grep -q "one copy in shared memory on node nodea .*read by 1 other worker" "$WORK/one.log" ||
  { cat "$WORK/one.log" "$WORK/two.log"; fail "not one pool per node in shared memory"; }
for run in one two; do
  fingerprint "$WORK/$run" >"$WORK/$run.txt"
  pools "$WORK/$run" >"$WORK/$run.pool"
done
[[ $(grep -c shared.pool.obs "$WORK/one.pool") -eq 3 ]] || { cat "$WORK/one.pool"; fail "not one pool.h5 per generation"; }
diff "$WORK/one.txt" "$WORK/two.txt" || fail "results on 2 nodes differ from 1 node"
diff "$WORK/one.pool" "$WORK/two.pool" || fail "pools on 2 nodes differ from 1 node"
pass "shared replay pool: identical results and pools on 1 node and on 2 nodes"
