#!/usr/bin/env bash
# Forking a run by hand (docs/slurm.md): a committed generation directory (plus metrics.jsonl)
# copied into a new, empty run directory resumes there, with another rank count, and ends
# identical to the original run; the original is left untouched. No cluster needed.
source "$(dirname "$0")/../mpi/lib.sh"
cfg=$(make_config fork $'max_epochs: 4')
run_pbtnas 3 "$cfg" "$WORK/orig"
[[ $rc -eq 0 ]] || { cat "$WORK/orig.log"; fail "original run exited $rc"; }
before=$(cd "$WORK/orig" && find . -type f -exec md5sum {} + | sort)

fork="$WORK/fork"
mkdir -p "$fork/checkpoints"
cp -r "$WORK/orig/checkpoints/gen_000001" "$fork/checkpoints/"
cp "$WORK/orig/metrics.jsonl" "$fork/"   # optional: keeps the history; later rows are dropped
run_pbtnas 2 "$cfg" "$fork"
[[ $rc -eq 0 ]] || { cat "$fork.log"; fail "forked run exited $rc"; }
grep -qF "resuming from committed generation 1 [2/4]" "$fork.log" || { cat "$fork.log"; fail "the fork did not resume from generation 2"; }
fingerprint "$WORK/orig" >"$WORK/a.txt"
fingerprint "$fork" >"$WORK/b.txt"
diff "$WORK/a.txt" "$WORK/b.txt" || fail "the fork differs from the original run"
after=$(cd "$WORK/orig" && find . -type f -exec md5sum {} + | sort)
[[ "$before" == "$after" ]] || fail "the original run directory changed"

# A fork with another config is refused (the run directory pins its config).
other=$(make_config other $'seed: 12345')
fork2="$WORK/fork2"
mkdir -p "$fork2/checkpoints"
cp -r "$WORK/orig/checkpoints/gen_000001" "$fork2/checkpoints/"
run_pbtnas 3 "$other" "$fork2"
[[ $rc -eq 2 ]] || { cat "$fork2.log"; fail "a fork with another config exited $rc, expected 2"; }
grep -q "holds a run made with another config" "$fork2.log" || { cat "$fork2.log"; fail "no message about the config"; }
pass "a copied generation directory forks the run: resumes with 1 worker instead of 2, same result; another config is refused"
