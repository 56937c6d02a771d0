#!/usr/bin/env bash
# A member whose loss becomes NaN gets fitness -inf, is replaced, and the run continues.
source "$(dirname "$0")/lib.sh"
cfg=$(make_config nan $'testing:\n  nan_member: 1\n  nan_generation: 0')
out="$WORK/nan"
run_pbtnas 3 "$cfg" "$out"
[[ $rc -eq 0 ]] || { cat "$out.log"; fail "run with a diverging member exited $rc"; }
grep -q "member 1 diverged" "$out.log" || { cat "$out.log"; fail "divergence not reported"; }
"$PY" - "$out" <<'PYEOF' || exit 1
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")]
r = [x for x in rows if x["generation"] == 0 and x["member"] == 1][0]
assert r["diverged"] and r["fitness"] is None, f"generation 0 member 1 should be diverged with null fitness: {r}"
later = [x for x in rows if x["generation"] == 1 and x["member"] == 1][0]
assert not later["diverged"] and later["fitness"] is not None, f"the replacement should train normally: {later}"
print("ok: member 1 diverged in generation 0 and its replacement trained in generation 1")
PYEOF
grep -Eq "^    1 <- " "$out.log" || { cat "$out.log"; fail "slot 1 was not refilled by a child"; }
pass "diverged member replaced, run completed"
