#!/usr/bin/env bash
# Start-up time of a search (docs/performance.md, "Start-up"): seconds from starting
# `mpirun -n R pbtnas run CONFIG` until rank 0 says "workers ready" (every worker has built its
# task: data loaded, caches mapped) and until the first training progress line of generation 0
# (a worker reports its first training step; runtime.progress_seconds is set to 0.05 for this),
# then the run is stopped (two SIGINTs: the second abandons the generation). Each output line
# is timestamped as it arrives. Rows: one per repetition.
#   bash jobs/bench/bench_startup.sh OUT CONFIG [REPS] [RANKS] [PBTNAS]
# The node caches (normalised images; the GAN's images, reference statistics and classifier)
# are whatever the config's cache folders hold: run once first to measure a warm node.
set -euo pipefail
out=${1:?usage: bench_startup.sh OUT CONFIG [REPS] [RANKS] [PBTNAS]}
cfg=${2:?usage: bench_startup.sh OUT CONFIG [REPS] [RANKS] [PBTNAS]}
reps=${3:-3}
ranks=${4:-3}
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${5:-$here/build/pbtnas}
mkdir -p "$out"
args=(--oversubscribe --bind-to none)
[[ $(id -u) -eq 0 ]] && args+=(--allow-run-as-root)
printf '%-4s %14s %18s  %s\n' rep "ready s" "first step s" "load average"
for ((i = 1; i <= reps; i++)); do
  run="$out/run_$i"
  rm -rf "$run"
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  /usr/bin/python3 - "$run" "$i" "$load" mpirun -n "$ranks" "${args[@]}" "$bin" run "$cfg" --out "$run" \
    --set runtime.progress_seconds=0.05 <<'PYEOF'
import os, signal, subprocess, sys, time
run, rep, load, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
env = dict(os.environ, PBTNAS_PROGRESS="lines")
t0 = time.monotonic()
p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
ready = first = None
with open(run + ".log", "w") as log:
    for line in p.stdout:
        t = time.monotonic() - t0
        log.write(f"{t:8.3f} {line}")
        if ready is None and "workers ready" in line:
            ready = t
        if first is None and "training:" in line:
            first = t
            p.send_signal(signal.SIGINT)
            time.sleep(0.5)
            p.send_signal(signal.SIGINT)
            break
try:
    p.wait(timeout=30)
except subprocess.TimeoutExpired:
    p.kill()
    p.wait()
if ready is None or first is None:
    sys.exit(f"run {rep}: no 'workers ready' or no training progress line; see {run}.log")
print(f"{rep:<4} {ready:14.2f} {first:18.2f}  {load}")
PYEOF
done
