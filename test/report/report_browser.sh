#!/usr/bin/env bash
# The run report in a real browser. Makes a tiny run (jobs/configs/smoke_classify.yaml under
# mpirun) unless RUN_DIR is given, writes its report with `pbtnas report RUN --html FILE`, loads
# the page in headless Chromium and checks that
#   - the page's script ran without a JavaScript error (window error hook: data-js-errors) and
#     drew every chart (data-report-ready = the number of charts, each a sized <canvas>),
#   - the lineage SVG is inlined with a node per model (as in OUT/report/lineage.dot), the figures exist,
#   - GAN runs: the sample grids are inlined as data: URIs,
# and saves a screenshot (ARTIFACT_DIR/report.png, 1280 x 2400) and the page (ARTIFACT_DIR/report.html).
# Exits 77 (ctest: skipped) when Chromium is not installed.
# Usage: report_browser.sh PBTNAS SOURCE_DIR ARTIFACT_DIR [RUN_DIR]
set -euo pipefail
PBTNAS="$1"
SRC="$2"
ARTIFACTS="$3"
RUN="${4:-}"
SKIP=77

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

CHROMIUM=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z "$CHROMIUM" ]]; then
  echo "SKIPPED: Chromium is not installed (apt-get install chromium)"
  exit $SKIP
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pbtnas-report.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$ARTIFACTS"

if [[ -z "$RUN" ]]; then
  # Open MPI refuses root without these; the test oversubscribes small machines on purpose.
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
  RUN="$WORK/run"
  timeout 600 mpirun -n 3 "$PBTNAS" run "$SRC/jobs/configs/smoke_classify.yaml" --out "$RUN" >"$WORK/run.log" 2>&1 ||
    { cat "$WORK/run.log"; fail "the smoke run failed"; }
fi

HTML="$ARTIFACTS/report.html"
"$PBTNAS" report "$RUN" --html "$HTML" >"$WORK/report.log" 2>&1 || { cat "$WORK/report.log"; fail "pbtnas report failed"; }
# --html naming a folder: refused with the fix, nothing left behind.
mkdir -p "$WORK/a_folder"
set +e
"$PBTNAS" report "$RUN" --html "$WORK/a_folder" >"$WORK/bad_html.log" 2>&1
code=$?
set -e
[[ $code -eq 2 ]] || { cat "$WORK/bad_html.log"; fail "report --html FOLDER exited $code, not 2"; }
grep -q "is a folder; name a file" "$WORK/bad_html.log" || { cat "$WORK/bad_html.log"; fail "report --html FOLDER: no clear message"; }
[[ ! -e "$WORK/a_folder.tmp" ]] || fail "report --html FOLDER left a temporary file"
for f in report/fitness.png report/lineage.png; do
  [[ -s "$RUN/$f" ]] || fail "$RUN/$f is missing"
  [[ $(head -c 8 "$RUN/$f" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "$RUN/$f is not a PNG"
done
grep -q 'src="http\|href="http' "$HTML" && fail "the page loads something from the network"
pass "pbtnas report wrote $(du -k "$HTML" | cut -f1) KiB of HTML and the figures"

# Headless Chromium: its own profile folder, no GPU, no sandbox (root in containers).
chrome() {
  timeout 180 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --hide-scrollbars --user-data-dir="$WORK/profile" --virtual-time-budget=10000 "$@" "file://$HTML"
}
chrome --dump-dom >"$WORK/dom.html" 2>"$WORK/chrome.log" || { tail -20 "$WORK/chrome.log"; fail "Chromium could not load the page"; }
grep -q '</html>' "$WORK/dom.html" || { tail -20 "$WORK/chrome.log"; fail "Chromium dumped no page"; }
if grep -q 'data-js-errors=' "$WORK/dom.html"; then
  grep -o 'data-js-errors="[^"]*"' "$WORK/dom.html" >&2
  fail "the page's script raised errors"
fi
ready=$(grep -o 'data-report-ready="[0-9]*"' "$WORK/dom.html" | head -n1 | tr -dc '0-9' || true)
[[ -n "$ready" ]] || fail "the page's script did not finish (no data-report-ready)"
canvases=$(grep -o '<canvas id="[a-z-]*-chart"' "$WORK/dom.html" | wc -l)
drawn=$(grep -o '<canvas id="[a-z-]*-chart" width="[1-9][0-9]*" height="[1-9][0-9]*"' "$WORK/dom.html" | wc -l)
((canvases >= 2)) || fail "expected at least 2 chart canvases (fitness, timings), found $canvases"
((ready == canvases && drawn == canvases)) || fail "charts: $canvases canvases, $drawn sized by Chart.js, $ready reported drawn"
pass "no script errors; $ready charts drawn"

svgs=$(grep -o '<svg' "$WORK/dom.html" | wc -l)
models=$(grep -cE '^  n[0-9]+ \[label=' "$RUN/report/lineage.dot" || true)
members=$(grep -o '"member":[0-9]*' "$RUN/metrics.jsonl" | sort -u | wc -l)
nodes=$(grep -oE '<title>n[0-9]+</title>' "$WORK/dom.html" | sort -u | wc -l)
((svgs >= 1)) || fail "no lineage SVG in the page"
((models >= members)) || fail "lineage.dot has $models models, fewer than the $members members"
((nodes == models)) || fail "the page's lineage SVG has $nodes model nodes, lineage.dot $models"
pass "lineage SVG with a node for each of the $models models"

if [[ -d "$RUN/samples" ]]; then
  grids=$(grep -o 'src="data:image/png;base64,' "$WORK/dom.html" | wc -l)
  ((grids >= 2)) || fail "a GAN run's sample grids are not in the page ($grids images)"
  pass "$grids sample grids inlined"
fi

chrome --window-size=1280,2400 --screenshot="$ARTIFACTS/report.png" >/dev/null 2>>"$WORK/chrome.log" ||
  { tail -20 "$WORK/chrome.log"; fail "Chromium could not take a screenshot"; }
[[ $(stat -c %s "$ARTIFACTS/report.png") -gt 20000 ]] || fail "the screenshot $ARTIFACTS/report.png is (nearly) empty"
pass "screenshot $ARTIFACTS/report.png"
