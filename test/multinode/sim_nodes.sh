#!/usr/bin/env bash
# Simulated nodes on one machine: runs `mpirun` over K "nodes", each a UTS namespace with its own
# hostname and a mount namespace with its own node-local scratch (a private tmpfs), while the rest
# of the file system (HOME, the run folder) plays the cluster's shared network file system.
#
#   sim_nodes.sh [--scratch-mb N] NODES -- MPIRUN_ARGS...
#     NODES        name:slots[,name:slots...], e.g. nodea:2,nodeb:2 (ranks fill the nodes in order)
#     --scratch-mb size of each node's scratch tmpfs (default 256)
#   e.g. sim_nodes.sh nodea:1,nodeb:2 -- -n 3 build/pbtnas run jobs/configs/smoke_classify.yaml --out out/sim
#
# How: Open MPI starts its daemon on every host of the hostfile through the rsh agent; this agent
# starts it in `unshare --uts --mount` with the node's name as hostname, mounts the node's scratch
# at the same path on every node ($SIM_NODES_DIR/scratch, private to the node) and exports it as
# TMPDIR and SLURM_TMPDIR to the node's ranks. Needs root (or the namespaces' capabilities);
# exits with 77 (skipped) when namespaces or tmpfs mounts are not permitted.
#
# Environment for the caller:
#   SIM_NODES_DIR  where the hostfile, agent and per-node records go (default: a new temporary
#                  folder, removed at exit); NODE.uts holds the node's UTS namespace, so that
#                  `sim_nodes.sh --kill NODE` (with the same SIM_NODES_DIR) can kill every process
#                  of one node, as a lost node would.
set -euo pipefail

kill_node() {  # every process of the node (its UTS namespace) but the launch agent itself
  # The agent stands for the ssh connection on the launching host: keeping it lets Open MPI see
  # what it sees when a real node dies, its daemon's connection lost.
  local dir=$1 node=$2 ns p pid ppid victims=() n=0
  ns=$(cat "$dir/$node.uts")
  for p in /proc/[0-9]*; do  # collect first: a killed daemon's children change their parent
    [[ "$(readlink "$p/ns/uts" 2>/dev/null || true)" == "$ns" ]] || continue
    pid=${p#/proc/}
    ppid=$(awk '{print $4}' "$p/stat" 2>/dev/null || echo 0)
    [[ "$(readlink "/proc/$ppid/ns/uts" 2>/dev/null || true)" == "$ns" ]] || continue  # the agent
    victims+=("$pid")
  done
  for pid in "${victims[@]}"; do kill -KILL "$pid" 2>/dev/null && n=$((n + 1)); done
  echo "sim_nodes: killed $n processes of node $node"
}

if [[ "${1:-}" == "--kill" ]]; then
  [[ -n "${SIM_NODES_DIR:-}" && -n "${2:-}" ]] || { echo "usage: SIM_NODES_DIR=DIR sim_nodes.sh --kill NODE" >&2; exit 2; }
  kill_node "$SIM_NODES_DIR" "$2"
  exit 0
fi

scratch_mb=256
if [[ "${1:-}" == "--scratch-mb" ]]; then scratch_mb=$2; shift 2; fi
spec=${1:-}
[[ -n "$spec" && "${2:-}" == "--" ]] || { echo "usage: sim_nodes.sh [--scratch-mb N] name:slots[,name:slots...] -- MPIRUN_ARGS..." >&2; exit 2; }
shift 2

# Namespaces and tmpfs mounts must be permitted (root on Linux); else the harness cannot run here.
if ! unshare --uts --mount /bin/sh -c 'hostname simcheck && d=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs "$d" && umount "$d" && rmdir "$d"' >/dev/null 2>&1; then
  echo "SKIPPED: simulated nodes need UTS and mount namespaces and tmpfs mounts (run as root)"
  exit 77
fi

own_dir=0
if [[ -z "${SIM_NODES_DIR:-}" ]]; then
  SIM_NODES_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sim-nodes.XXXXXX")
  own_dir=1
fi
export SIM_NODES_DIR
mkdir -p "$SIM_NODES_DIR/scratch"
cleanup() { [[ $own_dir == 1 ]] && rm -rf "$SIM_NODES_DIR"; return 0; }
trap cleanup EXIT

: >"$SIM_NODES_DIR/hostfile"
IFS=, read -r -a nodes <<<"$spec"
for n in "${nodes[@]}"; do
  name=${n%%:*} slots=${n##*:}
  [[ "$name" =~ ^[a-z][a-z0-9-]*$ && "$slots" =~ ^[1-9][0-9]*$ ]] || { echo "sim_nodes: bad node '$n' (expected name:slots, e.g. nodea:2)" >&2; exit 2; }
  echo "$name slots=$slots" >>"$SIM_NODES_DIR/hostfile"
done

# The rsh agent: AGENT HOST COMMAND... (Open MPI passes the daemon's command as shell words).
cat >"$SIM_NODES_DIR/agent" <<AGENT
#!/bin/sh
host=\$1; shift
exec unshare --uts --mount /bin/sh -c "hostname \$host && mount -t tmpfs -o size=${scratch_mb}m tmpfs '$SIM_NODES_DIR/scratch' && readlink /proc/self/ns/uts >'$SIM_NODES_DIR/'\$host.uts && export TMPDIR='$SIM_NODES_DIR/scratch' SLURM_TMPDIR='$SIM_NODES_DIR/scratch' && \$*"
AGENT
chmod +x "$SIM_NODES_DIR/agent"

mpirun --hostfile "$SIM_NODES_DIR/hostfile" --mca plm_rsh_agent "$SIM_NODES_DIR/agent" \
  --mca btl self,vader,tcp --mca btl_tcp_if_include lo "$@"
