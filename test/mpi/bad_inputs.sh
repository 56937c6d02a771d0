#!/usr/bin/env bash
# Bad input gets a clear error, a non-zero exit, and leaves good checkpoints untouched.
source "$(dirname "$0")/lib.sh"
expect_error() {  # expect_error WHAT PATTERN
  [[ $rc -ne 0 ]] || { cat "$out.log"; fail "$1: exit code 0"; }
  grep -q -- "$2" "$out.log" || { cat "$out.log"; fail "$1: message does not say '$2'"; }
  pass "$1"
}
good=$(make_config good)

out="$WORK/badkey"; cfg=$(make_config badkey $'populaton_size: 6'); run_pbtnas 3 "$cfg" "$out"
expect_error "unknown config key" "'populaton_size' is not a known key"

out="$WORK/badval"; cfg=$(make_config badval $'swap_probability: 2'); run_pbtnas 3 "$cfg" "$out"
expect_error "out-of-range value" "swap_probability"

out="$WORK/nofile"; run_pbtnas 3 "$WORK/missing.yaml" "$out"
expect_error "missing config" "cannot be read"

out="$WORK/ranks1"; run_pbtnas 1 "$good" "$out"
expect_error "one rank" "at least 2 MPI ranks"

out="$WORK/ranks6"; run_pbtnas 6 "$good" "$out"
expect_error "more ranks than members + 1" "at most population_size + 1"

out="$WORK/nodata"; cfg="$WORK/nodata.yaml"
sed "s|^  data:|  data:\n    dir: $WORK/no-such-dataset|" "$SRC/jobs/configs/smoke_classify.yaml" >"$cfg"
run_pbtnas 3 "$cfg" "$out"
expect_error "missing dataset" "no-such-dataset"

# A finished run, then its newest checkpoint is truncated / corrupted: resuming must refuse,
# name the file, and change nothing on disk.
out="$WORK/ckpt"; run_pbtnas 3 "$good" "$out"; [[ $rc -eq 0 ]] || { cat "$out.log"; fail "setup run failed"; }
victim="$out/checkpoints/gen_000002/shard_001.h5"  # worker rank 1's members (index format 3)
for damage in truncate corrupt; do
  cp -a "$out" "$WORK/pristine"
  if [[ $damage == truncate ]]; then truncate -s 1000 "$victim"; else printf '\x5a' | dd of="$victim" bs=1 seek=3000 conv=notrunc status=none; fi
  before=$(cd "$out" && find checkpoints -type f -exec sha256sum {} + | sort)
  run_pbtnas 3 "$good" "$out"
  expect_error "$damage checkpoint" "shard_001.h5"
  after=$(cd "$out" && find checkpoints -type f -exec sha256sum {} + | sort)
  [[ "$before" == "$after" ]] || fail "$damage checkpoint: files changed on a refused resume"
  rm -rf "$out"; mv "$WORK/pristine" "$out"
done
pass "damaged checkpoints refused without touching the run folder"

out="$WORK/ckpt"; "$PBTNAS" inspect "$WORK/good.yaml" >"$out.log" 2>&1 && rc=0 || rc=$?
expect_error "inspect on a non-checkpoint" "pbtnas inspect"
