#!/usr/bin/env bash
# `pbtnas study` on jobs/studies/smoke_study.yaml (2 variants x 2 seeds of the smoke config),
# interrupted at exact points: a copy of the study whose second variant (random) carries
# testing.crash_after_commit: 1, so rank 0 dies (SIGKILL, the whole study with it) right after
# generation 2 of each of its runs is committed. Each rerun of the same command must skip the
# finished runs, resume the interrupted one and go on; the last one writes the report.
source "$(dirname "$0")/lib.sh"
study="$WORK/study.yaml"
sed -e "s|^base: .*|base: $SRC/jobs/configs/smoke_classify.yaml|" \
    -e '/^      algorithm: random/a\      testing: {crash_after_commit: 1}' \
    "$SRC/jobs/studies/smoke_study.yaml" >"$study"
grep -q "crash_after_commit" "$study" || fail "smoke_study.yaml layout changed: no '      algorithm: random' line"
out="$WORK/study"

run_study() {  # run_study LOG [extra args] -> exit code in $rc
  local log=$1
  shift
  set +e
  timeout 600 mpirun -n 3 "$PBTNAS" study "$study" --out "$out" "$@" >"$log" 2>&1
  rc=$?
  set -e
}
finished() { [[ -f "$out/$1/summary.json" ]]; }

# 1: both pbtnas runs finish, random seed 31173 is killed after its generation 2.
run_study "$WORK/1.log"
[[ $rc -ne 0 ]] || { cat "$WORK/1.log"; fail "the first study run exited 0 although a run was killed"; }
grep -q "testing.crash_after_commit" "$WORK/1.log" || { cat "$WORK/1.log"; fail "the crash hook did not fire"; }
finished pbtnas/seed_31173 && finished pbtnas/seed_31174 || { cat "$WORK/1.log"; fail "the pbtnas runs did not finish"; }
[[ -f "$out/random/seed_31173/checkpoints/gen_000001/index.h5" ]] || fail "random seed 31173: generation 2 is not committed"
! finished random/seed_31173 || fail "random seed 31173 finished although it was killed"
[[ ! -e "$out/random/seed_31174" ]] || fail "random seed 31174 started after the study was killed"
[[ -f "$out/pbtnas/seed_31173.yaml" ]] || fail "the derived config pbtnas/seed_31173.yaml is missing"
grep -q "^seed: 31174" "$out/pbtnas/seed_31174.yaml" || fail "the derived config of seed 31174 does not set its seed"
grep -q "^algorithm: random" "$out/random/seed_31173.yaml" || fail "the random variant's config does not set algorithm: random"
[[ ! -e "$out/study.json" ]] || fail "the report was written before the study was done"
before=$(cksum "$out"/pbtnas/seed_*/summary.json)
pass "an interrupted study keeps its finished runs and the committed generations of the interrupted one"

# The run list shows the state of every run.
"$PBTNAS" study "$study" --out "$out" --list >"$WORK/list.txt"
[[ $(grep -vc '^#' "$WORK/list.txt") -eq 4 ]] || { cat "$WORK/list.txt"; fail "--list does not list 4 runs"; }
grep -qP '^2\trandom\t31173\t.*\tinterrupted' "$WORK/list.txt" || { cat "$WORK/list.txt"; fail "--list: run 2 is not interrupted"; }
grep -qP '^0\tpbtnas\t31173\t.*\tfinished' "$WORK/list.txt" || { cat "$WORK/list.txt"; fail "--list: run 0 is not finished"; }

# 2: skips the pbtnas runs, resumes random seed 31173 after generation 2, then random seed 31174
# starts and is killed the same way.
run_study "$WORK/2.log"
[[ $rc -ne 0 ]] || { cat "$WORK/2.log"; fail "the second study run exited 0 although seed 31174 was killed"; }
[[ $(grep -c "finished before, skipped" "$WORK/2.log") -eq 2 ]] || { cat "$WORK/2.log"; fail "the finished runs were not skipped"; }
grep -q "variant random, seed 31173 .*: resuming" "$WORK/2.log" || { cat "$WORK/2.log"; fail "random seed 31173 was not resumed"; }
grep -qF "resuming from committed generation 1 [2/3]" "$WORK/2.log" || { cat "$WORK/2.log"; fail "the resumed run did not start after generation 2"; }
finished random/seed_31173 || { cat "$WORK/2.log"; fail "the resumed run did not finish"; }
[[ "$(cksum "$out"/pbtnas/seed_*/summary.json)" == "$before" ]] || fail "a skipped run's summary.json changed"
[[ -f "$out/random/seed_31174/checkpoints/gen_000001/index.h5" ]] || fail "random seed 31174: generation 2 is not committed"
pass "a rerun skips finished runs and resumes the interrupted one"

# 3: resumes random seed 31174, then writes the report.
run_study "$WORK/3.log"
[[ $rc -eq 0 ]] || { cat "$WORK/3.log"; fail "the third study run exited $rc"; }
[[ $(grep -c "finished before, skipped" "$WORK/3.log") -eq 3 ]] || { cat "$WORK/3.log"; fail "3 finished runs were not skipped"; }
for f in study.json study.md study.png study_runs.tsv; do [[ -s "$out/$f" ]] || fail "$f is missing"; done
"$PY" - "$out" <<'PYEOF' || fail "the report does not hold the expected variants and seeds"
import json, struct, sys
out = sys.argv[1]
s = json.load(open(out + "/study.json"))
assert [v["name"] for v in s["variants"]] == ["pbtnas", "random"], s["variants"]
for v in s["variants"]:
    assert v["seeds"] == [31173, 31174] and v["n"] == 2, v
    assert v["std"] is not None and v["mean"] is not None, v
    assert len(v["best_fitness_per_generation"]["mean"]) == 3, v
c = s["comparisons"]
assert len(c) == 1 and c[0]["reference"] == "pbtnas" and c[0]["other"] == "random", c
assert 0 < c[0]["p"] <= 1, c
assert s["missing"] == [], s["missing"]
assert len(s["runs"]) == 4 and all(r["finished"] for r in s["runs"]), s["runs"]
for r in s["runs"]:  # the final metric is the run's best-ever fitness
    summary = json.load(open(out + "/" + r["folder"] + "/summary.json"))
    assert r["final_metric"] == summary["best_ever"]["fitness"], r
md = open(out + "/study.md").read()
assert "| pbtnas |" in md and "| random |" in md and "| pbtnas | random |" in md, md
png = open(out + "/study.png", "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", png[16:24])
assert (w, h) == (1200, 720), (w, h)
PYEOF
pass "the last rerun finishes the study; study.json, study.md and study.png hold both variants and both seeds"

# A finished study: every run is skipped; study-report alone rewrites the report.
run_study "$WORK/4.log" --only 1
[[ $rc -eq 0 ]] || { cat "$WORK/4.log"; fail "--only 1 on a finished study exited $rc"; }
grep -q "finished before, skipped" "$WORK/4.log" || { cat "$WORK/4.log"; fail "--only 1 did not skip the finished run"; }
rm "$out/study.md"
"$PBTNAS" study-report "$out" >"$WORK/report.log" 2>&1 || { cat "$WORK/report.log"; fail "study-report failed"; }
[[ -s "$out/study.md" ]] || fail "study-report did not write study.md"
pass "--only skips a finished run; study-report rewrites the report"

# The paired signed-rank test and the search fitness in study.json; best_last_fitness is the final
# population's best search fitness (summary.json fitness_history, metrics.jsonl's last generation).
"$PY" - "$out" <<'PYEOF' || fail "study.json's signed-rank test or search fitness is wrong"
import json, sys
out = sys.argv[1]
s = json.load(open(out + "/study.json"))
sr = s["comparisons"][0]["signed_rank"]
assert sr["alternative"] == "greater" and sr["seeds"] == [31173, 31174] and sr["pairs"] == 2, sr
assert 0 < sr["p"] <= 1 and sr["method"].startswith(("exact", "no nonzero")), sr
for r in s["runs"]:
    summary = json.load(open(out + "/" + r["folder"] + "/summary.json"))
    assert r["best_ever_fitness"] == summary["best_ever"]["fitness"], r
    assert r["best_last_fitness"] == summary["fitness_history"][-1], r
    rows = [json.loads(l) for l in open(out + "/" + r["folder"] + "/metrics.jsonl") if l.strip()]
    last = max(x["generation"] for x in rows)
    assert r["best_last_fitness"] == max(x["fitness"] for x in rows if x["generation"] == last), r
PYEOF
grep -q "| variant | best_ever_fitness | best_last_fitness |" "$out/study.md" || fail "study.md has no search fitness table"
grep -q "p (signed-rank, greater)" "$out/study.md" || fail "study.md has no signed-rank column"
pass "study.json and study.md hold the paired signed-rank test and both search fitness values"

# Pooled over settings: a copy of the finished study stands for a second setting. 2 settings x 2
# seeds = 4 pairs; the pairs are the two studies' values.
cp -r "$out" "$WORK/setting_b"
(cd "$WORK" && "$PBTNAS" study-report study setting_b/ --pooled --out pooled >"$WORK/pooled.log" 2>&1) ||
  { cat "$WORK/pooled.log"; fail "study-report --pooled failed"; }
for f in pooled.md pooled.json; do [[ -s "$WORK/pooled/$f" ]] || fail "--pooled did not write $f"; done
[[ ! -e "$WORK/setting_b/pooled.md" && ! -e "$out/pooled.md" ]] || fail "--pooled wrote into a study folder"
"$PY" - "$WORK" <<'PYEOF' || fail "pooled.json does not pair the runs by (setting, seed)"
import json, sys
w = sys.argv[1]
p = json.load(open(w + "/pooled/pooled.json"))
assert p["settings"] == ["study", "setting_b"] and p["reference"] == "pbtnas" and p["goal"] == "max", p
c = p["comparisons"]
assert len(c) == 1 and c[0]["other"] == "random" and c[0]["alternative"] == "greater", c
pairs = c[0]["pair_values"]
assert [(x["setting"], x["seed"]) for x in pairs] == [("study", 31173), ("study", 31174), ("setting_b", 31173), ("setting_b", 31174)], pairs
s = json.load(open(w + "/study/study.json"))
ref = dict(zip(s["variants"][0]["seeds"], s["variants"][0]["values"]))
oth = dict(zip(s["variants"][1]["seeds"], s["variants"][1]["values"]))
for x in pairs:
    assert x["reference"] == ref[x["seed"]] and x["other"] == oth[x["seed"]], x
assert c[0]["pairs"] == 4 and c[0]["zeros"] == sum(ref[x["seed"]] == oth[x["seed"]] for x in pairs), c
PYEOF
grep -q "^# Pooled study over 2 settings" "$WORK/pooled.log" || { cat "$WORK/pooled.log"; fail "--pooled did not print its report"; }
pass "study-report --pooled pairs two settings by (setting, seed) into pooled.md and pooled.json"

# Studies that disagree are refused with the folder and the fix named; so are several folders
# without --pooled and --out without it.
cp -r "$out" "$WORK/setting_c"
sed -i 's/^metric\t.*/metric\tbest_last_fitness/' "$WORK/setting_c/study_runs.tsv"
set +e
"$PBTNAS" study-report "$out" "$WORK/setting_c" --pooled --out "$WORK/pooled_bad" >"$WORK/pooled_bad.log" 2>&1
rc=$?
set -e
[[ $rc -eq 2 ]] || { cat "$WORK/pooled_bad.log"; fail "pooling studies of two metrics exited $rc, not 2"; }
grep -q "setting_c compares 'best_last_fitness' (goal max) but .* compares 'best_ever_fitness'.*the same \`metric:\` and \`goal:\`" "$WORK/pooled_bad.log" ||
  { cat "$WORK/pooled_bad.log"; fail "the metric mismatch does not name the folder and the fix"; }
[[ ! -e "$WORK/pooled_bad" ]] || fail "a refused pooled report wrote files"
set +e
"$PBTNAS" study-report "$out" "$WORK/setting_b" >"$WORK/two.log" 2>&1
rc_two=$?
"$PBTNAS" study-report "$out" --out "$WORK/x" >"$WORK/outonly.log" 2>&1
rc_out=$?
set -e
[[ $rc_two -eq 2 ]] && grep -q "add --pooled" "$WORK/two.log" || { cat "$WORK/two.log"; fail "two folders without --pooled: exit $rc_two or no hint"; }
[[ $rc_out -eq 2 ]] && grep -q -- "--out is for --pooled" "$WORK/outonly.log" || { cat "$WORK/outonly.log"; fail "--out without --pooled: exit $rc_out or no hint"; }
pass "pooling refuses studies of different metrics, naming the folder; several folders need --pooled"

# best_last_fitness as the study's metric: the final value of every run is its final population's best fitness.
"$PBTNAS" study-report "$WORK/setting_c" >"$WORK/setting_c.log" 2>&1 || { cat "$WORK/setting_c.log"; fail "study-report with best_last_fitness failed"; }
"$PY" - "$WORK/setting_c" <<'PYEOF' || fail "best_last_fitness is not the final population's best fitness"
import json, sys
s = json.load(open(sys.argv[1] + "/study.json"))
assert s["metric"] == "best_last_fitness", s["metric"]
assert all(r["final_metric"] == r["best_last_fitness"] is not None for r in s["runs"]), s["runs"]
PYEOF
pass "metric best_last_fitness reports the final population's best search fitness"

# A run whose final evaluation failed (summary.json with an error, e.g. out of memory in the final
# FID) is not finished: the next study run resumes it and redoes the evaluation.
"$PY" - "$out/pbtnas/seed_31174/summary.json" <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))
s["best_ever"]["error"] = "injected: out of memory"
json.dump(s, open(sys.argv[1], "w"))
PYEOF
"$PBTNAS" study "$study" --out "$out" --list >"$WORK/list2.txt"
grep -qP '^1\tpbtnas\t31174\t.*\tfinal evaluation failed' "$WORK/list2.txt" || { cat "$WORK/list2.txt"; fail "--list: run 1 does not show its failed evaluation"; }
run_study "$WORK/5.log" --only 1
[[ $rc -eq 0 ]] || { cat "$WORK/5.log"; fail "rerunning the run whose evaluation failed exited $rc"; }
grep -q "final evaluation failed before; running it again" "$WORK/5.log" || { cat "$WORK/5.log"; fail "the run with a failed evaluation was not run again"; }
! grep -q '"error"' "$out/pbtnas/seed_31174/summary.json" || fail "the rerun did not replace the failed evaluation"
pass "a run whose final evaluation failed runs again"

# A final evaluation that fails every time: the first study command stops with exit 2; the next
# one tries it once more, says it failed again and goes on to write the report.
fstudy="$WORK/failing.yaml"
printf 'base: %s\nmetric: best_ever_fitness\ngoal: max\nseeds: [31173]\nvariants:\n  - name: failing\n    set:\n      testing: {fail_best_ever_evaluation: true}\n' \
  "$SRC/jobs/configs/smoke_classify.yaml" >"$fstudy"
for i in 1 2; do
  set +e
  timeout 300 mpirun -n 3 "$PBTNAS" study "$fstudy" --out "$WORK/failing" >"$WORK/failing$i.log" 2>&1
  rc=$?
  set -e
  eval "rc$i=$rc"
done
[[ $rc1 -eq 2 ]] || { cat "$WORK/failing1.log"; fail "a failed final evaluation exited $rc1, not 2"; }
grep -q '"error"' "$WORK/failing/failing/seed_31173/summary.json" || fail "summary.json does not hold the evaluation's error"
[[ $rc2 -eq 0 ]] || { cat "$WORK/failing2.log"; fail "the study did not go on after the evaluation failed again (exit $rc2)"; }
grep -q "failed again (see its summary.json); going on" "$WORK/failing2.log" || { cat "$WORK/failing2.log"; fail "no note that the evaluation failed again"; }
[[ -s "$WORK/failing/study.json" ]] || fail "the study with a failing evaluation wrote no report"
pass "a final evaluation that fails every time is tried once per study command and does not block the study"

# A bad override is refused on every rank before anything runs, naming the key and the variant.
bad="$WORK/bad.yaml"
sed -e "s|^base: .*|base: $SRC/jobs/configs/smoke_classify.yaml|" -e 's/^      algorithm: random/      shrink_perturb: [11, 0]/' \
    "$SRC/jobs/studies/smoke_study.yaml" >"$bad"
set +e
timeout 120 mpirun -n 3 "$PBTNAS" study "$bad" --out "$WORK/bad" >"$WORK/bad.log" 2>&1
rc=$?
set -e
[[ $rc -eq 2 ]] || { cat "$WORK/bad.log"; fail "a bad override exited $rc, not 2"; }
grep -q "variant 'random'.*'shrink_perturb\[0\]' = 11 is out of range" "$WORK/bad.log" || { cat "$WORK/bad.log"; fail "the error does not name the variant and the key"; }
[[ ! -e "$WORK/bad/random" ]] || fail "a refused study created run folders"
pass "a bad override is refused with the variant and the key named"

# A metric that no run will report (a typo) is refused before anything runs, listing the valid ones.
sed -e "s|^base: .*|base: $SRC/jobs/configs/smoke_classify.yaml|" -e 's/^metric: .*/metric: val_ac/' -e 's/^goal: .*/goal: max/' \
    "$SRC/jobs/studies/smoke_study.yaml" >"$WORK/badmetric.yaml"
set +e
"$PBTNAS" study "$WORK/badmetric.yaml" --out "$WORK/badmetric" --list >"$WORK/badmetric.log" 2>&1
rc=$?
set -e
[[ $rc -eq 2 ]] || { cat "$WORK/badmetric.log"; fail "a study with an unknown metric exited $rc, not 2"; }
grep -q "metric 'val_ac' is not reported.*one of: val_acc, test, evaluation_seconds" "$WORK/badmetric.log" ||
  { cat "$WORK/badmetric.log"; fail "the unknown metric's message does not list the valid ones"; }
set +e
"$PBTNAS" study "$study" --out "" --list >"$WORK/emptyout.log" 2>&1
rc=$?
set -e
[[ $rc -eq 2 ]] && grep -q -- "--out is empty" "$WORK/emptyout.log" || { cat "$WORK/emptyout.log"; fail "study --out \"\": exit $rc or no clear message"; }
pass "a study metric that no run reports is refused up front, so is an empty --out"

# The committed studies: every derived config (search keys and task section) is valid.
for f in "$SRC"/jobs/studies/*.yaml; do
  s=$(basename "$f" .yaml)
  "$PBTNAS" study "$f" --out "$WORK/$s" --list >"$WORK/$s.txt" 2>&1 || { cat "$WORK/$s.txt"; fail "$s.yaml is refused"; }
done
[[ $(grep -vc '^#' "$WORK/fmnist_ganhard_table2.txt") -eq 12 ]] || fail "fmnist_ganhard_table2.yaml does not list 4 x 3 runs"
[[ $(grep -vc '^#' "$WORK/fmnist_classify_baselines.txt") -eq 9 ]] || fail "fmnist_classify_baselines.yaml does not list 3 x 3 runs"
[[ $(grep -vc '^#' "$WORK/cifar10_ganhard_table2.txt") -eq 12 ]] || fail "cifar10_ganhard_table2.yaml does not list 4 x 3 runs"
[[ $(grep -vc '^#' "$WORK/objectives.txt") -eq 6 ]] || fail "objectives.yaml does not list 2 x 3 runs"
[[ $(grep -vc '^#' "$WORK/less_greedy.txt") -eq 6 ]] || fail "less_greedy.yaml does not list 2 x 3 runs"
[[ $(grep -vc '^#' "$WORK/hyper_genes.txt") -eq 9 ]] || fail "hyper_genes.yaml does not list 3 x 3 runs"
[[ $(grep -vc '^#' "$WORK/cartpole_beyond.txt") -eq 12 ]] || fail "cartpole_beyond.yaml does not list 4 x 3 runs"
pass "the committed studies list their runs (every derived config parses)"
