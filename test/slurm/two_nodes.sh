#!/usr/bin/env bash
# multi_node_cpu.sbatch on the two-node cluster (cluster.sh with PBTNAS_SLURM_NODES=2: nodea and
# nodeb, each slurmd in its own UTS and mount namespace):
#   finish: 2 nodes x 2 tasks, the job COMPLETES; srun put two ranks on each node, the
#     workers-ready line names both hosts, and the results equal a plain mpirun run of 4 ranks;
#   hung worker: testing.hang_rank makes rank 3 (on nodeb) stop answering in generation 1; rank 0
#     ends the job with MPI_Abort(4) after runtime.worker_timeout, srun passes exit code 4 on to
#     the script, which requeues the job (PBTNAS_MAX_HUNG_REQUEUES=1); the second attempt resumes,
#     hangs the same way and is not requeued: the job ends FAILED with exit code 4.
export PBTNAS_SLURM_NODES=2
source "$(dirname "$0")/lib.sh"
cfg=$(make_config tiny)  # smoke_classify.yaml: population 4, 3 generations, 1 thread per rank
hung=$(make_config hung $'testing:\n  hang_rank: 3\n  hang_generation: 1')
sed -i '/^runtime:/a\  worker_timeout: 5' "$hung"
grep -qE '^  worker_timeout: 5$' "$hung" || fail "could not set runtime.worker_timeout in $hung"
mkdir -p "$WORK/runs"
two_by_two=(--nodes=2 --ntasks-per-node=2 --cpus-per-task=1 --mem-per-cpu=256M)
start=$SECONDS

submit multi_node_cpu.sbatch "--export=ALL,PBTNAS_CONFIG=$cfg,PBTNAS_BIN=$PBTNAS" "${two_by_two[@]}"
finish=$JOB
submit multi_node_cpu.sbatch "--export=ALL,PBTNAS_CONFIG=$hung,PBTNAS_BIN=$PBTNAS,PBTNAS_MAX_HUNG_REQUEUES=1" \
  "${two_by_two[@]}"
hang=$JOB

# The reference while the jobs run: plain mpirun, 4 ranks on this host.
run_pbtnas 4 "$cfg" "$WORK/full"
# shellcheck disable=SC2154  # rc: set by run_pbtnas
[[ $rc -eq 0 ]] || { cat "$WORK/full.log"; fail "the mpirun reference run exited $rc"; }

# --- finish ------------------------------------------------------------------------------------
wait_jobs 300 "$finish"
expect_completed "$finish"
run="$WORK/runs/pbtnas-cpus-$finish"
check_run "$run"
[[ "$(job_field "$finish" NodeList)" == "nodea,nodeb" ]] || fail "job $finish ran on '$(job_field "$finish" NodeList)', not nodea,nodeb"
got=$(sed -nE 's/^rank ([0-9]+) on (.*)$/\1 \2/p' "$run.out" | sort -n | paste -sd,)
[[ "$got" == "0 nodea,1 nodea,2 nodeb,3 nodeb" ]] || fail "ranks and nodes: '$got', expected two ranks on each node"
grep -q "workers ready: 3 on 2 hosts: nodea rank 1 (cpu x 1 thread), nodeb ranks 2-3 (cpu x 1 thread)" "$run.out" ||
  { grep "workers ready" "$run.out"; fail "the workers-ready line does not name both nodes"; }
fingerprint "$WORK/full" >"$WORK/a.txt"
fingerprint "$run" >"$WORK/b.txt"
diff "$WORK/a.txt" "$WORK/b.txt" || fail "the 2-node job's results differ from the mpirun run"
pass "2 nodes x 2 tasks: COMPLETED, ranks 0-1 on nodea and 2-3 on nodeb, results equal to mpirun -n 4 ($((SECONDS - start)) s)"

# --- hung worker: exit code 4 through srun, requeued once --------------------------------------
wait_jobs 300 "$hang"
log="$WORK/runs/pbtnas-cpus-$hang.out"
state=$(job_field "$hang" JobState)
code=$(job_field "$hang" ExitCode)
[[ "$state" == FAILED && "$code" == 4:0 ]] || fail "the hung job ended $state with exit code $code, expected FAILED 4:0"
[[ "$(job_field "$hang" Restarts)" == 1 ]] || fail "the hung job was requeued $(job_field "$hang" Restarts) times, expected 1"
n=$(grep -c "a worker stopped answering: rank 3 on host nodeb (members 2) sent nothing for 5 s in generation 1" "$log" || true)
[[ $n -eq 2 ]] || fail "expected the hung-worker message naming rank 3 on nodeb in both attempts, found it $n times"
grep -q "^== .* a worker stopped answering; requeueing job $hang" "$log" || fail "attempt 1 was not requeued after exit code 4"
grep -q "^== .* a worker stopped answering again; not requeued (PBTNAS_MAX_HUNG_REQUEUES)" "$log" ||
  fail "attempt 2 was requeued beyond PBTNAS_MAX_HUNG_REQUEUES"
grep -q "^resuming from committed generation 0" "$log" || fail "attempt 2 did not resume from generation 0"
[[ "$(cat "$WORK/runs/pbtnas-cpus-$hang/checkpoints/LATEST")" == 0 ]] || fail "LATEST is not generation 0"
grep -E '^(== |error: a worker)' "$log"
pass "hung worker on nodeb: MPI_Abort(4) reached the script as srun's exit code 4; requeued once, then FAILED 4:0 ($((SECONDS - start)) s)"
