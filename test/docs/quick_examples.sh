#!/usr/bin/env bash
# Runs the quick command examples of README.md and docs/*.md: the fenced blocks whose info string
# is "bash quick". They run from a folder laid out like the repository (jobs/, build/pbtnas),
# against a tiny finished run in out/fmnist (the toy task, 2 generations), one line at a time;
# every line must exit 0. Usage: quick_examples.sh PBTNAS SOURCE_DIR
source "$(dirname "$0")/../mpi/lib.sh" "$(realpath "$1")" "$(realpath "$2")"  # WORK, MPI settings, skip without Fashion-MNIST

ln -s "$SRC/jobs" "$WORK/jobs"
mkdir -p "$WORK/build" "$WORK/out"
ln -s "$PBTNAS" "$WORK/build/pbtnas"
toy_config >"$WORK/toy.yaml"
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
