#!/usr/bin/env bash
# Stop requests by SIGINT, SIGTERM and SIGUSR1, raised at exact points by testing.raise_signal
# (the process raises the real signal; its handler takes it as if it came from outside). Each
# first signal makes the run commit the generation in progress and exit 3, every rank through
# MPI_Finalize, with a 0-based stop message that says how to resume and no Open MPI abort box
# (runs go through jobs/launch_local.sh, i.e. mpirun --quiet). A second signal abandons the
# generation in progress at once (exit 3; the generation before it stays the newest commit).
# Every stopped run, resumed by the same command, ends identical to an uninterrupted run.
source "$(dirname "$0")/lib.sh"
cfg=$(make_long_config long)   # 5 generations
launch "$cfg" "$WORK/full"; [[ $rc -eq 0 ]] || { cat "$WORK/full.log"; fail "uninterrupted run exited $rc"; }
fingerprint "$WORK/full" >"$WORK/full.txt"

# stopped NAME HOOK LATEST LINE...: a run with `testing: {raise_signal: HOOK}` exits 3 with
# generation LATEST as its newest commit and prints each LINE (fixed strings); the same command
# then resumes it to the uninterrupted run's result.
stopped() {
  local name=$1 hook=$2 want=$3
  shift 3
  local c="$WORK/$name.yaml" out="$WORK/$name" line
  { cat "$cfg"; printf 'testing:\n  raise_signal: %s\n' "$hook"; } >"$c"
  launch "$c" "$out"
  [[ $rc -eq 3 ]] || { cat "$out.log"; fail "$name: expected exit code 3, got $rc"; }
  grep -qF "testing.raise_signal: raising" "$out.log" || { cat "$out.log"; fail "$name: the hook did not fire"; }
  for line in "$@"; do grep -qF -- "$line" "$out.log" || { cat "$out.log"; fail "$name: no line '$line'"; }; done
  no_abort_boxes "$out.log" "$name"
  [[ "$(latest "$out")" == "$want" ]] || { cat "$out.log"; fail "$name: newest commit $(latest "$out"), expected $want"; }
  [[ ! -e "$out/checkpoints/gen_$(printf %06d $((want + 1)))/index.h5" ]] || fail "$name: a later generation was committed"
  [[ ! -f "$out/summary.json" ]] || fail "$name: the run finished although it was asked to stop"
  launch "$c" "$out"   # the same command; the hook's generation lies behind the resumed run
  [[ $rc -eq 0 ]] || { cat "$out.log"; fail "$name: resumed run exited $rc"; }
  grep -qF "resuming from committed generation $want [$((want + 1))/5]" "$out.log" || { cat "$out.log"; fail "$name: no resume"; }
  fingerprint "$out" | diff "$WORK/full.txt" - || fail "$name: stopped and resumed run differs from the uninterrupted run"
  pass "$name: exit 3 after committing generation $want, no abort box, resumed to the same result"
}

first="the run stops with exit code 3 once the generation in progress is committed"
stopped sigint_during_training '{signal: INT, generation: 1, when: during_training}' 1 \
  "pbtnas: SIGINT: stop requested: $first" \
  "stop requested: generation 1 [2/5] is committed; exiting with code 3. To resume, run the same command again"
stopped sigterm_after_commit '{signal: TERM, generation: 2, when: after_commit}' 2 \
  "pbtnas: SIGTERM: stop requested: $first" \
  "stop requested: generation 2 [3/5] is committed; exiting with code 3. To resume, run the same command again"
# As mpirun forwards SIGUSR1: every rank gets it.
stopped sigusr1_every_rank '{signal: USR1, generation: 1, when: during_training, rank: -1}' 1 \
  "pbtnas: SIGUSR1: stop requested: $first" \
  "stop requested: generation 1 [2/5] is committed; exiting with code 3"
# Two signals in a row on every rank while generation 2 trains: abandoned, generation 1 stays.
stopped second_sigint_abandons '{signal: INT, generation: 2, when: during_training, rank: -1, count: 2}' 1 \
  "pbtnas: SIGINT: stop requested: $first" \
  "pbtnas: SIGINT: a second stop request: abandoning the generation in progress; the committed generations are kept. Exit code 3; to resume, run the same command again"
