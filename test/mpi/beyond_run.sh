#!/usr/bin/env bash
# The features beyond the paper under mpirun, each switched on in its own short search: the
# hyperparameter genes explored by the mutation algorithm, selection by [fitness, -parameters],
# and multi-frequency sub-populations. For each, rank 0 is killed right after generation 2 is
# committed (testing.crash_after_commit) and the run resumes on another rank count (3 workers
# instead of 2); it must end identical to the uninterrupted 2-worker run.
source "$(dirname "$0")/lib.sh"
long=$(make_long_config long)

hyper=$(config_with "$long" hyper 'algorithm: mutation
hyperparameters:
  lr: {min: 0.0001, max: 0.01, scale: log}
  weight_decay: {min: 0.00001, max: 0.001, scale: log}
hyperparameter_mutation: {resample_probability: 0.25, perturb_factors: [0.8, 1.25]}')
objectives=$(config_with "$long" objectives 'selection: {objectives: [fitness, -parameters]}')
multi_frequency=$(config_with "$long" multi_frequency 'population_size: 8
parents_fraction: 0.25
selection: {scheme: multi_frequency, frequencies: [1, 2], migration: true}')

for name in hyper objectives multi_frequency; do
  cfg=${!name}
  run_pbtnas 3 "$cfg" "$WORK/full_$name"
  [[ $rc -eq 0 ]] || { cat "$WORK/full_$name.log"; fail "$name: the uninterrupted run exited $rc"; }
  grep -q " <- " "$WORK/full_$name.log" || { cat "$WORK/full_$name.log"; fail "$name: the run made no child, so the test would prove little"; }
  crash_and_resume "$cfg" "$WORK/killed_$name" 3 4
  fingerprint "$WORK/full_$name" >"$WORK/a_$name.txt"
  fingerprint "$WORK/killed_$name" >"$WORK/b_$name.txt"
  diff "$WORK/a_$name.txt" "$WORK/b_$name.txt" || fail "$name: killed and resumed on 3 workers, the run differs from the uninterrupted 2-worker run"
done
# Each feature left its mark: hyperparameter genes in the best member's genes, the costs in
# metrics.jsonl and a front in summary.json.
"$PY" - "$WORK/full_hyper" <<'PYEOF' || fail "hyper: the best member has no hyper.lr / hyper.weight_decay genes"
import json, sys
genes = json.load(open(sys.argv[1] + "/summary.json"))["genes"]
assert "hyper.lr" in genes and "hyper.weight_decay" in genes, genes
PYEOF
"$PY" - "$WORK/full_objectives" <<'PYEOF' || fail "objectives: no parameters column or no Pareto front"
import json, sys
out = sys.argv[1]
rows = [json.loads(l) for l in open(out + "/metrics.jsonl") if l.strip()]
assert all("parameters" in r for r in rows), rows[0]
front = json.load(open(out + "/summary.json"))["pareto_front"]
assert len(front) >= 1, front
PYEOF
pass "hyperparameter genes, [fitness, -parameters] and multi_frequency: killed and resumed on another rank count, each run equals the uninterrupted one"
