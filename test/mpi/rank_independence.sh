#!/usr/bin/env bash
# The same seed gives identical fitness histories and genomes with 2 workers and with 4 workers
# (members spread differently over ranks; every draw derives from the run seed).
source "$(dirname "$0")/lib.sh"
cfg=$(make_config same)
run_pbtnas 3 "$cfg" "$WORK/w2"; [[ $rc -eq 0 ]] || { cat "$WORK/w2.log"; fail "2-worker run exited $rc"; }
run_pbtnas 5 "$cfg" "$WORK/w4"; [[ $rc -eq 0 ]] || { cat "$WORK/w4.log"; fail "4-worker run exited $rc"; }
fingerprint "$WORK/w2" >"$WORK/a.txt"
fingerprint "$WORK/w4" >"$WORK/b.txt"
grep -q " <- " "$WORK/w2.log" || fail "the run made no exchange, so the test would prove little"
diff "$WORK/a.txt" "$WORK/b.txt" || fail "results differ between 2 and 4 workers"
pass "identical results with 2 and 4 workers ($(wc -l <"$WORK/a.txt") lines compared)"

# The smoke config ends with its runtime section: add keys to it.
with_runtime() {  # with_runtime NAME 'lines under runtime:' ['top-level yaml']
  local f
  f=$(make_config "$1" "${3:-}")
  grep -q '^runtime:' "$f" || fail "with_runtime: the smoke config has no runtime section"
  sed -i "/^runtime:/a\\$2" "$f"
  echo "$f"
}

# Balanced placement (runtime.balance: measured) moves members between workers after a
# generation; with the testing hook the costs are fixed (member m costs m + 1), so members do move.
# Who computes a member must not change what it computes.
bal=$(with_runtime balanced '  balance: measured' $'testing:\n  balance_cost_by_id: true')
run_pbtnas 3 "$bal" "$WORK/bal"; [[ $rc -eq 0 ]] || { cat "$bal" "$WORK/bal.log"; fail "balanced run exited $rc"; }
grep -q "moved to balance the workers" "$WORK/bal.log" || { cat "$WORK/bal.log"; fail "no member moved, so the test would prove little"; }
fingerprint "$WORK/bal" >"$WORK/c.txt"
diff "$WORK/a.txt" "$WORK/c.txt" || fail "results differ when members move between workers"
pass "identical results when members move between workers (runtime.balance: measured)"

# Balancing by the measured training seconds runs to the end, with the same results, and
# records its moves per generation.
meas=$(with_runtime measured '  balance: measured')
run_pbtnas 3 "$meas" "$WORK/meas"; [[ $rc -eq 0 ]] || { cat "$WORK/meas.log"; fail "measured-balance run exited $rc"; }
fingerprint "$WORK/meas" >"$WORK/d.txt"
diff "$WORK/a.txt" "$WORK/d.txt" || fail "results differ with measured balancing"
grep -q '"members_moved"' "$WORK/meas/generations.jsonl" || fail "generations.jsonl does not record members_moved"
pass "balancing by measured seconds: same results, moves recorded"
