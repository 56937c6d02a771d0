#!/usr/bin/env bash
# `pbtnas soup` after a small run under mpirun: the no-mixing ablation copies the parents'
# architectures, so several final members share the best one's; the soup starts from the best
# member, tries every other such member once in fitness order, and is never worse than the best
# member measured the same way. Bad folders are refused with exit 2.
source "$(dirname "$0")/lib.sh"
cfg=$(make_config self $'mix_with_itself: true')
out="$WORK/run"
run_pbtnas 3 "$cfg" "$out"
[[ $rc -eq 0 ]] || { cat "$out.log"; fail "the run exited $rc"; }

"$PBTNAS" soup "$out" >"$WORK/soup.log" 2>&1 || { cat "$WORK/soup.log"; fail "pbtnas soup failed"; }
cat "$WORK/soup.log"
"$PY" - "$out" <<'PYEOF' || fail "soup.json is inconsistent"
import json, sys, h5py
out = sys.argv[1]
s = json.load(open(out + "/soup.json"))
gen = s["generation"]
genomes = {}
for m in s["candidates"]:
    with h5py.File(f"{out}/checkpoints/gen_{gen:06d}/member_{m:03d}.h5", "r") as f:
        genomes[m] = f["genome"][()].tolist()
best = s["best_member"]
assert len(s["candidates"]) >= 2, f"this seed's run should leave several members with the best architecture: {s}"
assert s["candidates"][0] == best and all(g == genomes[best] for g in genomes.values()), (s, genomes)
assert len(s["tried"]) == len(s["candidates"]) - 1, s
assert [t["candidate"] for t in s["tried"]] == s["candidates"][1:], s
assert s["members"][0] == best and set(s["members"]) <= set(s["candidates"]), s
assert s["fitness"] >= s["best_fitness"], s
if len(s["members"]) > 1:
    assert s["fitness"] > s["best_fitness"], s
    assert set(s["final"]) == {"best", "soup"}, s
    with h5py.File(out + "/soup.h5", "r") as f:
        assert "state" in f, list(f)
print("ok: soup of", s["members"], "from", s["candidates"], ":", s["best_fitness"], "->", s["fitness"])
PYEOF
if [[ -f "$out/soup.h5" ]]; then "$PBTNAS" inspect "$out/soup.h5" >/dev/null || fail "pbtnas inspect cannot read soup.h5"; fi
pass "soup of the final population"

set +e
"$PBTNAS" soup "$WORK/nowhere" >"$WORK/bad.log" 2>&1; rc=$?
set -e
[[ $rc -eq 2 ]] || fail "a folder without a run exited $rc, not 2"
grep -q "no committed generation" "$WORK/bad.log" || { cat "$WORK/bad.log"; fail "the error does not say what is missing"; }
pass "a folder without a run is refused"
