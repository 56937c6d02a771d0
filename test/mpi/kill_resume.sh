#!/usr/bin/env bash
# Workers killed with SIGKILL mid-run, then the same command resumes from the last committed
# generation and ends identical to an uninterrupted run.
source "$(dirname "$0")/lib.sh"
cfg=$(make_long_config long)
run_pbtnas 3 "$cfg" "$WORK/full"; [[ $rc -eq 0 ]] || { cat "$WORK/full.log"; fail "uninterrupted run exited $rc"; }

out="$WORK/killed"
set +e
timeout 600 mpirun -n 3 "$PBTNAS" run "$cfg" --out "$out" >"$out.log1" 2>&1 &
launcher=$!
set -e
for _ in $(seq 1 600); do  # wait until generation 1 is committed, then kill mid-generation 2
  [[ -f "$out/checkpoints/gen_000001/index.h5" ]] && break
  sleep 0.02
done
[[ -f "$out/checkpoints/gen_000001/index.h5" ]] || { cat "$out.log1"; fail "generation 1 never committed"; }
mpirun_pid=$(pgrep -P "$launcher" -x mpirun || echo "$launcher")
pkill -KILL -P "$mpirun_pid" || true   # SIGKILL every rank
wait "$launcher" || true
[[ ! -f "$out/summary.json" ]] || fail "the run finished before it was killed; the test proves nothing"

run_pbtnas 3 "$cfg" "$out"
[[ $rc -eq 0 ]] || { cat "$out.log"; fail "resumed run exited $rc"; }
grep -q "resuming from committed generation" "$out.log" || { cat "$out.log"; fail "the second run did not say it resumed"; }
fingerprint "$WORK/full" >"$WORK/a.txt"
fingerprint "$out" >"$WORK/b.txt"
diff "$WORK/a.txt" "$WORK/b.txt" || fail "resumed run differs from the uninterrupted run"
pass "killed and resumed run equals the uninterrupted one"
