#!/usr/bin/env bash
# A tiny RL search (jobs/configs/smoke_rl.yaml, 4 generations) under mpirun:
#   - identical with 2 and 3 workers (members spread differently over ranks);
#   - identical after rank 0 is killed right after a commit and the run is resumed;
#   - every mixed child's replay buffer starts as an exact copy of its donor's (moved worker to
#     worker), followed by the steps the child collected since;
#   - `pbtnas inspect` shows the replay buffer and the target critic.
PBTNAS_TEST_NEEDS_FASHION_MNIST=0 source "$(dirname "$0")/lib.sh"
cfg="$WORK/rl.yaml"
sed -e 's/^max_epochs: .*/max_epochs: 4/' "$SRC/jobs/configs/smoke_rl.yaml" >"$cfg"
grep -q '^max_epochs: 4' "$cfg" || fail "smoke_rl.yaml layout changed"

same_with_2_and_3_workers "$cfg" RL
pass "identical RL results with 2 and 3 workers"

out="$WORK/killed"
crash_and_resume "$cfg" "$out" 3
fingerprint "$out" >"$WORK/c.txt"
diff "$WORK/a.txt" "$WORK/c.txt" || fail "the resumed RL run differs from the uninterrupted one"
pass "killed and resumed RL run equals the uninterrupted one"

# Replay buffers: child (generation g+1 checkpoint) vs donor (generation g checkpoint).
PYTHONPATH="$SRC/jobs/tools" "$PY" - "$WORK/w2" <<'PYEOF' || fail "replay buffers did not move with the donor"
import pbtnas_h5, re, sys
out = sys.argv[1]
log = open(out + ".log").read().splitlines()
gen, checked = None, 0
def buf(g, m):
    r = pbtnas_h5.read_state(f"{out}/checkpoints/gen_{g:06d}/member_{m:03d}.h5", "extra.replay.")
    return tuple(r["extra.replay." + k] for k in ("obs", "action", "reward", "first", "state"))
for line in log:
    m = re.match(r"gen (\d+) \[", line)
    if m:
        gen = int(m.group(1))  # the same 0-based number as the folders
        continue
    m = re.match(r"\s+(\d+) <- (\d+) \+ (\d+) \(mix", line)
    if not m:
        continue
    child, p1, donor = map(int, m.groups())
    d = buf(gen, donor)
    c = buf(gen + 1, child)
    n = int(d[4][1])
    assert int(d[4][0]) == n, "donor buffer wrapped; the test needs a larger capacity"
    assert int(c[4][1]) > n, f"child {child} holds {c[4][1]} steps, donor {donor} held {n}"
    for a, b, name in zip(d[:4], c[:4], ["obs", "action", "reward", "first"]):
        assert (a[:n] == b[:n]).all(), f"gen {gen}: child {child}'s replay {name} is not donor {donor}'s"
    if p1 != donor:
        p = buf(gen, p1)
        assert not (p[0][:n] == c[0][:n]).all() or int(p[4][1]) != n, "child buffer equals parent1's too"
    checked += 1
assert checked > 0, "no mixed child found in the log"
print(f"ok: {checked} mixed children started with their donor's replay buffer")
PYEOF

"$PBTNAS" inspect --tensors "$WORK/w2/checkpoints/gen_000003/member_000.h5" >"$WORK/inspect.txt" 2>&1 || { cat "$WORK/inspect.txt"; fail "inspect failed"; }
grep -q "extra.replay.obs" "$WORK/inspect.txt" || fail "inspect does not list the replay buffer"
grep -q "average.critic.Q1" "$WORK/inspect.txt" || fail "inspect does not list the target critic"
pass "inspect lists the replay buffer and the target critic"

# summary.json gives the final scores in the task's words: the return (the search fitness) and,
# with rl.final_eval_episodes, the return over that many episodes (the held-out score).
"$PY" - "$WORK/w2/summary.json" <<'PYEOF' || fail "summary.json does not give the returns in the task's words"
import json, sys
s = json.load(open(sys.argv[1]))
scores = s["scores"]
assert scores["return"] == s["fitness"], s
held_out = [k for k in scores if k.startswith("return over ")]
assert held_out == ["return over 2 episodes"] and scores[held_out[0]] == s["test_score"], scores  # smoke_rl: final_eval_episodes 2
assert "validation" not in s and "test" not in s, "the generic names are fitness and test_score"
print("ok: scores", scores)
PYEOF
pass "summary.json: returns under the task's words"
