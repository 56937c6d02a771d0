#!/usr/bin/env bash
# A throwaway single-node SLURM cluster for the `slurm` tests: munged, slurmctld and slurmd
# started by hand (no systemd), every file under one temporary folder, nothing installed.
#
#   bash test/slurm/cluster.sh up   [BASE]   start it; prints BASE
#   bash test/slurm/cluster.sh down [BASE]   stop what `up` started, remove BASE
#   bash test/slurm/cluster.sh env  [BASE]   print `export SLURM_CONF=...` for a shell
#   bash test/slurm/cluster.sh logs [BASE]   print the daemons' logs
# BASE: $PBTNAS_SLURM_BASE, else ${TMPDIR:-/tmp}/pbtnas-slurm-cluster (what ctest uses), or
# ${TMPDIR:-/tmp}/pbtnas-slurm-Nnodes with PBTNAS_SLURM_NODES=N > 1. `up` on a BASE that holds a
# leftover cluster of this script takes that one down first.
#
# Needs root and the Debian packages munge slurmctld slurmd slurm-client
# slurm-wlm-basic-plugins (jobs/setup.sh installs them).
#
# The cluster: one node named after this host at 127.0.0.1, its memory from `slurmd -C` and
# its CPUs too, raised to PBTNAS_SLURM_CPUS (default 8) so that a coordinator and a few workers
# fit on a 2-core machine (ranks then share cores, as in the MPI tests; hence no CPU binding:
# TaskPlugin=task/none); PBTNAS_SLURM_GPUS (default 4) fake GPUs: character devices cloned
# from /dev/null, enough for SLURM to schedule --gpus* and set CUDA_VISIBLE_DEVICES.
# Partitions: `low` (default, priority tier 1, PreemptMode=REQUEUE, GraceTime 60 s) and `high`
# (priority tier 10): a job in `high` that needs the node preempts the `low` job, which first
# gets its --signal (preempt_send_user_signal). Speed-ups: a requeued job restarts after ~13 s
# instead of >= 120 s (cred_expire=10), the scheduler runs every 5 s, KillWait=10.
#
# Several nodes (PBTNAS_SLURM_NODES=N, 2 <= N <= 8; docs/slurm.md, "Multiple nodes"): nodes
# nodea, nodeb, ... at 127.0.0.1, each with its own slurmd on its own port (16818, 16819, ...),
# started in its own UTS namespace (the node's name as host name, which its jobs see too) and
# mount namespace, where the node's own folder BASE/tmp.NODE is bound on the common TmpFS path
# BASE/nodetmp: PMIx creates its per-step folders under TmpFS, and nodes sharing one collide
# ("File exists") at every step's launch. Each node has PBTNAS_SLURM_CPUS CPUs and
# PBTNAS_SLURM_GPUS fake GPUs of its own; the partitions span all nodes.
#
# Other daemons: this munged has its own key, socket and pid file, and slurmctld/slurmd use
# their own config, ports (16817/16818), state folders and pid files, so a system munged is
# neither used nor touched. `up` refuses to start while any slurmctld or slurmd runs on the
# machine (a second slurmd would claim the same node name), and `down` stops only the
# processes named by the pid files `up` wrote, after checking /proc/PID/comm.
set -euo pipefail

cmd=${1:-}
NODES=${PBTNAS_SLURM_NODES:-1}
[[ "$NODES" =~ ^[1-8]$ ]] || { echo "cluster.sh: PBTNAS_SLURM_NODES='$NODES' is not a node count from 1 to 8" >&2; exit 1; }
default_base=${TMPDIR:-/tmp}/pbtnas-slurm-cluster
((NODES == 1)) || default_base=${TMPDIR:-/tmp}/pbtnas-slurm-${NODES}nodes
BASE=${2:-${PBTNAS_SLURM_BASE:-$default_base}}
CPUS=${PBTNAS_SLURM_CPUS:-8}
GPUS=${PBTNAS_SLURM_GPUS:-4}
# Ports away from the defaults (6817/6818) so that a system SLURM is never contacted.
CTLD_PORT=${PBTNAS_SLURM_CTLD_PORT:-16817}
SLURMD_PORT=${PBTNAS_SLURM_SLURMD_PORT:-16818}

die() { echo "cluster.sh: $*" >&2; exit 1; }

# pid_of PIDFILE COMM: prints the PID in PIDFILE if that process runs and has that command name.
pid_of() {
  local file=$1 comm=$2 pid
  [[ -s "$file" ]] || return 1
  pid=$(tr -dc '0-9' <"$file")
  [[ -n "$pid" && -r /proc/$pid/comm ]] || return 1
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$comm" ]] || return 1
  echo "$pid"
}

# Any live process with this command name (read from /proc; nothing is signalled).
running_elsewhere() {
  local comm=$1 d
  for d in /proc/[0-9]*; do
    alive "${d#/proc/}" "$comm" && return 0
  done
  return 1
}

print_logs() {
  local f
  for f in "$BASE"/log/*.log "$BASE"/munge/munged.log; do
    [[ -f "$f" ]] || continue
    echo "===== $f (last 60 lines)"
    tail -n 60 "$f"
  done
}

# alive PID COMM: PID is a live (not zombie) process with that command name.
alive() {
  local stat
  [[ "$(cat "/proc/$1/comm" 2>/dev/null)" == "$2" ]] || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }  # the field after "(comm)" is the state
  [[ "${stat:0:1}" != Z ]]
}

stop_daemon() {  # stop_daemon PIDFILE COMM: SIGTERM, then SIGKILL after 15 s
  local pid i
  pid=$(pid_of "$1" "$2") || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 150); do
    alive "$pid" "$2" || return 0
    sleep 0.1
  done
  echo "cluster.sh: $2 (pid $pid) ignored SIGTERM for 15 s; sending SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

down() {
  [[ -d "$BASE" ]] || return 0
  [[ -f "$BASE/.pbtnas-slurm-cluster" ]] || die "$BASE was not made by cluster.sh; not touching it"
  if [[ -f "$BASE/etc/slurm.conf" ]] && pid_of "$BASE/run/slurmctld.pid" slurmctld >/dev/null; then
    # Cancel leftover jobs first, so that slurmd does not leave job steps behind.
    # Cancel leftover jobs first and let them end (KillWait=10), so that no job step outlives
    # slurmd.
    export SLURM_CONF="$BASE/etc/slurm.conf"
    timeout 10 scancel --quiet --user=root 2>/dev/null || true
    local i
    for i in $(seq 1 300); do  # up to 30 s
      [[ -z "$(timeout 10 squeue -h -o %i 2>/dev/null || true)" ]] && break
      sleep 0.1
    done
  fi
  local f
  for f in "$BASE"/run/slurmd.pid "$BASE"/run/slurmd.*.pid; do  # one node, or slurmd.NODE.pid
    if [[ -f "$f" ]]; then stop_daemon "$f" slurmd; fi
  done
  stop_daemon "$BASE/run/slurmctld.pid" slurmctld
  stop_daemon "$BASE/munge/munged.pid" munged
  rm -rf "$BASE"
}

up() {
  [[ $(id -u) -eq 0 ]] || die "needs root (slurmd runs jobs as any user)"
  local bin
  for bin in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd /usr/bin/sbatch /usr/bin/munge; do
    [[ -x "$bin" ]] || die "$bin missing: run jobs/setup.sh (packages munge slurmctld slurmd slurm-client slurm-wlm-basic-plugins)"
  done
  if [[ -e "$BASE" ]]; then
    if [[ -f "$BASE/.pbtnas-slurm-cluster" ]]; then
      echo "cluster.sh: removing a leftover cluster in $BASE" >&2
      down
    else
      die "$BASE exists and was not made by cluster.sh"
    fi
  fi
  # Refuse rather than share the machine with another SLURM (documented above).
  local d
  for d in slurmctld slurmd; do
    running_elsewhere "$d" && die "a $d is already running on this machine; stop it first (cluster.sh never touches daemons it did not start)"
  done

  local node cpus mem names=() n
  node=$(hostname -s)
  if ((NODES == 1)); then
    names=("$node")
  else
    local letters=(a b c d e f g h)
    for ((n = 0; n < NODES; n++)); do names+=("node${letters[n]}"); done
    unshare --uts --mount --propagation private /bin/true 2>/dev/null ||
      die "$NODES nodes need UTS and mount namespaces (unshare --uts --mount), which are not permitted here"
  fi
  local probe
  probe=$(/usr/sbin/slurmd -C | head -n1)
  cpus=$(sed -nE 's/.* CPUs=([0-9]+).*/\1/p' <<<"$probe")
  mem=$(sed -nE 's/.* RealMemory=([0-9]+).*/\1/p' <<<"$probe")
  [[ -n "$cpus" && -n "$mem" ]] || die "cannot parse 'slurmd -C': $probe"
  ((CPUS > cpus)) && cpus=$CPUS

  mkdir -p "$BASE"
  touch "$BASE/.pbtnas-slurm-cluster"
  # Whatever fails from here on (set -e or die): show the logs, undo everything.
  trap 'rc=$?; if ((rc != 0)); then echo "cluster.sh: up failed; logs:" >&2; print_logs >&2; down; fi' EXIT
  chmod 755 "$BASE"  # munged (user munge) must reach its folder below
  mkdir -p "$BASE/etc" "$BASE/run" "$BASE/log" "$BASE/state/ctld" "$BASE/state/d" "$BASE/dev" "$BASE/munge" "$BASE/munge-run"
  if ((NODES > 1)); then
    mkdir -p "$BASE/nodetmp"
    for n in "${names[@]}"; do
      mkdir -p "$BASE/tmp.$n" "$BASE/state/d.$n"
      chmod 1777 "$BASE/tmp.$n"
    done
  fi

  # --- munge: own key, socket, pid, log and seed files
  dd if=/dev/urandom of="$BASE/munge/munge.key" bs=1024 count=1 status=none
  chown -R munge:munge "$BASE/munge" "$BASE/munge-run"
  chmod 700 "$BASE/munge"
  chmod 755 "$BASE/munge-run"
  chmod 400 "$BASE/munge/munge.key"
  local socket="$BASE/munge-run/munge.socket"
  runuser -u munge -- /usr/sbin/munged --socket="$socket" --key-file="$BASE/munge/munge.key" \
    --pid-file="$BASE/munge/munged.pid" --log-file="$BASE/munge/munged.log" --seed-file="$BASE/munge/munged.seed"
  local i ok=0
  for i in $(seq 1 50); do
    if munge -n --socket="$socket" 2>/dev/null | unmunge --socket="$socket" >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.1
  done
  ((ok)) || { cat "$BASE/munge/munged.log" >&2 || true; die "munged did not answer"; }

  # --- fake GPUs: character devices like /dev/null (SLURM rejects plain files)
  local gres_files=""
  if ((NODES == 1)); then
    for ((i = 0; i < GPUS; i++)); do
      mknod "$BASE/dev/fakegpu$i" c 1 3
      gres_files+="Name=gpu File=$BASE/dev/fakegpu$i"$'\n'
    done
  else
    for n in "${names[@]}"; do
      for ((i = 0; i < GPUS; i++)); do
        mknod "$BASE/dev/fakegpu.$n.$i" c 1 3
        gres_files+="NodeName=$n Name=gpu File=$BASE/dev/fakegpu.$n.$i"$'\n'
      done
    done
  fi
  printf '%s' "$gres_files" >"$BASE/etc/gres.conf"

  # The node lines and the per-node daemon files: one slurmd, or one per node (%n: the node's name).
  local node_lines="" node_list
  local d_files="SlurmdSpoolDir=$BASE/state/d
SlurmdPidFile=$BASE/run/slurmd.pid
SlurmdLogFile=$BASE/log/slurmd.log"
  if ((NODES == 1)); then
    node_lines="NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Gres=gpu:$GPUS State=UNKNOWN"
  else
    d_files="SlurmdSpoolDir=$BASE/state/d.%n
SlurmdPidFile=$BASE/run/slurmd.%n.pid
SlurmdLogFile=$BASE/log/slurmd.%n.log
TmpFS=$BASE/nodetmp"
    for ((n = 0; n < NODES; n++)); do
      node_lines+="NodeName=${names[n]} NodeAddr=127.0.0.1 Port=$((SLURMD_PORT + n)) CPUs=$cpus RealMemory=$((mem / NODES)) Gres=gpu:$GPUS State=UNKNOWN"$'\n'
    done
  fi
  node_list=$(IFS=,; echo "${names[*]}")

  cat >"$BASE/etc/slurm.conf" <<EOF
# Written by test/slurm/cluster.sh: a throwaway test cluster of $NODES node(s).
ClusterName=pbtnasci
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket,cred_expire=10
StateSaveLocation=$BASE/state/ctld
SlurmctldPidFile=$BASE/run/slurmctld.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
$d_files
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=pmix
SwitchType=switch/none
ReturnToService=2
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=5,bf_interval=5
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
KillWait=10
MinJobAge=600
InactiveLimit=0
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
SlurmctldParameters=preempt_send_user_signal
$node_lines
PartitionName=low Nodes=$node_list Default=YES PriorityTier=1 PreemptMode=REQUEUE GraceTime=60 MaxTime=INFINITE State=UP
PartitionName=high Nodes=$node_list PriorityTier=10 PreemptMode=OFF MaxTime=INFINITE State=UP
EOF

  export SLURM_CONF="$BASE/etc/slurm.conf"
  /usr/sbin/slurmctld -c -f "$SLURM_CONF" || die "slurmctld did not start"
  if ((NODES == 1)); then
    /usr/sbin/slurmd -f "$SLURM_CONF" || die "slurmd did not start"
  else
    # Each slurmd in its own namespaces (see above); it daemonizes and keeps them alive, and so
    # do the job steps it starts.
    for n in "${names[@]}"; do
      unshare --uts --mount --propagation private /bin/sh -c \
        "mount --bind '$BASE/tmp.$n' '$BASE/nodetmp' && hostname '$n' && exec /usr/sbin/slurmd -f '$SLURM_CONF' -N '$n'" ||
        die "slurmd of node $n did not start"
    done
  fi
  local state="" end=$((SECONDS + 30)) idle
  while ((SECONDS < end)); do
    # A daemon that exits at once (bad config) leaves its reason in its log: stop waiting.
    sleep 0.1
    pid_of "$BASE/run/slurmctld.pid" slurmctld >/dev/null || { sleep 0.5; pid_of "$BASE/run/slurmctld.pid" slurmctld >/dev/null; } ||
      die "slurmctld is not running (log: $BASE/log/slurmctld.log)"
    state=$(timeout 5 sinfo -h -N -n "$node_list" -o '%N %T' 2>/dev/null | sort -u || true)
    idle=$(grep -c ' idle$' <<<"$state" || true)
    ((idle == NODES)) && break
  done
  ((idle == NODES)) || die "not every node is idle after 30 s: $(paste -sd' ' <<<"$state")"
  if ((NODES == 1)); then
    pid_of "$BASE/run/slurmd.pid" slurmd >/dev/null || die "slurmd is not running (log: $BASE/log/slurmd.log)"
  else
    for n in "${names[@]}"; do
      pid_of "$BASE/run/slurmd.$n.pid" slurmd >/dev/null || die "slurmd of $n is not running (log: $BASE/log/slurmd.$n.log)"
    done
  fi
  trap - EXIT
  echo "$BASE"
}

case "$cmd" in
  up) up ;;
  down) down ;;
  env) echo "export SLURM_CONF=$BASE/etc/slurm.conf" ;;
  logs) print_logs ;;
  *) die "usage: cluster.sh up|down|env|logs [BASE]" ;;
esac
