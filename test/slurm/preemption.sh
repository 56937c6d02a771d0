#!/usr/bin/env bash
# A CPU-template job is stopped twice and requeues itself both times: first by the warning
# signal sent by hand (`scancel --signal=USR1 --batch`, what --signal=B:USR1@T does before the
# time limit), then by a real preemption (a job in the high-priority partition needs the node;
# SLURM sends the job's --signal first: preempt_send_user_signal). Each time pbtnas commits the
# generation in progress and exits 3, the script runs `scontrol requeue`, and the requeued job
# resumes. The job ends COMPLETED after 3 attempts, all in one appended output file, with the
# same fitness histories and genomes as an uninterrupted run of the same config.
source "$(dirname "$0")/lib.sh"
# 10 generations of about a second each on 2 cores (8x the smoke config's samples per epoch),
# so that each attempt is still running when its signal arrives.
cfg=$(make_config long $'max_epochs: 10')
sed -i -E 's/^( +samples_per_epoch:).*/\1 4096/' "$cfg"
grep -qE '^ +samples_per_epoch: 4096$' "$cfg" || fail "could not set samples_per_epoch in $cfg"
mkdir -p "$WORK/runs"
start=$SECONDS

# The uninterrupted reference, with plain mpirun and the same rank count.
run_pbtnas 3 "$cfg" "$WORK/full"
# shellcheck disable=SC2154  # rc: set by run_pbtnas
[[ $rc -eq 0 ]] || { cat "$WORK/full.log"; fail "the uninterrupted reference run exited $rc"; }
grep -E '^gen 0 \[1/' "$WORK/full.log" || true
pass "uninterrupted reference run ($((SECONDS - start)) s)"

submit cpu.sbatch "--export=ALL,PBTNAS_CONFIG=$cfg,PBTNAS_BIN=$PBTNAS" \
  --ntasks=3 --cpus-per-task=1 --mem-per-cpu=256M
job=$JOB
run="$WORK/runs/pbtnas-cpu-$job"
log="$run.out"

# count PATTERN: lines of the job's output matching PATTERN.
count() { grep -cE "$1" "$log" 2>/dev/null || true; }
restarts() { job_field "$job" Restarts; }
restarted() { [[ "$(restarts)" == "$1" ]]; }
# resumed_running N: attempt N is RUNNING and its ranks are ready.
resumed_running() { [[ $(count '^workers ready') -ge $1 && "$(job_field "$job" JobState)" == RUNNING ]]; }

# --- attempt 1: the warning signal by hand, once generation 1 is committed --------------------
wait_for 120 "generation 1 committed" test -f "$run/checkpoints/gen_000001/index.h5"
scancel --signal=USR1 --batch "$job"
wait_for 60 "the job to requeue itself after USR1" restarted 1
[[ $(count '^stop requested: generation') -eq 1 ]] || fail "attempt 1 did not stop after a committed generation"
[[ $(count '^== .* checkpointed; requeueing job') -eq 1 ]] || fail "attempt 1 did not requeue itself"
pass "USR1 by scancel: generation committed, exit 3, job requeued ($((SECONDS - start)) s)"

# --- attempt 2: preempted by a job in the high-priority partition -----------------------------
# Once attempt 2 has resumed (every rank has installed its signal handler; the ranks print
# "workers ready" after that), submit a job that needs the whole node.
wait_for 90 "attempt 2 to resume" resumed_running 2
submit_urgent() {
  JOB=$(cd "$WORK" && sbatch --parsable --partition=high --exclusive --job-name=urgent \
    --output="$WORK/runs/urgent-%j.out" --wrap "echo urgent job ran on \$(hostname -s)") || fail "sbatch urgent job failed"
  JOBS+=("$JOB")
}
submit_urgent
urgent=$JOB
wait_for 90 "the job to requeue itself after preemption" restarted 2
[[ $(count '^stop requested: generation') -eq 2 ]] ||
  fail "attempt 2 was not stopped by the preemption signal (it finished, or was killed before it committed)"
pass "preemption by partition 'high': USR1 sent, generation committed, exit 3, job requeued ($((SECONDS - start)) s)"

# --- attempt 3 finishes -----------------------------------------------------------------------
wait_jobs 180 "$job" "$urgent"
expect_completed "$job"
expect_completed "$urgent"
[[ "$(restarts)" == 2 ]] || fail "expected 2 restarts, got $(restarts)"
check_run "$run" gen_000009
for n in 1 2 3; do
  [[ $(count "^== .* attempt $n on ") -eq 1 ]] || fail "attempt $n missing from $log: the output was not appended"
done
[[ $(count '^resuming from committed generation') -eq 2 ]] || fail "attempts 2 and 3 did not both resume"
[[ $(count '^== .* finished: ') -eq 1 ]] || fail "no 'finished' line"
pass "job COMPLETED after 3 attempts, all in one appended output file ($((SECONDS - start)) s)"

fingerprint "$WORK/full" >"$WORK/a.txt"
fingerprint "$run" >"$WORK/b.txt"
diff "$WORK/a.txt" "$WORK/b.txt" || fail "the preempted job's results differ from the uninterrupted run"
grep -E '^(== |stop requested|resuming from)' "$log"
pass "preempted and requeued twice: metrics, genomes and fitness histories equal the uninterrupted run ($((SECONDS - start)) s)"
