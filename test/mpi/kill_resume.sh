#!/usr/bin/env bash
# Rank 0 dies (SIGKILL, at the exact point set by testing.crash_after_commit) right after
# generation 2 is committed; the same command then resumes from it and ends identical to an
# uninterrupted run.
source "$(dirname "$0")/lib.sh"
cfg=$(make_long_config long)
run_pbtnas 3 "$cfg" "$WORK/full"; [[ $rc -eq 0 ]] || { cat "$WORK/full.log"; fail "uninterrupted run exited $rc"; }

out="$WORK/killed"
crash_and_resume "$cfg" "$out" 3
fingerprint "$WORK/full" >"$WORK/a.txt"
fingerprint "$out" >"$WORK/b.txt"
diff "$WORK/a.txt" "$WORK/b.txt" || fail "resumed run differs from the uninterrupted run"
# The kill came after the commit of generation 2 and before its generations.jsonl row: the
# resumed run rebuilds that row from metrics.jsonl, with the uninterrupted run's best and median.
grep -q 'generations.jsonl gets a row rebuilt from metrics.jsonl' "$out.log" || { cat "$out.log"; fail "no note of the recovered generation row"; }
"$PY" - "$WORK/full" "$out" <<'PYEOF' || fail "generations.jsonl of the resumed run is not one row per generation"
import json, sys
full, resumed = ([json.loads(l) for l in open(d + "/generations.jsonl") if l.strip()] for d in sys.argv[1:])
assert [r["generation"] for r in resumed] == [r["generation"] for r in full] == list(range(len(full))), resumed
for a, b in zip(full, resumed):
    assert b.get("recovered", False) == (b["generation"] == 1), b
    for k in ("epoch", "best_member", "best_fitness", "median_fitness"):
        assert a[k] == b[k], (k, a, b)
    assert ("train_seconds" in b) != b.get("recovered", False), b
PYEOF
# summary.json's per-worker totals cover the whole run (workers.jsonl, the killed process's
# generations included), not only the generations of the process that finished it.
"$PY" - "$out" <<'PYEOF' || fail "summary.json's worker totals do not cover the run's generations"
import json, sys
out = sys.argv[1]
rows = [json.loads(l) for l in open(out + "/workers.jsonl") if l.strip()]
assert 0 in {r["generation"] for r in rows}, "no workers.jsonl row of the killed process's generation 0"
workers = json.load(open(out + "/summary.json"))["workers"]
assert [w["rank"] for w in workers] == [1, 2], workers
for w in workers:
    mine = [r for r in rows if r["rank"] == w["rank"]]
    assert abs(w["busy_seconds"] - sum(r["busy_seconds"] for r in mine)) < 1e-6, (w, mine)
    assert abs(w["wait_seconds"] - sum(r["wait_seconds"] for r in mine)) < 1e-6, (w, mine)
PYEOF
pass "killed (after a commit) and resumed run equals the uninterrupted one"
