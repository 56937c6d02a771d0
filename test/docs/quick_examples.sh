#!/usr/bin/env bash
# Runs the quick command examples of README.md and docs/*.md: the fenced blocks whose info string
# is "bash quick". They run from a folder laid out like the repository (jobs/, build/pbtnas),
# against a tiny finished run in out/fmnist (the toy task, 2 generations), one line at a time;
# every line must exit 0. Usage: quick_examples.sh PBTNAS SOURCE_DIR
set -euo pipefail
PBTNAS=$(realpath "$1")
SRC=$(realpath "$2")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pbtnas-quick.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export PBTNAS_PROGRESS=lines
if [[ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]]; then
  echo "SKIPPED: /usr/share/datasets/fashion-mnist is absent (install dataset-fashion-mnist)"
  exit 77
fi

ln -s "$SRC/jobs" "$WORK/jobs"
mkdir -p "$WORK/build" "$WORK/out"
ln -s "$PBTNAS" "$WORK/build/pbtnas"
cat >"$WORK/toy.yaml" <<'YAML'
population_size: 4
parents_fraction: 0.5
max_epochs: 2
epochs_step: 1
task: toy
checkpoint:
  keep: 0
runtime:
  threads_per_rank: 1
YAML
(cd "$WORK" && mpirun -n 3 build/pbtnas run toy.yaml --out out/fmnist >run.log 2>&1) ||
  { cat "$WORK/run.log"; echo "FAIL: the tiny run failed"; exit 1; }

# The quick blocks' lines, "FILE:LINE<TAB>command".
commands=$(cd "$SRC" && awk '
  FNR == 1 { inside = 0 }
  /^```bash quick[[:space:]]*$/ { inside = 1; next }
  /^```/ { inside = 0; next }
  inside && $0 !~ /^[[:space:]]*(#|$)/ { print FILENAME ":" FNR "\t" $0 }
' README.md docs/*.md)
[[ -n "$commands" ]] || { echo "FAIL: no quick examples found"; exit 1; }
n=0
while IFS=$'\t' read -r where command; do
  n=$((n + 1))
  if ! (cd "$WORK" && timeout 300 bash -c "$command" >"$WORK/example.log" 2>&1); then
    cat "$WORK/example.log"
    echo "FAIL: $where: $command"
    exit 1
  fi
  echo "ok: $where: $command"
done <<<"$commands"
echo "ok: $n quick examples ran"
