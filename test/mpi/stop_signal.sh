#!/usr/bin/env bash
# SIGUSR1 (the SLURM warning signal) mid-run: the run finishes the generation in progress,
# commits it, exits 3; running the same command again resumes and ends identical to an
# uninterrupted run.
source "$(dirname "$0")/lib.sh"
cfg=$(make_long_config long)
run_pbtnas 3 "$cfg" "$WORK/full"; [[ $rc -eq 0 ]] || { cat "$WORK/full.log"; fail "uninterrupted run exited $rc"; }

out="$WORK/stopped"
set +e
mpirun -n 3 "$PBTNAS" run "$cfg" --out "$out" >"$out.log1" 2>&1 &
launcher=$!
set -e
for _ in $(seq 1 600); do
  [[ -f "$out/checkpoints/gen_000000/index.h5" ]] && break
  sleep 0.05
done
kill -USR1 "$launcher"   # mpirun forwards SIGUSR1 to every rank
set +e; wait "$launcher"; rc=$?; set -e
[[ $rc -eq 3 ]] || { cat "$out.log1"; fail "expected exit code 3 after SIGUSR1, got $rc"; }
grep -q "stop requested" "$out.log1" || { cat "$out.log1"; fail "no stop message"; }
[[ ! -f "$out/summary.json" ]] || fail "the run finished although it was asked to stop"

run_pbtnas 3 "$cfg" "$out"
[[ $rc -eq 0 ]] || { cat "$out.log"; fail "resumed run exited $rc"; }
grep -q "resuming from committed generation" "$out.log" || fail "the second run did not resume"
fingerprint "$WORK/full" >"$WORK/a.txt"
fingerprint "$out" >"$WORK/b.txt"
diff "$WORK/a.txt" "$WORK/b.txt" || fail "stopped-and-resumed run differs from the uninterrupted run"
pass "SIGUSR1: committed, exited 3, resumed to the same result"
