#!/usr/bin/env bash
# A tiny pixel RL search (jobs/configs/smoke_pixels.yaml) under mpirun:
#   - identical with 2 and 3 workers (members spread differently over ranks; rendered frames,
#     the encoder and the frame-stacked replay buffers included);
#   - the replay buffers hold one uint8 frame per step;
#   - `pbtnas inspect` shows the encoder genes and the encoder's layers.
# Skips (77) where no OpenGL platform for offscreen rendering can be created.
PBTNAS_TEST_NEEDS_FASHION_MNIST=0 source "$(dirname "$0")/lib.sh"
cfg="$SRC/jobs/configs/smoke_pixels.yaml"

run_pbtnas 3 "$cfg" "$WORK/w2"
if [[ $rc -ne 0 ]] && grep -q "no OpenGL platform for offscreen rendering works" "$WORK/w2.log"; then
  skip "no OpenGL platform for offscreen rendering: $(grep -m1 -o 'no OpenGL platform.*' "$WORK/w2.log")"
fi
[[ $rc -eq 0 ]] || { cat "$WORK/w2.log"; fail "2-worker pixel run exited $rc"; }
run_pbtnas 4 "$cfg" "$WORK/w3"; [[ $rc -eq 0 ]] || { cat "$WORK/w3.log"; fail "3-worker pixel run exited $rc"; }
grep -q " <- .*mix" "$WORK/w2.log" || fail "the run made no mixing exchange, so the test would prove little"
fingerprint "$WORK/w2" >"$WORK/a.txt"
fingerprint "$WORK/w3" >"$WORK/b.txt"
diff "$WORK/a.txt" "$WORK/b.txt" || fail "pixel RL results differ between 2 and 3 workers"
pass "identical pixel RL results with 2 and 3 workers"

PYTHONPATH="$SRC/jobs/tools" "$PY" - "$WORK/w2" <<'PYEOF' || fail "the replay buffer does not hold one uint8 frame per step"
import pbtnas_h5, sys
r = pbtnas_h5.read_state(sys.argv[1] + "/checkpoints/gen_000001/member_000.h5", "extra.replay.")
obs, state = r["extra.replay.obs"], r["extra.replay.state"]
assert str(obs.dtype) == "uint8", obs.dtype
assert obs.shape[1:] == (3, 32, 32), obs.shape
assert int(state[1]) > 0 and obs[: int(state[1])].max() > 0, "no frames stored"
print("ok: replay.obs", obs.shape, obs.dtype, "holding", int(state[1]), "steps")
PYEOF

"$PBTNAS" inspect "$WORK/w2/checkpoints/gen_000001/index.h5" >"$WORK/index.txt" 2>&1 || { cat "$WORK/index.txt"; fail "inspect failed"; }
grep -q "search space rl_normact (36 genes)" "$WORK/index.txt" || { cat "$WORK/index.txt"; fail "inspect does not show the 36-gene space"; }
grep -q "encoder.convnet.1.op" "$WORK/index.txt" || { cat "$WORK/index.txt"; fail "inspect does not show the encoder genes"; }
"$PBTNAS" inspect --tensors "$WORK/w2/checkpoints/gen_000001/member_000.h5" >"$WORK/inspect.txt" 2>&1 || { cat "$WORK/inspect.txt"; fail "inspect failed"; }
grep -q "model.encoder.convnet.0" "$WORK/inspect.txt" || { cat "$WORK/inspect.txt"; fail "inspect does not list the encoder's layers"; }
pass "inspect shows the encoder genes and layers"
