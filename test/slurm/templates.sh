#!/usr/bin/env bash
# Every template in jobs/slurm/, submitted unchanged (sizes overridden on the sbatch command
# line) with the smoke config: each job COMPLETES with a summary and a final checkpoint that
# `pbtnas inspect` reads; the GPU templates really get (fake) GPUs from SLURM, one set per job
# (single node) or one GPU per rank (multi node); the seed array runs one seed per task.
source "$(dirname "$0")/lib.sh"
cfg=$(make_config tiny)  # smoke_classify.yaml: population 4, 3 generations
mkdir -p "$WORK/runs"
export_env="--export=ALL,PBTNAS_CONFIG=$cfg,PBTNAS_BIN=$PBTNAS"
small=(--ntasks=3 --cpus-per-task=1 --mem-per-cpu=256M)  # coordinator + 2 workers

start=$SECONDS
submit single_node_gpu.sbatch "$export_env" "${small[@]}" --gpus=2; gpu1=$JOB
submit multi_node_gpu.sbatch "$export_env" "${small[@]}"; gpun=$JOB
submit cpu.sbatch "$export_env" "${small[@]}"; cpu=$JOB
submit cpu_mpirun.sbatch "$export_env" "${small[@]}"; mpi=$JOB
submit seed_array.sbatch "$export_env" "${small[@]}" --array=1-2; arr=$JOB
wait_jobs 300 "${JOBS[@]}"
echo "all jobs done after $((SECONDS - start)) s"

# --- every job COMPLETED and left a finished, inspectable run -------------------------------
expect_completed "$gpu1"
check_run "$WORK/runs/pbtnas-gpu-$gpu1"
expect_completed "$gpun"
check_run "$WORK/runs/pbtnas-gpus-$gpun"
expect_completed "$cpu"
check_run "$WORK/runs/pbtnas-cpu-$cpu"
expect_completed "$mpi"
check_run "$WORK/runs/pbtnas-mpirun-$mpi"
expect_completed "$arr" 2
for seed in 1 2; do
  check_run "$WORK/runs/pbtnas-seeds-$arr/seed_$seed"
done
pass "5 templates: COMPLETED, summary.json, gen_000002/index.h5 readable by pbtnas inspect"

# --- GPUs: SLURM allocated them and set CUDA_VISIBLE_DEVICES per task ------------------------
# job_gres ID: the GRES SLURM allocated to the job (scontrol -d), e.g. gpu:2.
job_gres() { scontrol -d show job "$1" | sed -nE 's/^ *JOB_GRES=([^ ]*).*/\1/p' | head -n1; }
# rank_gpus OUTFILE: "rank DEVICES" per rank, from the lines the GPU templates print.
rank_gpus() { sed -nE 's/^rank ([0-9]+) on [^:]*: CUDA_VISIBLE_DEVICES=(.*)$/\1 \2/p' "$1" | sort -n; }

out="$WORK/runs/pbtnas-gpu-$gpu1.out"
[[ "$(job_gres "$gpu1")" == gpu:2 ]] || fail "single_node_gpu: JOB_GRES='$(job_gres "$gpu1")', expected gpu:2"
got=$(rank_gpus "$out")
[[ $(wc -l <<<"$got") -eq 3 ]] || fail "single_node_gpu: expected 3 rank lines, got: $got"
while read -r rank devs; do
  [[ "$devs" =~ ^[0-9]+,[0-9]+$ ]] || fail "single_node_gpu: rank $rank sees CUDA_VISIBLE_DEVICES='$devs', expected the job's 2 GPUs"
done <<<"$got"
[[ $(cut -d' ' -f2 <<<"$got" | sort -u | wc -l) -eq 1 ]] || fail "single_node_gpu: ranks see different GPU sets: $got"
pass "single_node_gpu: 2 GPUs allocated, every rank sees both ($(head -n1 <<<"$got" | cut -d' ' -f2))"

out="$WORK/runs/pbtnas-gpus-$gpun.out"
[[ "$(job_gres "$gpun")" == gpu:3 ]] || fail "multi_node_gpu: JOB_GRES='$(job_gres "$gpun")', expected gpu:3"
got=$(rank_gpus "$out")
[[ $(wc -l <<<"$got") -eq 3 ]] || fail "multi_node_gpu: expected 3 rank lines, got: $got"
while read -r rank devs; do
  [[ "$devs" =~ ^[0-9]+$ ]] || fail "multi_node_gpu: rank $rank sees CUDA_VISIBLE_DEVICES='$devs', expected exactly one GPU"
done <<<"$got"
[[ $(cut -d' ' -f2 <<<"$got" | sort -u | wc -l) -eq 3 ]] || fail "multi_node_gpu: ranks share GPUs: $got"
pass "multi_node_gpu: one GPU per rank ($(cut -d' ' -f2 <<<"$got" | paste -sd' '))"

# --- seed array: one config copy per task with its seed, and different searches ---------------
for seed in 1 2; do
  copy="$WORK/runs/pbtnas-seeds-$arr/seed_$seed.yaml"
  [[ $(grep -cE '^seed:' "$copy") -eq 1 ]] || fail "$copy: expected one top-level seed line"
  grep -qE "^seed: $seed( |$)" "$copy" || fail "$copy: seed is not $seed: $(grep -E '^seed:' "$copy")"
  diff <(grep -vE '^seed:' "$cfg") <(grep -vE '^seed:' "$copy") >/dev/null || fail "$copy differs from the config in more than the seed"
  "$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s["seed"]==int(sys.argv[2]) else 1)' \
    "$WORK/runs/pbtnas-seeds-$arr/seed_$seed/summary.json" "$seed" || fail "summary.json of seed $seed names another seed"
done
fingerprint "$WORK/runs/pbtnas-seeds-$arr/seed_1" >"$WORK/s1.txt"
fingerprint "$WORK/runs/pbtnas-seeds-$arr/seed_2" >"$WORK/s2.txt"
! diff -q "$WORK/s1.txt" "$WORK/s2.txt" >/dev/null || fail "seeds 1 and 2 gave identical searches"
pass "seed_array: tasks 1 and 2 ran configs with seed 1 and 2 into their own run directories"
