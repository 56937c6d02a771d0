#!/usr/bin/env bash
# Memory per rank and start-up time with and without node-shared data (docs/performance.md,
# "Memory per rank"): a short Fashion-MNIST search (population 4, 2 generations of 3,000 samples,
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
printf '%-6s %-12s %10s %14s %14s %14s\n' ranks variant "start s" "worker RSS MiB" "peak RSS MiB" "worker PSS MiB"
for r in "${ranks[@]}"; do
  rm -rf "$cache"
  for variant in private shared-first shared-mapped; do
    share=true
    [[ $variant == private ]] && share=false
    cfg="$out/memory_${variant}.yaml"
    cat >"$cfg" <<YAML
seed: 31173
population_size: 4
parents_fraction: 0.5
max_epochs: 2
epochs_step: 1
classify:
  channels: 8
  cells_per_stage: 1
  samples_per_epoch: 3000
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
    # Resident and proportional memory of the workers while they train (largest sample).
    rss=0 pss=0
    while kill -0 $pid 2>/dev/null; do
      for p in $(pgrep -f "pbtnas run $cfg" || true); do
        [[ -r /proc/$p/smaps_rollup ]] || continue
        v=$(awk '/^Rss:/{r=$2} /^Pss:/{p=$2} END{print r" "p}' /proc/$p/smaps_rollup 2>/dev/null || echo "0 0")
        read -r a b <<<"$v"
        (( a > rss )) && rss=$a
        (( b > pss )) && pss=$b
      done
      sleep 0.5
    done
    wait $pid || { cat "$run.log"; exit 1; }
    peak=$(/usr/bin/python3 -c "import json,sys; rows=[json.loads(l) for l in open(sys.argv[1])]; print(round(max(max(r['worker_peak_rss_bytes']) for r in rows)/1048576))" "$run/generations.jsonl")
    printf '%-6s %-12s %10.1f %14d %14d %14d\n' "$r" "$variant" "$(awk -v a="$ready" -v b="$start" 'BEGIN { print a - b }')" $((rss / 1024)) "$peak" $((pss / 1024))
  done
done
