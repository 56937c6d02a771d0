#!/usr/bin/env bash
# The scale benchmark (docs/performance.md, "Scale"): `pbtnas bench-scale` under mpirun for each
# rank count, all rows in one CSV, then the figures.
#   bash jobs/bench/bench_scale.sh OUT [RANKS...]      (default ranks: 3 9 17 33 65)
# Population sizes: $MEMBERS (default "16 64 256 1024"); generations per size: $GENERATIONS
# (default 4). More ranks than cores are oversubscribed (--oversubscribe), so on a small machine
# the protocol times include the operating system's scheduling of the idle ranks.
set -euo pipefail
out=${1:?usage: bench_scale.sh OUT [RANKS...]}
shift
ranks=("$@")
[[ ${#ranks[@]} -gt 0 ]] || ranks=(3 9 17 33 65)
members=${MEMBERS:-16 64 256 1024}
generations=${GENERATIONS:-4}
here=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
csv="$out/bench_scale.csv"
rm -f "$csv"
args=(--oversubscribe --bind-to none)
[[ $(id -u) -eq 0 ]] && args+=(--allow-run-as-root)
for r in "${ranks[@]}"; do
  # shellcheck disable=SC2086
  mpirun -n "$r" "${args[@]}" "$here/build/pbtnas" bench-scale --members $members --generations "$generations" \
    --out "$out/runs" --csv "$csv" | tee "$out/bench_scale_R$r.txt"
done
"$here/build/pbtnas" bench-scale --plot "$csv" --png "$out/bench_scale.png"
