#!/usr/bin/env bash
# Preemption on the two-node cluster (cluster.sh with PBTNAS_SLURM_NODES=2): a
# multi_node_cpu.sbatch job on 2 nodes x 2 tasks is preempted by a job in the high-priority
# partition that needs both nodes. SLURM sends the job's --signal first (preempt_send_user_signal);
# srun relays it to the ranks on both nodes, pbtnas commits the generation in progress and exits
# 3, the script requeues the job, and the requeued job resumes on both nodes. The job ends
# COMPLETED after 2 attempts, with the same fitness histories and genomes as an uninterrupted run
# of the same config with 4 ranks.
export PBTNAS_SLURM_NODES=2
source "$(dirname "$0")/lib.sh"
# 10 generations of one to two seconds each on 2 cores, so that the job is still running when the
# preempting job arrives.
cfg=$(make_config long $'max_epochs: 10')
sed -i -E 's/^( +samples_per_epoch:).*/\1 4096/' "$cfg"
grep -qE '^ +samples_per_epoch: 4096$' "$cfg" || fail "could not set samples_per_epoch in $cfg"
mkdir -p "$WORK/runs"
start=$SECONDS

submit multi_node_cpu.sbatch "--export=ALL,PBTNAS_CONFIG=$cfg,PBTNAS_BIN=$PBTNAS" \
  --nodes=2 --ntasks-per-node=2 --cpus-per-task=1 --mem-per-cpu=256M
job=$JOB
run="$WORK/runs/pbtnas-cpus-$job"
log="$run.out"

# count PATTERN: lines of the job's output matching PATTERN.
count() { grep -cE "$1" "$log" 2>/dev/null || true; }
restarts() { job_field "$job" Restarts; }
restarted() { [[ "$(restarts)" == "$1" ]]; }

# --- attempt 1: preempted once generation 1 is committed ----------------------------------------
wait_for 120 "generation 1 committed" test -f "$run/checkpoints/gen_000001/index.h5"
[[ "$(job_field "$job" NodeList)" == "nodea,nodeb" ]] || fail "job $job runs on '$(job_field "$job" NodeList)', not nodea,nodeb"
JOB=$(cd "$WORK" && sbatch --parsable --partition=high --nodes=2 --exclusive --job-name=urgent \
  --output="$WORK/runs/urgent-%j.out" --wrap "srun hostname -s") || fail "sbatch urgent job failed"
JOBS+=("$JOB")
urgent=$JOB
wait_for 90 "the job to requeue itself after preemption" restarted 1
[[ $(count '^stop requested: generation') -eq 1 ]] ||
  fail "attempt 1 was not stopped by the preemption signal (it finished, or was killed before it committed)"
[[ $(count '^== .* checkpointed; requeueing job') -eq 1 ]] || fail "attempt 1 did not requeue itself"
pass "preemption by a 2-node job in partition 'high': USR1 relayed to both nodes, generation committed, exit 3, job requeued ($((SECONDS - start)) s)"

# The uninterrupted reference meanwhile, with plain mpirun and the same rank count.
run_pbtnas 4 "$cfg" "$WORK/full"
# shellcheck disable=SC2154  # rc: set by run_pbtnas
[[ $rc -eq 0 ]] || { cat "$WORK/full.log"; fail "the uninterrupted reference run exited $rc"; }

# --- attempt 2 finishes -------------------------------------------------------------------------
wait_jobs 240 "$job" "$urgent"
expect_completed "$job"
expect_completed "$urgent"
[[ "$(sort "$WORK/runs/urgent-$urgent.out" | paste -sd,)" == "nodea,nodeb" ]] ||
  fail "the urgent job did not run on both nodes: $(paste -sd, "$WORK/runs/urgent-$urgent.out")"
[[ "$(restarts)" == 1 ]] || fail "expected 1 restart, got $(restarts)"
check_run "$run" gen_000009
[[ $(count '^== .* attempt 2 on nodea,nodeb') -eq 1 ]] || fail "attempt 2 missing from $log (or not on both nodes)"
[[ $(count '^resuming from committed generation') -eq 1 ]] || fail "attempt 2 did not resume"
[[ $(count '^== .* finished: ') -eq 1 ]] || fail "no 'finished' line"
[[ $(count '^rank [0-9]+ on nodeb$') -eq 4 ]] || fail "expected two ranks on nodeb in each attempt"

fingerprint "$WORK/full" >"$WORK/a.txt"
fingerprint "$run" >"$WORK/b.txt"
diff "$WORK/a.txt" "$WORK/b.txt" || fail "the preempted job's results differ from the uninterrupted run"
grep -E '^(== |stop requested|resuming from)' "$log"
pass "2 nodes: preempted, requeued and resumed: metrics, genomes and fitness histories equal the uninterrupted run ($((SECONDS - start)) s)"
