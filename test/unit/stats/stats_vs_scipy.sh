#!/usr/bin/env bash
# ctest stats_vs_scipy: the study's rank tests against scipy (stats_vs_scipy.py), under Debian's
# /usr/bin/python3 (python3-scipy, jobs/setup.sh). Exit 77 (ctest: skipped) when that interpreter
# or scipy is missing, so the check never passes without having run.
# Usage: stats_vs_scipy.sh PATH/TO/pbtnas_stats_cases
set -euo pipefail
py=/usr/bin/python3
driver=${1:?usage: stats_vs_scipy.sh PATH/TO/pbtnas_stats_cases}
if [[ ! -x $py ]] || ! "$py" -c "import scipy" 2>/dev/null; then
  echo "SKIPPED: $py cannot import scipy; install python3-scipy (bash jobs/setup.sh) to compare the rank tests with scipy"
  exit 77
fi
[[ -x $driver ]] || { echo "FAIL: $driver is not built; build the target pbtnas_stats_cases (cmake --build build)"; exit 1; }
exec "$py" "$(dirname "$0")/stats_vs_scipy.py" "$driver"
