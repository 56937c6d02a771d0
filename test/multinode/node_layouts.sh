#!/usr/bin/env bash
# The smoke search on simulated nodes (test/multinode/sim_nodes.sh): one node x 4 ranks, two nodes
# x 2 ranks and three uneven nodes (1 + 2 + 2 ranks) give identical results (members spread over
# other nodes, layers sent over TCP between nodes instead of shared memory); the workers-ready line
# names every host with its ranks; the node-shared data files are written into each node's own
# scratch (TMPDIR), once per node, and never into the shared home.
# Usage: node_layouts.sh PBTNAS_BINARY SOURCE_DIR. Exit code 77 (skipped) without namespaces.
source "$(dirname "$0")/../mpi/lib.sh"
SIM="$(dirname "$0")/sim_nodes.sh"
cfg=$(make_config layouts)
export HOME="$WORK/home" XDG_CACHE_HOME=""  # the shared home of the simulated cluster
mkdir -p "$HOME"

sim_run() {  # sim_run NAME NODES RANKS: output in $WORK/NAME, log in $WORK/NAME.log, scratch kept
  local name=$1 nodes=$2 ranks=$3
  mkdir -p "$WORK/sim-$name"
  set +e
  SIM_NODES_DIR="$WORK/sim-$name" timeout 600 bash "$SIM" "$nodes" -- -n "$ranks" \
    -x PBTNAS_PROGRESS -x HOME \
    bash -c "$PBTNAS run $cfg --out $WORK/$name; rc=\$?; ls \$TMPDIR/pbtnas >$WORK/$name.scratch.\$(hostname).\$OMPI_COMM_WORLD_RANK 2>/dev/null; exit \$rc" \
    >"$WORK/$name.log" 2>&1
  rc=$?
  set -e
  [[ $rc -ne 77 ]] || skip "$(grep SKIPPED "$WORK/$name.log")"
  [[ $rc -eq 0 ]] || { cat "$WORK/$name.log"; fail "$name ($nodes) exited $rc"; }
}

sim_run one nodea:4 4
sim_run two nodea:2,nodeb:2 4
sim_run uneven nodea:1,nodeb:2,nodec:2 5
fingerprint "$WORK/one" >"$WORK/one.txt"
grep -q " <- " "$WORK/one.log" || fail "the run made no exchange, so the test would prove little"
for layout in two uneven; do
  fingerprint "$WORK/$layout" >"$WORK/$layout.txt"
  diff "$WORK/one.txt" "$WORK/$layout.txt" || fail "results on layout '$layout' differ from one node"
done
pass "identical results on 1 node x 4 ranks, 2 nodes x 2 ranks and 3 uneven nodes (1 + 2 + 2)"

grep -q "workers ready: 3 on 1 host: nodea ranks 1-3 (cpu x 1 thread)" "$WORK/one.log" || { grep "workers ready" "$WORK/one.log"; fail "one-node ready line"; }
grep -q "workers ready: 3 on 2 hosts: nodea rank 1 (cpu x 1 thread), nodeb ranks 2-3 (cpu x 1 thread)" "$WORK/two.log" || { grep "workers ready" "$WORK/two.log"; fail "two-node ready line"; }
grep -q "workers ready: 4 on 2 hosts: nodeb ranks 1-2 (cpu x 1 thread), nodec ranks 3-4 (cpu x 1 thread)" "$WORK/uneven.log" || { grep "workers ready" "$WORK/uneven.log"; fail "uneven ready line"; }
pass "the workers-ready line names every host with its ranks"

# Node-shared data: in every node's scratch (each worker rank saw the files in its own TMPDIR),
# never in the shared home.
for node in nodeb nodec; do
  for f in "$WORK"/uneven.scratch.$node.*; do
    grep -q '^pbtnas-classify-train-.*\.tensor$' "$f" || { cat "$f"; fail "no node-shared training images in $node's scratch"; }
  done
done
if find "$HOME" -name 'pbtnas-classify-*' | grep -q .; then fail "node-shared data was written into the shared home"; fi
pass "node-shared data files in each node's own scratch, none in the shared home"
