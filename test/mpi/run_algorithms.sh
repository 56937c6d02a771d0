#!/usr/bin/env bash
# A full small run for each algorithm (pbtnas, mutation, random, and the mix-with-itself
# ablation) under mpirun with 3 ranks: exit 0, every generation committed, summary written,
# `pbtnas inspect` reads the final checkpoint.
source "$(dirname "$0")/lib.sh"
for variant in pbtnas mutation random self; do
  case $variant in
    self) cfg=$(make_config $variant $'mix_with_itself: true\nshrink_perturb: [1, 0]') ;;
    *) cfg=$(make_config $variant "algorithm: $variant") ;;
  esac
  out="$WORK/$variant"
  run_pbtnas 3 "$cfg" "$out"
  [[ $rc -eq 0 ]] || { cat "$out.log"; fail "$variant run exited $rc"; }
  for g in 0 1 2; do [[ -f "$out/checkpoints/gen_00000$g/index.h5" ]] || fail "$variant: generation $g not committed"; done
  [[ -f "$out/summary.json" ]] || fail "$variant: no summary.json"
  grep -q "^done: best member" "$out.log" || fail "$variant: no final summary line"
  n=$(grep -c '"generation"' "$out/metrics.jsonl")
  [[ $n -eq 12 ]] || fail "$variant: metrics.jsonl has $n rows, expected 4 members x 3 generations"
  # Utilisation: the generation line shows the workers' busy share, workers.jsonl one row per
  # worker per generation, summary.json the totals.
  grep -Eq "^gen 0 \[1/3\] .* busy [0-9]+%" "$out.log" || fail "$variant: no busy share on the generation line"
  n=$(grep -c '"busy_seconds"' "$out/workers.jsonl")
  [[ $n -eq 6 ]] || fail "$variant: workers.jsonl has $n rows, expected 2 workers x 3 generations"
  "$PY" -c "import json,sys; w=json.load(open(sys.argv[1]))['workers']; assert len(w)==2 and all(0<=x['busy_share']<=1 and x['busy_seconds']>0 for x in w), w" "$out/summary.json" \
    || fail "$variant: summary.json lacks per-worker utilisation"
  case $variant in
    random) ! grep -q " <- " "$out.log" || fail "random search must not exploit" ;;
    mutation) grep -Eq " <- [0-9]+ \((clone|weight_mutation|arch_mutation)" "$out.log" || fail "mutation run shows no mutation children" ;;
    self) grep -q "self-mix" "$out.log" || fail "mix_with_itself run shows no self-mix children" ;;
    pbtnas) grep -Eq " <- [0-9]+ \+ [0-9]+ \(mix" "$out.log" || fail "pbtnas run shows no mixed children" ;;
  esac
  "$PBTNAS" inspect "$out/checkpoints/gen_000002/index.h5" >"$out.inspect" || fail "$variant: inspect failed"
  pass "$variant"
done
