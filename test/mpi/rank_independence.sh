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
