# shellcheck shell=bash
# Shared helpers for the SLURM end-to-end tests (sourced). Usage in a test:
#   source lib.sh BINARY SOURCE_DIR
# The tests use the throwaway cluster of cluster.sh at $PBTNAS_SLURM_BASE (default
# ${TMPDIR:-/tmp}/pbtnas-slurm-cluster, or ...-2nodes for the two-node tests; ctest brings it up
# as a fixture). A script run alone
# brings one up itself and takes it down when it ends.
# From ../mpi/lib.sh: PBTNAS, SRC, WORK, fail, pass, make_config, fingerprint, run_pbtnas.
SLURM_TEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../mpi/lib.sh
source "$SLURM_TEST_DIR/../mpi/lib.sh"
PBTNAS=$(realpath "$PBTNAS")  # jobs run in $WORK
SRC=$(realpath "$SRC")
CLUSTER="$SLURM_TEST_DIR/cluster.sh"
TEMPLATES="$SRC/jobs/slurm"
# PBTNAS_SLURM_NODES=2 (set by a test before sourcing): the two-node cluster (cluster.sh), whose
# default folder differs from the one-node cluster's.
export PBTNAS_SLURM_NODES=${PBTNAS_SLURM_NODES:-1}
if ((PBTNAS_SLURM_NODES == 1)); then
  export PBTNAS_SLURM_BASE=${PBTNAS_SLURM_BASE:-${TMPDIR:-/tmp}/pbtnas-slurm-cluster}
else
  export PBTNAS_SLURM_BASE=${PBTNAS_SLURM_BASE:-${TMPDIR:-/tmp}/pbtnas-slurm-${PBTNAS_SLURM_NODES}nodes}
fi
export SLURM_CONF="$PBTNAS_SLURM_BASE/etc/slurm.conf"
# Jobs run in $WORK (their submit directory); slurmd runs them as this user.
chmod 755 "$WORK"

JOBS=()          # every job this test submitted: cancelled when the test ends
OWN_CLUSTER=0    # 1: this script brought the cluster up and takes it down

dump_diagnostics() {
  local j f
  echo "---------- diagnostics"
  for j in "${JOBS[@]}"; do
    echo "===== scontrol show job $j"
    scontrol show job "$j" 2>&1 | head -n 40 || true
  done
  for f in "$WORK"/runs/*.out "$WORK"/*.log; do
    [[ -f "$f" ]] || continue
    echo "===== $f"
    cat "$f"
  done
  bash "$CLUSTER" logs "$PBTNAS_SLURM_BASE" || true
}

slurm_cleanup() {
  local rc=$?
  set +e
  ((rc == 0)) || dump_diagnostics >&2
  ((${#JOBS[@]} == 0)) || scancel "${JOBS[@]}" 2>/dev/null
  ((OWN_CLUSTER == 0)) || bash "$CLUSTER" down "$PBTNAS_SLURM_BASE"
  rm -rf "$WORK"
  exit "$rc"
}
trap slurm_cleanup EXIT

if ! { [[ -f "$SLURM_CONF" ]] && timeout 10 scontrol ping >/dev/null 2>&1; }; then
  bash "$CLUSTER" up "$PBTNAS_SLURM_BASE" >/dev/null
  OWN_CLUSTER=1
fi
# The cluster has the nodes this test asked for.
slurm_nodes=$(sinfo -h -N -o %N | sort -u | paste -sd,)
[[ $(tr , '\n' <<<"$slurm_nodes" | grep -c .) -eq $PBTNAS_SLURM_NODES ]] ||
  fail "the cluster at $PBTNAS_SLURM_BASE has the nodes '$slurm_nodes', not $PBTNAS_SLURM_NODES (PBTNAS_SLURM_NODES)"

# submit TEMPLATE [sbatch options...]: submits from $WORK; the job id goes to $JOB (and JOBS).
submit() {
  local template=$1
  shift
  JOB=$(cd "$WORK" && sbatch --parsable "$@" "$TEMPLATES/$template") || fail "sbatch $template failed"
  JOB=${JOB%%;*}
  JOBS+=("$JOB")
}

# wait_jobs SECONDS ID...: until none of the jobs (array tasks, requeued attempts included) is
# pending, running or completing; fails after SECONDS.
wait_jobs() {
  local limit=$1 ids q
  shift
  ids=$(IFS=,; echo "$*")
  local end=$((SECONDS + limit))
  while ((SECONDS < end)); do
    if q=$(squeue -h -o %i -j "$ids" 2>/dev/null) && [[ -z "$q" ]]; then return 0; fi
    sleep 0.5
  done
  fail "jobs $ids still queued or running after ${limit} s"
}

# job_states ID: the JobState of every record of the job (one per array task), one a line.
job_states() {
  scontrol -o show job "$1" | grep -oE 'JobState=[A-Z_]+' | cut -d= -f2
}

# job_field ID FIELD: the value of FIELD= in `scontrol show job` (first record).
job_field() {
  scontrol -o show job "$1" | head -n1 | grep -oE "(^| )$2=[^ ]*" | head -n1 | cut -d= -f2-
}

# expect_completed ID [RECORDS]: every record COMPLETED (and RECORDS of them, for arrays).
expect_completed() {
  local id=$1 want=${2:-1} states n
  states=$(job_states "$id")
  n=$(grep -c . <<<"$states" || true)
  [[ "$n" -eq "$want" ]] || fail "job $id: expected $want job record(s), got $n: $states"
  if grep -qv '^COMPLETED$' <<<"$states"; then fail "job $id: state(s) $(paste -sd' ' <<<"$states"), expected COMPLETED"; fi
}

# check_run OUT: a finished run: summary.json, the final checkpoint, readable by inspect.
check_run() {
  local out=$1 last=${2:-gen_000002}
  [[ -f "$out/summary.json" ]] || fail "$out/summary.json missing"
  [[ -f "$out/checkpoints/$last/index.h5" ]] || fail "$out/checkpoints/$last/index.h5 missing"
  "$PBTNAS" inspect "$out/checkpoints/$last/index.h5" >"$out.inspect.txt" 2>&1 ||
    { cat "$out.inspect.txt"; fail "pbtnas inspect $out/checkpoints/$last/index.h5 failed"; }
}

# wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds; fails after SECONDS.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local end=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS < end)) || fail "timed out after ${limit} s waiting for $what"
    sleep 0.2
  done
}
