#!/usr/bin/env bash
# Live progress and the final lines, under mpirun with 3 ranks (4 members, 5 generations): with
# testing.progress_every_result rank 0 shows the progress after each member's result but the
# generation's last, so 3 times per generation whatever the speed of the machine. Redrawn, each
# is a redraw of the line; with PBTNAS_PROGRESS=lines the first of each generation is a plain line
# (the rest within 30 s of it are left out); with progress_seconds 0 none at all; generation
# numbers count from 0 and the final line speaks the task's words.
source "$(dirname "$0")/lib.sh"
long=$(make_long_config long)
with_progress() {  # with_progress NAME SECONDS -> config path
  local f="$WORK/$1.yaml"
  sed -e "s/^  threads_per_rank: 1/  threads_per_rank: 1\n  progress_seconds: $2/" "$long" >"$f"
  grep -q "progress_seconds: $2" "$f" || fail "with_progress: the smoke config has no runtime section"
  printf 'testing:\n  progress_every_result: true\n' >>"$f"
  echo "$f"
}

export PBTNAS_PROGRESS=redraw
run_pbtnas 3 "$(with_progress redraw 0.05)" "$WORK/redraw"
[[ $rc -eq 0 ]] || { cat "$WORK/redraw.log"; fail "the run with progress exited $rc"; }
# A redrawn line starts with carriage return + erase-line and ends without a newline: 3 per
# generation (after 1, 2 and 3 of the 4 results).
n=$(grep -o $'\r\033\\[K  gen [0-9] \\[[0-9]/5\\] training: [0-9]/4 members done' "$WORK/redraw.log" | wc -l)
[[ $n -eq 15 ]] || { cat -v "$WORK/redraw.log"; fail "expected 15 redrawn progress lines (3 per generation), got $n"; }
for g in 0 1 2 3 4; do
  for k in 1 2 3; do
    grep -q $'\r\033\\[K  gen '"$g \\[$((g + 1))/5\\] training: $k/4 members done" "$WORK/redraw.log" \
      || { cat -v "$WORK/redraw.log"; fail "no redrawn line for generation $g after $k result(s)"; }
  done
done
grep -Eq 'training: [0-9]/4 members done(, [0-9] running)?, [0-9]+%  elapsed [0-9hms]+  ETA [0-9hms]+ \(run [0-9hms]+\)' "$WORK/redraw.log" \
  || { cat -v "$WORK/redraw.log"; fail "the progress line has no percentage and ETA"; }
pass "redrawn progress line with percentage and ETA"

export PBTNAS_PROGRESS=lines
run_pbtnas 3 "$(with_progress lines 0.05)" "$WORK/lines"
[[ $rc -eq 0 ]] || { cat "$WORK/lines.log"; fail "the run with plain progress lines exited $rc"; }
! grep -q $'\r' "$WORK/lines.log" || fail "plain progress mode wrote carriage returns"
# The first of each generation's 3 is printed (a new generation); the others only 30 s after it.
for g in 0 1 2 3 4; do
  grep -q "^  gen $g \[$((g + 1))/5\] training: 1/4 members done" "$WORK/lines.log" \
    || { cat "$WORK/lines.log"; fail "no plain progress line opening generation $g"; }
done
n=$(grep -c '^  gen [0-9] \[[0-9]/5\] training:' "$WORK/lines.log" || true)
[[ $n -ge 5 && $n -le 15 ]] || { cat "$WORK/lines.log"; fail "expected 5-15 plain progress lines, got $n"; }
grep -q '^gen 4 \[5/5\]  epoch 5' "$WORK/lines.log" || { cat -v "$WORK/lines.log"; fail "generations are not numbered from 0 with the step count"; }
grep -Eq '^best ever: member [0-3] of generation [0-4] ' "$WORK/lines.log" || fail "the best-ever line does not use the 0-based generation"
best_gen=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['best_ever']['generation'])" "$WORK/lines/summary.json")
grep -q "^best ever: member [0-3] of generation $best_gen " "$WORK/lines.log" || fail "screen and summary.json disagree on the best-ever generation"
grep -Eq '^done: best member [0-3]  validation accuracy 0\.[0-9]+  test accuracy 0\.[0-9]+  parameters [0-9]+$' "$WORK/lines.log" \
  || { cat "$WORK/lines.log"; fail "the final line does not speak of accuracies"; }
"$PY" -c "import json,sys; s=json.load(open(sys.argv[1]))['scores']; assert set(s)=={'validation accuracy','test accuracy'}, s" "$WORK/lines/summary.json" \
  || fail "summary.json has no task-worded scores"
pass "plain progress lines, rate-limited; 0-based generations; task-worded final line"

export PBTNAS_PROGRESS=redraw
run_pbtnas 3 "$(with_progress off 0)" "$WORK/off"
[[ $rc -eq 0 ]] || { cat "$WORK/off.log"; fail "the run without progress exited $rc"; }
! grep -q 'training:' "$WORK/off.log" || fail "progress_seconds 0 still shows progress"
# Progress notes change nothing of the search itself.
diff <(fingerprint "$WORK/redraw") <(fingerprint "$WORK/off") >/dev/null || fail "progress notes changed the results"
pass "progress off: no progress lines, identical results"
