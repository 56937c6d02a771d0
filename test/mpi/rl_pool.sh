#!/usr/bin/env bash
# The RL search with one replay pool shared by the population (rl.replay: shared; docs/rl.md,
# "Shared replay pool"), jobs/configs/smoke_rl.yaml with 1,000 frames per generation (one episode of
# 500 agent steps) and a pool of 3,000 steps (the 4 members add 2,004 per generation, so it
# wraps), 3 generations, under mpirun:
#   - identical results and pools with 2 and 3 workers (members spread differently over ranks);
#   - identical after rank 0 is killed right after a commit (2 workers) and the run is resumed with
#     3 workers (the threaded tests in test/unit/rl_run resume on the same and on another count);
#   - every generation's pool.h5 is listed in its index.h5; members carry no replay buffer;
#   - the pool holds every member's episodes in member order and is FIFO (the round-robin over
#     several episodes per member is tested in test/unit/rl/test_rl_pool.cpp);
#   - `pbtnas inspect` shows the pool (steps, capacity, steps and episodes per member);
#   - one copy per node in shared memory (rl.pool_memory: node, the default), a replica per rank
#     (rl.pool_memory: rank) and the fallback where no shared memory can be made give the same
#     results and pools; a crash leaves no shared-memory file, and a stale one is removed at the
#     next start.
PBTNAS_TEST_NEEDS_FASHION_MNIST=0 source "$(dirname "$0")/lib.sh"
cfg="$WORK/pool.yaml"
sed -e 's/^max_epochs: .*/max_epochs: 3/' \
    -e 's/^  frames_per_epoch: .*/  frames_per_epoch: 1000/' \
    -e 's/^  replay_capacity: .*/  replay: shared\n  pool_capacity: 3000/' "$SRC/jobs/configs/smoke_rl.yaml" >"$cfg"
grep -q '^max_epochs: 3' "$cfg" && grep -q '^  replay: shared' "$cfg" && grep -q '^  frames_per_epoch: 1000' "$cfg" || fail "smoke_rl.yaml layout changed"

# Pools of every generation: name, dtype, shape and a digest of each tensor.
pools() {  # pools OUT
  PYTHONPATH="$SRC/jobs/tools" "$PY" - "$1" <<'PYEOF'
import glob, hashlib, sys, h5py
import pbtnas_h5
out = sys.argv[1]
for path in sorted(glob.glob(out + "/checkpoints/gen_*/pool.h5")):
    s = pbtnas_h5.read_state(path, "")
    for name in sorted(s):
        a = s[name]
        print(path[len(out):], name, a.dtype, a.shape, hashlib.sha256(a.tobytes()).hexdigest()[:16])
PYEOF
}

same_with_2_and_3_workers "$cfg" shared-pool
pools "$WORK/w2" >"$WORK/a.pool"; pools "$WORK/w3" >"$WORK/b.pool"
[[ $(grep -c shared.pool.obs "$WORK/a.pool") -eq 3 ]] || { cat "$WORK/a.pool"; fail "not one pool.h5 per generation"; }
diff "$WORK/a.pool" "$WORK/b.pool" || fail "the pools differ between 2 and 3 workers"
pass "identical results and pools with 2 and 3 workers"

grep -q "one copy in shared memory on node" "$WORK/w2.log" || { cat "$WORK/w2.log"; fail "the pool was not placed in node memory"; }
rcfg="$WORK/rank.yaml"
sed -e 's/^  replay: shared/  replay: shared\n  pool_memory: rank/' "$cfg" >"$rcfg"
run_pbtnas 4 "$rcfg" "$WORK/rank"; [[ $rc -eq 0 ]] || { cat "$WORK/rank.log"; fail "pool_memory: rank run exited $rc"; }
! grep -q "one copy in shared memory" "$WORK/rank.log" || fail "rl.pool_memory: rank placed the pool in node memory"
# Node scratch that cannot be made (SLURM_TMPDIR comes first): every worker keeps its own copy.
SLURM_TMPDIR=/proc/pbtnas-no-scratch run_pbtnas 3 "$cfg" "$WORK/fallback"
[[ $rc -eq 0 ]] || { cat "$WORK/fallback.log"; fail "the run without node scratch exited $rc"; }
grep -q "no shared memory on node .*every worker of this node keeps its own copy" "$WORK/fallback.log" ||
  { cat "$WORK/fallback.log"; fail "no log line for the fallback to per-rank copies"; }
for run in rank fallback; do
  fingerprint "$WORK/$run" >"$WORK/$run.txt"; pools "$WORK/$run" >"$WORK/$run.pool"
  diff "$WORK/a.txt" "$WORK/$run.txt" || fail "results differ between node and $run copies"
  diff "$WORK/a.pool" "$WORK/$run.pool" || fail "pools differ between node and $run copies"
done
pass "one copy per node, a copy per rank and the fallback give identical results and pools"

# Each generation commits with its pool; members hold no replay buffer.
PYTHONPATH="$SRC/jobs/tools" "$PY" - "$WORK/w2" <<'PYEOF' || fail "pool files or member files are wrong"
import glob, sys, h5py, numpy as np
import pbtnas_h5
out = sys.argv[1]
for g in range(3):
    d = f"{out}/checkpoints/gen_{g:06d}"
    with h5py.File(d + "/index.h5", "r") as f:
        files = dict(zip(f["files/file"].asstr()[()], f["files/member"][()]))
    assert files.get("pool.h5") == -1, f"gen {g}: index.h5 lists {files}"
    for m in range(4):
        names = pbtnas_h5.read_state(f"{d}/member_{m:03d}.h5", "")
        assert not any(n.startswith("extra.replay") for n in names), f"member {m} carries a replay buffer"
    s = pbtnas_h5.read_state(d + "/pool.h5", "shared.pool.")
    nxt, size, cap = (int(v) for v in s["shared.pool.state"])
    assert cap == 3000
    members = s["shared.pool.member"]
    if g == 0:
        # Each member ran one episode of 500 agent steps: 501 rows (first step + 500), in member order.
        assert size == 2004 and nxt == 2004, (size, nxt)
        assert (members[:size] == np.repeat(np.arange(4), 501)).all()
    else:
        assert size == 3000, f"gen {g}: the pool is not full ({size})"
        order = [(nxt + j) % cap for j in range(size)]
        newest = members[order][-2004:]
        assert (newest == np.repeat(np.arange(4), 501)).all(), f"gen {g}: newest steps not in member order"
print("ok")
PYEOF
pass "every generation's index lists its pool.h5, members carry no buffer, the pool is FIFO in member order"

out="$WORK/killed"
kcfg="$WORK/crash.yaml"
{ cat "$cfg"; printf 'testing:\n  crash_after_commit: 1\n'; } >"$kcfg"
scratch="$WORK/scratch"
SLURM_TMPDIR="$scratch" run_pbtnas 3 "$kcfg" "$out"
[[ $rc -ne 0 ]] || { cat "$out.log"; fail "the run with crash_after_commit: 1 exited 0"; }
[[ -f "$out/checkpoints/gen_000001/pool.h5" && ! -f "$out/summary.json" ]] || fail "the crash did not happen after generation 2"
[[ -z "$(ls -A "$scratch/pbtnas" 2>/dev/null)" ]] || { ls -l "$scratch/pbtnas"; fail "the crash left a shared-memory file"; }
# A file as a crash between creating the region and mapping it on every worker would leave it.
stale=$("$PY" - "$out" "$(hostname)" <<'PYEOF'
import os, re, sys
h = 0xcbf29ce484222325
for b in os.path.normpath(os.path.abspath(sys.argv[1])).encode():
    h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
print(f"pool-{h:016x}-" + re.sub(r"[^A-Za-z0-9.-]", "_", sys.argv[2]) + "-from_gen_000000")
PYEOF
)
mkdir -p "$scratch/pbtnas" && echo stale >"$scratch/pbtnas/$stale"
SLURM_TMPDIR="$scratch" run_pbtnas 4 "$kcfg" "$out"
[[ $rc -eq 0 ]] || { cat "$out.log"; fail "resumed run (3 workers) exited $rc"; }
[[ ! -e "$scratch/pbtnas/$stale" ]] && grep -q "removed 1 stale shared-memory file" "$out.log" ||
  { cat "$out.log"; fail "the stale shared-memory file $stale was not removed at the next start"; }
[[ -z "$(ls -A "$scratch/pbtnas")" ]] || { ls -l "$scratch/pbtnas"; fail "the finished run left a shared-memory file"; }
grep -qF "resuming from committed generation 1 [2/" "$out.log" || { cat "$out.log"; fail "the second run did not resume"; }
fingerprint "$out" >"$WORK/c.txt"; pools "$out" >"$WORK/c.pool"
diff "$WORK/a.txt" "$WORK/c.txt" || fail "the resumed run differs from the uninterrupted one"
diff "$WORK/a.pool" "$WORK/c.pool" || fail "the resumed run's pools differ from the uninterrupted one"
pass "killed (2 workers) and resumed on 3 workers, results and pools equal the uninterrupted run"

"$PBTNAS" inspect "$WORK/w2/checkpoints/gen_000002/pool.h5" >"$WORK/inspect.txt" 2>&1 || { cat "$WORK/inspect.txt"; fail "inspect pool.h5 failed"; }
grep -q "replay pool: 3000 steps stored of capacity 3000" "$WORK/inspect.txt" || { cat "$WORK/inspect.txt"; fail "inspect does not show the pool's size"; }
for m in 0 1 2 3; do
  grep -qE "^ +$m +[0-9]+ +[0-9]+$" "$WORK/inspect.txt" || { cat "$WORK/inspect.txt"; fail "inspect lists no steps of member $m"; }
done
"$PBTNAS" inspect "$WORK/w2/checkpoints/gen_000002/index.h5" >"$WORK/index.txt" 2>&1 || { cat "$WORK/index.txt"; fail "inspect index.h5 failed"; }
grep -q "4 members in 2 shard files and pool.h5 verified" "$WORK/index.txt" || { cat "$WORK/index.txt"; fail "inspect of the index does not verify pool.h5"; }
pass "inspect shows the pool and the index verifies it"
