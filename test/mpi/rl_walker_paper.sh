#!/usr/bin/env bash
# The paper's Walker Run config (jobs/configs/walker_run_paper.yaml: 12 members from 84 x 84
# pixels, hidden 1024, batch 512, one shared pool of 1 M steps in node memory) runs its first
# generation under `mpirun -n 3` with a tiny frame budget given by --set overrides (200 frames per
# member, one evaluation episode, no final evaluation): generation 0 is committed with its pool.h5,
# the pool holds every member's steps, and the workers shared one copy of it on the node.
# Skips (77) where no OpenGL platform for offscreen rendering can be created.
PBTNAS_TEST_NEEDS_FASHION_MNIST=0 source "$(dirname "$0")/lib.sh"
cfg="$SRC/jobs/configs/walker_run_paper.yaml"
grep -q '^  replay: shared' "$cfg" && grep -q '^population_size: 12' "$cfg" || fail "walker_run_paper.yaml changed"
out="$WORK/walker"
run_pbtnas 3 "$cfg" "$out" --set max_epochs=10 --set rl.frames_per_epoch=20 --set rl.eval_episodes=1 \
  --set rl.final_eval_episodes=0 --set runtime.device=cpu
if [[ $rc -ne 0 ]] && grep -q "no OpenGL platform for offscreen rendering works" "$out.log"; then
  skip "no OpenGL platform for offscreen rendering: $(grep -m1 -o 'no OpenGL platform.*' "$out.log")"
fi
[[ $rc -eq 0 ]] || { cat "$out.log"; fail "the walker paper config with a tiny frame budget exited $rc"; }
[[ -f "$out/checkpoints/gen_000000/index.h5" && -f "$out/checkpoints/gen_000000/pool.h5" ]] ||
  { ls -R "$out/checkpoints"; fail "generation 0 was not committed with its pool.h5"; }
grep -q "one copy in shared memory" "$out.log" || { cat "$out.log"; fail "the pool was not placed in node memory"; }
PYTHONPATH="$SRC/jobs/tools" "$PY" - "$out" <<'PYEOF' || fail "generation 0's pool is wrong"
import sys, numpy as np
import pbtnas_h5
s = pbtnas_h5.read_state(sys.argv[1] + "/checkpoints/gen_000000/pool.h5", "shared.pool.")
nxt, size, cap = (int(v) for v in s["shared.pool.state"])
obs, members = s["shared.pool.obs"], s["shared.pool.member"]
assert cap == 1000000, cap
assert str(obs.dtype) == "uint8" and obs.shape[1:] == (3, 84, 84), (obs.dtype, obs.shape)
# 10 epochs x 20 frames / action repeat 2 = 100 agent steps per member, plus the episode's first step.
assert size == 12 * 101, size
assert (members[:size] == np.repeat(np.arange(12), 101)).all(), "not every member's steps, in member order"
assert obs[:size].max() > 0, "no frames stored"
print("ok: pool of", size, "steps", obs.shape, obs.dtype)
PYEOF
"$PBTNAS" inspect "$out/checkpoints/gen_000000/index.h5" >"$WORK/index.txt" 2>&1 || { cat "$WORK/index.txt"; fail "inspect failed"; }
grep -Eq "12 members in [0-9]+ shard files and pool.h5 verified" "$WORK/index.txt" || { cat "$WORK/index.txt"; fail "the index does not verify pool.h5"; }
pass "walker_run_paper.yaml: generation 0 committed with a shared pool of 12 x 101 pixel steps (mpirun -n 3)"
