#!/usr/bin/env bash
# `pbtnas bench-exchange` within one simulated node and across two (sim_nodes.sh), alternately
# in one session, for the default classification config (channels 16, 1.85 MiB member state)
# and the same with channels 64 (28.9 MiB). Within one node (nodea:3) ranks 1 and 2 exchange
# through Open MPI's shared memory (vader); across nodes (nodea:2,nodeb:1) rank 2 is on nodeb and
# the transfer goes over TCP, here over the loopback interface. Prints the medians of every run
# and the ratio across / within per figure (docs/performance.md, "Exchange across nodes").
#
#   bash test/multinode/bench_exchange_nodes.sh build/pbtnas [ROUNDS] [REPS]    (root: namespaces)
# The parents train one epoch first (for their optimizer moments), shortened here to 512 samples
# of a 1,200-image subset: the transferred bytes depend only on the architecture.
set -euo pipefail
PBTNAS=$(realpath "$1")
ROUNDS=${2:-3}
REPS=${3:-15}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SIM="$SRC/test/multinode/sim_nodes.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pbtnas-bench-nodes.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

for ch in 16 64; do
  sed -e "s/^  channels: .*/  channels: $ch\n  samples_per_epoch: 512/" \
      -e 's/^  data:$/  data:\n    train_limit: 1200\n    test_limit: 500/' \
      "$SRC/jobs/configs/fmnist_classify.yaml" >"$WORK/ch$ch.yaml"
  grep -q "^  channels: $ch$" "$WORK/ch$ch.yaml" && grep -q '^    train_limit: 1200$' "$WORK/ch$ch.yaml" ||
    { echo "bench_exchange_nodes: the layout of jobs/configs/fmnist_classify.yaml changed" >&2; exit 1; }
done

bench() {  # bench NODES CONFIG -> bench-exchange's output
  SIM_NODES_DIR="$WORK/sim" timeout 600 bash "$SIM" "$1" -- -n 3 "$PBTNAS" bench-exchange "$2" --reps "$REPS" 2>&1
}
# figures OUTPUT: "raw sender receiver exploit" in ms (raw: the receiver's clock)
figures() {
  awk 'function ms(text) { return match(text, /[0-9.]+ ms/) ? substr(text, RSTART, RLENGTH - 3) : "?" }
       /raw MPI_Send/ {split($0, p, "receiver"); r=ms(p[2])} /exchange, sender/ {s=ms($0)}
       /exchange, receiver/ {x=ms($0)} /whole exploit/ {e=ms($0)} END {print r, s, x, e}' <<<"$1"
}

printf '%-5s %-7s %5s %10s %10s %10s %10s\n' ch layout round raw_ms sender_ms receiver_ms exploit_ms
for ch in 16 64; do
  for ((r = 1; r <= ROUNDS; r++)); do
    for layout in within across; do
      nodes=nodea:3
      [[ $layout == across ]] && nodes=nodea:2,nodeb:1
      mkdir -p "$WORK/sim"
      out=$(bench "$nodes" "$WORK/ch$ch.yaml") || { echo "$out" >&2; exit 1; }
      [[ $r -gt 1 || $layout == across ]] || grep -m1 'member state' <<<"$out"
      # shellcheck disable=SC2046  # four numbers
      printf '%-5s %-7s %5s %10s %10s %10s %10s\n' "$ch" "$layout" "$r" $(figures "$out") | tee -a "$WORK/all.txt"
    done
  done
done
echo "medians over the rounds, and across / within:"
awk '{k=$1" "$2; n[k]++; for (i=4;i<=7;i++) v[k,i,n[k]]=$i}
  function med(k,i,  a,m,j,t,x,y) { m=n[k]; for (j=1;j<=m;j++) a[j]=v[k,i,j]+0;
    for (x=1;x<=m;x++) for (y=x+1;y<=m;y++) if (a[y]<a[x]) {t=a[x];a[x]=a[y];a[y]=t}
    return (m%2) ? a[(m+1)/2] : (a[m/2]+a[m/2+1])/2 }
  END { split("raw sender receiver exploit", name, " ");
    for (c=16; c<=64; c+=48) { w=c" within"; a=c" across"; if (!(w in n)) continue;
      for (i=4;i<=7;i++) printf "ch %-3d %-9s within %8.3f ms  across %8.3f ms  (%.2fx)\n", c, name[i-3], med(w,i), med(a,i), med(a,i)/med(w,i) } }' "$WORK/all.txt"
