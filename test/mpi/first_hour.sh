#!/usr/bin/env bash
# A newcomer's first hour (docs/config.md "Checking a config", "Resuming"; docs/outputs.md):
# check and --print-config, --set, "did you mean", range errors, output folders that are not
# runs, a missing data folder, report --html that cannot be written, a finished run that is not
# evaluated again, a resume that forgives comments and extends max_epochs, refused changes with
# their keys, status/inspect of a run folder, summary.json's genes and relative paths.
# The runs use the data-free toy task with 3 ranks.
export PBTNAS_TEST_NEEDS_FASHION_MNIST=0
source "$(dirname "$0")/lib.sh"

expect() {  # expect WHAT CODE PATTERN FILE
  [[ $rc -eq $2 ]] || { cat "$4"; fail "$1: exit code $rc, expected $2"; }
  grep -q -- "$3" "$4" || { cat "$4"; fail "$1: the output does not say '$3'"; }
  pass "$1"
}
cli() {  # cli LOG ARGS...: pbtnas without MPI, exit code in $rc
  local log=$1
  shift
  set +e
  "$PBTNAS" "$@" >"$log" 2>&1
  rc=$?
  set -e
}

cfg="$WORK/toy.yaml"
{ echo "seed: 31173"; toy_config; } >"$cfg"

# --- subcommands, --help, check, --print-config, --set, errors worded as ranges
cli "$WORK/runn.log" runn "$cfg"
expect "a mistyped subcommand" 109 "did you mean 'run'" "$WORK/runn.log"
cli "$WORK/help.log" bench-gan --help
expect "defaults in --help" 0 "iters.*=20" "$WORK/help.log"
cli "$WORK/check.log" check "$cfg" --ranks 3
expect "check of a good config" 0 "check passed" "$WORK/check.log"
cli "$WORK/check5.log" check "$cfg" --ranks 6
expect "check with too many ranks" 2 "population_size + 1" "$WORK/check5.log"
cli "$WORK/print.log" check "$cfg" --print-config
expect "--print-config" 0 "swap_probability: 0.25" "$WORK/print.log"
grep -q "^  steps_per_epoch: [0-9]" "$WORK/print.log" || { cat "$WORK/print.log"; fail "--print-config lacks the task's defaults"; }
cp "$WORK/print.log" "$WORK/effective.yaml"
cli "$WORK/print2.log" check "$WORK/effective.yaml" --print-config
cmp -s "$WORK/print.log" "$WORK/print2.log" || fail "the printed effective config does not read back to itself"
pass "the effective config reads back to itself"
cli "$WORK/set.log" check "$cfg" --set populaton_size=8
expect "an unknown key in --set" 2 "did you mean 'population_size'" "$WORK/set.log"
cli "$WORK/set2.log" check "$cfg" --set max_epochs=6 --print-config
expect "--set overrides a key" 0 "^max_epochs: 6" "$WORK/set2.log"
cli "$WORK/seed.log" check "$cfg" --set seed=-5
expect "a negative seed is a range error" 2 "'seed' = -5 is out of range; expected an integer in \[0," "$WORK/seed.log"
cli "$WORK/keep.log" check "$cfg" --set checkpoint.keep=100000000000
expect "a huge checkpoint.keep is a range error with its own range" 2 "'checkpoint.keep' = 100000000000 is out of range; expected 0 (keep all)" "$WORK/keep.log"
nodata="$WORK/nodata.yaml"
printf 'population_size: 4\nparents_fraction: 0.5\nmax_epochs: 1\nepochs_step: 1\nclassify:\n  data:\n    dir: %s/no-such-data\n' \
  "$WORK" >"$nodata"
cli "$WORK/nodata-check.log" check "$nodata"
expect "check reads the data" 2 "no-such-data" "$WORK/nodata-check.log"

# --- output folders: nothing created before the inputs are checked, no foreign files overwritten
out="$WORK/nodata-run"; run_pbtnas 3 "$nodata" "$out"
expect "a run with a missing data folder" 2 "no-such-data" "$out.log"
[[ ! -e "$out" ]] || fail "a run with a missing data folder left $out behind"
pass "a missing data folder leaves no --out behind"
out="$WORK/mine"; mkdir -p "$out"; echo '{"mine": 1}' >"$out/summary.json"; echo notes >"$out/notes.txt"
run_pbtnas 3 "$cfg" "$out"
expect "a folder of the user's own files" 2 "not part of a pbtnas run: notes.txt, summary.json" "$out.log"
[[ "$(cat "$out/summary.json")" == '{"mine": 1}' && ! -e "$out/checkpoints" ]] || fail "the user's folder was changed"
pass "the user's files are untouched"

# --- a run, then the same command again: finished, not evaluated again
out="$WORK/run"; run_pbtnas 3 "$cfg" "$out"
[[ $rc -eq 0 ]] || { cat "$out.log"; fail "the toy run failed"; }
sum_before=$(sha256sum <"$out/summary.json")
run_pbtnas 3 "$cfg" "$out"
expect "the same command on a finished run" 0 "is finished" "$out.log"
[[ "$(sha256sum <"$out/summary.json")" == "$sum_before" ]] || fail "a finished run was evaluated again"
pass "a finished run is not evaluated again"

# summary.json: the architecture by gene name, paths relative to the run folder
$PY - "$out" <<'PY' || fail "summary.json: genes or relative paths"
import json, os, sys
out = sys.argv[1]
s = json.load(open(os.path.join(out, "summary.json")))
assert "cell0" in s["genes"] and "act" in s["genes"] and len(s["genes"]) == len(s["architecture"]), s["genes"]
for path in (s["checkpoint"], s["best_ever"]["file"]):
    assert not os.path.isabs(path) and os.path.exists(os.path.join(out, path)), path
PY
pass "summary.json names the genes; its paths are relative to the run folder"

# status and inspect of the run folder; inspect of a member file names the genes
cli "$WORK/status.log" status "$out"
expect "status of a finished run" 0 "state: *finished" "$WORK/status.log"
grep -q "best: *member" "$WORK/status.log" && grep -q "stored config" "$WORK/status.log" ||
  { cat "$WORK/status.log"; fail "status lacks the best member or the config"; }
cli "$WORK/inspect-dir.log" inspect "$out"
expect "inspect of a run folder" 0 "progress: *generation 1 committed \[2/2\]" "$WORK/inspect-dir.log"
cli "$WORK/inspect-best.log" inspect "$out/best_ever.h5"
expect "inspect of best_ever.h5" 0 "architecture: cell0=" "$WORK/inspect-best.log"
grep -q "pbtnas inspect --tensors" "$WORK/inspect-best.log" || fail "inspect does not summarise the tensors by default"
cli "$WORK/inspect-all.log" inspect --tensors "$out/best_ever.h5"
expect "inspect --tensors" 0 "model\.cells\.0\.0\.weight" "$WORK/inspect-all.log"

# --- report --html to a path that cannot be written: nothing is written
cli "$WORK/report.log" report "$out" --html "$WORK/no-such-folder/r.html"
expect "report --html into a missing folder" 2 "does not exist" "$WORK/report.log"
[[ ! -e "$out/report" && ! -e "$out/report.html" ]] || fail "a failed report wrote files"
pass "a failed report writes nothing"

# --- resume: a comment and a reordering are the same config; max_epochs extends a finished run
moved="$WORK/toy-commented.yaml"
{ echo "# the same run, written otherwise"; tac "$cfg" | grep -v '^  \|^checkpoint\|^runtime'; \
  printf 'checkpoint:\n  keep: 0   # keep all\nruntime:\n  threads_per_rank: 1\n'; } >"$moved"
out_copy="$WORK/run-copy"; cp -a "$out" "$out_copy"
run_pbtnas 3 "$moved" "$out_copy"
expect "a commented, reordered config on a finished run" 0 "is finished" "$out_copy.log"
run_pbtnas 3 "$moved" "$out_copy" --set max_epochs=4
expect "a finished run whose max_epochs grew" 0 "resuming from committed generation 1" "$out_copy.log"
grep -q "config changes (run's value -> this config's): max_epochs: 2 -> 4" "$out_copy.log" ||
  { cat "$out_copy.log"; fail "the resume does not say what changed"; }
[[ "$(cat "$out_copy/checkpoints/LATEST")" == 3 ]] || fail "the extended run did not reach generation 3"
cli "$WORK/status2.log" status "$out_copy"
grep -q "^  max_epochs: 4" "$WORK/status2.log" || { cat "$WORK/status2.log"; fail "--set is not in the stored config"; }
pass "an extended run trains on; --set is recorded in the run's config"
run_pbtnas 3 "$moved" "$out_copy" --set max_epochs=4 --set seed=5 --set population_size=5
expect "other changes are refused" 2 "seed: 31173 -> 5" "$out_copy.log"
grep -q "population_size: 4 -> 5" "$out_copy.log" || { cat "$out_copy.log"; fail "the refusal does not list every key"; }
run_pbtnas 3 "$cfg" "$out_copy"
expect "max_epochs below the epochs trained" 2 "give max_epochs >= 4" "$out_copy.log"
cli "$WORK/check-out.log" check "$cfg" --out "$out_copy" --set max_epochs=6
expect "check --out of a run that the config extends" 0 "resumes after generation 3" "$WORK/check-out.log"
