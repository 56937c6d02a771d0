#!/usr/bin/env bash
# Memory per rank and start-up time with and without node-shared data (docs/performance.md,
# "Memory per rank"), in the columns: seconds until every worker has loaded its data, the largest
# resident size of one rank, the workers' peak resident size (VmHWM, generations.jsonl) and the
# node's memory (the largest sum over the ranks of their proportional set sizes, Pss, in which a
# page shared by k ranks counts 1/k in each). A short Fashion-MNIST search (population 8, 2 generations of 1,500 samples,
# the whole data set loaded) run with classify.data.share false, then true with an empty cache
# (the first run on a node writes it), then true again (mapped), for each rank count.
#   bash jobs/bench/bench_memory.sh OUT [RANKS...]     (default ranks: 3 5)
set -euo pipefail
out=${1:?usage: bench_memory.sh OUT [RANKS...]}
shift
ranks=("$@")
[[ ${#ranks[@]} -gt 0 ]] || ranks=(3 5)
here=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
cache="$out/cache"
args=(--oversubscribe --bind-to none)
[[ $(id -u) -eq 0 ]] && args+=(--allow-run-as-root)
printf '%-6s %-14s %8s %16s %18s %16s\n' ranks variant "start s" "max rank RSS MiB" "worker VmHWM MiB" "node PSS MiB"
for r in "${ranks[@]}"; do
  rm -rf "$cache"
  for variant in private shared-first shared-mapped; do
    share=true
    [[ $variant == private ]] && share=false
    cfg="$out/memory_${variant}.yaml"
    cat >"$cfg" <<YAML
seed: 31173
population_size: 8
parents_fraction: 0.25
max_epochs: 2
epochs_step: 1
classify:
  channels: 8
  cells_per_stage: 1
  samples_per_epoch: 1500
  data:
    share: $share
    cache_dir: $cache
checkpoint:
  keep: 1
runtime:
  threads_per_rank: 1
  progress_seconds: 0
YAML
    run="$out/run_R${r}_${variant}"
    rm -rf "$run"
    start=$(date +%s.%N)
    PBTNAS_PROGRESS=lines mpirun -n "$r" "${args[@]}" "$here/build/pbtnas" run "$cfg" --out "$run" >"$run.log" 2>&1 &
    pid=$!
    # Start-up: until the coordinator reports the workers ready (data loaded on every worker).
    until grep -q "workers ready" "$run.log" 2>/dev/null || ! kill -0 $pid 2>/dev/null; do sleep 0.05; done
    ready=$(date +%s.%N)
    # While it runs: the largest resident size of one rank, and the largest sum over all ranks of
    # their proportional set sizes (the node's memory: a shared page counts once in the sum).
    rss=0 node=0
    while kill -0 $pid 2>/dev/null; do
      sum=0
      for p in $(pgrep -f "build/pbtnas run $cfg" || true); do
        [[ -r /proc/$p/smaps_rollup ]] || continue
        v=$(awk '/^Rss:/{r=$2} /^Pss:/{p=$2} END{print r+0" "p+0}' /proc/$p/smaps_rollup 2>/dev/null || echo "0 0")
        read -r a b <<<"$v"
        (( a > rss )) && rss=$a
        sum=$((sum + b))
      done
      (( sum > node )) && node=$sum
      sleep 0.5
    done
    wait $pid || { cat "$run.log"; exit 1; }
    peak=$(/usr/bin/python3 -c "import json,sys; rows=[json.loads(l) for l in open(sys.argv[1])]; print(round(max(max(r['worker_peak_rss_bytes']) for r in rows)/1048576))" "$run/generations.jsonl")
    printf '%-6s %-14s %8.1f %16d %18d %16d\n' "$r" "$variant" "$(awk -v a="$ready" -v b="$start" 'BEGIN { print a - b }')" $((rss / 1024)) "$peak" $((node / 1024))
  done
done
