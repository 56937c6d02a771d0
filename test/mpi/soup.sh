#!/usr/bin/env bash
# Model soups after a small run under mpirun: the no-mixing ablation copies the parents'
# architectures, so several final members share the best one's; the soup starts from the best
# member, tries every other such member once in fitness order, and is never worse than the best
# member measured the same way. The run makes it as part of its final evaluation
# (`final_soup: true`: summary.json "soup", the log, soup.json); `pbtnas soup OUT` afterwards
# makes the same soup. Bad folders are refused with exit 2.
source "$(dirname "$0")/lib.sh"
# Seed 31175: its no-mixing run leaves two members with the best architecture (the no-mixing child
# copies a uniform member of the parent pool, so which seeds do depends on that rule).
cfg=$(make_config self $'seed: 31175\nmix_with_itself: true\nfinal_soup: true')
out="$WORK/run"
run_pbtnas 3 "$cfg" "$out"
[[ $rc -eq 0 ]] || { cat "$out.log"; fail "the run exited $rc"; }
grep -q "soup of generation" "$out.log" || { cat "$out.log"; fail "the run's log does not report the soup"; }
cp "$out/soup.json" "$WORK/run_soup.json" || fail "the run wrote no soup.json"
"$PY" - "$out" <<'PYEOF' || fail "summary.json's soup does not match the run's soup.json"
import json, sys
out = sys.argv[1]
so = json.load(open(out + "/summary.json"))["soup"]
s = json.load(open(out + "/soup.json"))
assert "error" not in so, so
for k in ("generation", "best_member", "candidates", "members", "fitness", "best_fitness"):
    assert so[k] == s[k], (k, so[k], s[k])
if len(s["members"]) > 1:
    assert so["evaluation"] == s["final"]["soup"] and so["best_member_evaluation"] == s["final"]["best"], (so, s)
print("ok: the run's final evaluation made the soup", so["members"], "of", so["candidates"])
PYEOF
pass "the run's final evaluation makes the soup (final_soup: true)"

"$PBTNAS" soup "$out" >"$WORK/soup.log" 2>&1 || { cat "$WORK/soup.log"; fail "pbtnas soup failed"; }
cat "$WORK/soup.log"
PYTHONPATH="$SRC/jobs/tools" "$PY" - "$out" <<'PYEOF' || fail "soup.json is inconsistent"
import json, sys, h5py
import pbtnas_h5
out = sys.argv[1]
s = json.load(open(out + "/soup.json"))
gen = s["generation"]
genomes = {}
for m in s["candidates"]:
    # in its worker's shard
    genomes[m] = pbtnas_h5.read_fields(f"{out}/checkpoints/gen_{gen:06d}/member_{m:03d}.h5")["genome"].tolist()
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
"$PY" - "$WORK/run_soup.json" "$out/soup.json" <<'PYEOF' || fail "pbtnas soup made another soup than the run"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for k in ("generation", "best_member", "candidates", "members"):
    assert a[k] == b[k], (k, a[k], b[k])
for k in ("fitness", "best_fitness"):
    assert abs(a[k] - b[k]) <= 1e-6 * max(1.0, abs(a[k])), (k, a[k], b[k])
print("ok: the command and the run agree:", a["members"], a["fitness"])
PYEOF
pass "pbtnas soup OUT makes the run's soup"

set +e
"$PBTNAS" soup "$WORK/nowhere" >"$WORK/bad.log" 2>&1; rc=$?
set -e
[[ $rc -eq 2 ]] || fail "a folder without a run exited $rc, not 2"
grep -q "no committed generation" "$WORK/bad.log" || { cat "$WORK/bad.log"; fail "the error does not say what is missing"; }
set +e
"$PBTNAS" soup "$WORK/bad.log" >"$WORK/bad2.log" 2>&1; rc=$?
set -e
[[ $rc -eq 2 ]] && grep -q "is a file; run .pbtnas soup. on the --out folder" "$WORK/bad2.log" ||
  { cat "$WORK/bad2.log"; fail "a file given as the run folder: exit $rc, or no clear message"; }
pass "a folder without a run is refused"
