#!/usr/bin/env bash
# threadx report end to end, rendered in a real browser: a small sweep on the 960-bar file, its
# report with a robustness file, rendered by headless Chromium; from the DOM after the scripts
# ran, every chart the page declares drew (one Vega <svg class="marks"> each, with marks in it)
# and no script error was logged. Then a one-parameter grid without --robust, a partial results
# file (reported as partial, still drawn), and bad inputs (one line, exit 1, no page left).
#   bash tests/cli/report.sh <threadx binary> <source dir>
set -euo pipefail
bin="$(realpath "$1")"; src="$(realpath "$2")"
data960="$src/data/BTCUSDT_15m_2024-12-01_2024-12-10.csv"
data49k="$src/data/BTCUSDT_15m_2023-10_2025-02.csv"
work="$(mktemp -d /tmp/threadx-report.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
fails=0 checks=0 case=""
fail() { echo "FAIL [$case]: $*" >&2; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); "$@" || fail "check failed: $*"; }

browser="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$browser" ] || { echo "FAIL: chromium not found (scripts/setup.sh installs it)" >&2; exit 1; }

# render <page.html>: the DOM after scripts ran -> page.dom, the browser log -> page.log; then
# checks that every declared chart drew with marks and that no script error was logged.
render() {  # render <page.html> [#fragment]
  local page="$1"
  timeout -k 5 120 "$browser" --headless --no-sandbox --disable-gpu --user-data-dir="$work/profile" \
    --virtual-time-budget=10000 --enable-logging=stderr --v=0 --dump-dom "file://$page${2:-}" \
    > "$page.dom" 2> "$page.log" || fail "chromium exited $?"
  local declared drawn rendered empty
  declared=$(sed -n 's/.*<meta name="threadx-charts" content="\([0-9]*\)".*/\1/p' "$page.dom")
  drawn=$(grep -o '<svg[^>]*class="marks"' "$page.dom" | wc -l)
  rendered=$(sed -n 's/.*<body[^>]*data-rendered="\([0-9]*\)".*/\1/p' "$page.dom")
  # Each chart's SVG holds drawn items (Vega gives every mark item role="graphics-symbol").
  empty=$(awk 'BEGIN {RS = "<svg"} NR > 1 && /^[^>]*class="marks"/ {
    split($0, part, "</svg>"); if (part[1] !~ /graphics-symbol/) n++ } END {print n + 0}' "$page.dom")
  checks=$((checks + 4))
  [ -n "$declared" ] && [ "$declared" -gt 0 ] || fail "$page declares no chart"
  [ "$drawn" = "$declared" ] || fail "$page: $drawn charts drawn, $declared declared"
  [ "$rendered" = "$declared" ] || fail "$page: data-rendered='$rendered', want $declared"
  [ "$empty" = 0 ] || fail "$page: $empty charts without marks"
  checks=$((checks + 2))
  if grep -E 'CONSOLE|Uncaught|SyntaxError|TypeError|ReferenceError' "$page.log" > "$page.errors"; then
    fail "$page: script errors: $(head -3 "$page.errors")"
  fi
  if grep -q 'data-errors=' "$page.dom"; then fail "$page: the page recorded errors"; fi
  echo "$page: $drawn of $declared charts drawn"
}

# refuse <want substring> <report args...>: exit 1, one stderr line holding the substring, no page.
refuse() {
  local want="$1"; shift
  checks=$((checks + 1))
  rm -f bad.html bad.html.partial
  set +e; "$bin" -q report "$@" > stdout.txt 2> stderr.txt; local rc=$?; set -e
  [ "$rc" = 1 ] || fail "exit $rc, want 1: $(cat stderr.txt)"
  [ "$(wc -l < stderr.txt)" = 1 ] || fail "stderr not one line: $(cat stderr.txt)"
  grep -qF -- "$want" stderr.txt || fail "want '$want' in: $(cat stderr.txt)"
  [ ! -e bad.html ] && [ ! -e bad.html.partial ] || fail "a page was left behind"
}

# ---- a 4-parameter grid with a robustness file ----------------------------------------------
case="full"
cat > grid4.toml <<'TOML'
[grid]
bb_period = [10, 20, 30]
bb_std = [1.5, 2.0, 2.5]
atr_period = [7, 14]
max_hold_bars = [24, 72]
TOML
"$bin" -q sweep --data "$data960" --grid grid4.toml --out s4.h5 --blocks 8
# The robustness file as `threadx robust` writes it: CSCV (70 splits of 8 blocks), DSR, walk-forward.
robust="$work/robust.h5"
"$bin" -q robust s4.h5 --out "$robust" --cscv --dsr 5 --wf-window 3 > robust.txt \
  || { cat robust.txt; fail "threadx robust"; }
pbo="$(h5dump -m '%.10g' -a /cscv/pbo "$robust" | sed -n 's/^ *(0): //p')"
[ -n "$pbo" ] || fail "no /cscv/pbo in $robust"
"$bin" -q report s4.h5 --robust "$robust" --out "$work/r4.html" --top 5 > out.txt
check test "$(cat out.txt)" = "$work/r4.html"
check test ! -e "$work/r4.html.partial"
render "$work/r4.html"
render "$work/r4.html" "#median"  # the heatmaps switched to the median
check grep -q '<body[^>]*data-stat="mid"' r4.html.dom
# 1 histogram + 4 sensitivities + 6 heatmaps + 3 re-run + 3 robustness (logit, scatter, folds)
check test "$(sed -n 's/.*name="threadx-charts" content="\([0-9]*\)".*/\1/p' r4.html)" = 17
check grep -q "PBO = $pbo</p>" r4.html
check grep -q '8 blocks, 70 splits, 36 candidates' r4.html
check grep -q '<h3>Deflated Sharpe' r4.html
check grep -q '<h3>Walk-forward' r4.html
check grep -q '<h2>Top 5 by sharpe</h2>' r4.html
check grep -q '(complete)' r4.html
if grep -q 'PARTIAL' r4.html; then fail "a complete file reported as partial"; fi
# Nothing is loaded from the network: no src= or href= to anything but the page itself.
if grep -Eo '(src|href)="[a-z]+://[^"]*' r4.html | grep -q .; then fail "the page loads an URL"; fi

# ---- --keep none and top: the report drawn from /aggregates ----------------------------------
case="aggregates"
"$bin" -q sweep --data "$data960" --grid grid4.toml --out none.h5 --keep none
"$bin" -q sweep --data "$data960" --grid grid4.toml --out top.h5 --keep top:5:sharpe,top:3:fees
"$bin" -q report s4.h5 --out "$work/all.html" > /dev/null
for k in none top; do
  "$bin" -q report $k.h5 --out "$work/$k.html" > /dev/null
  render "$work/$k.html"
  # 1 histogram + 4 sensitivities + 6 heatmaps + 3 re-run
  check test "$(sed -n 's/.*name="threadx-charts" content="\([0-9]*\)".*/\1/p' $k.html)" = 14
  check grep -q 'Drawn from the aggregates' $k.html
  check grep -q 'mean (line), mean ± 1 sd (band)' $k.html
  # Each heatmap cell's best value and best combination are those of the report from every row.
  diff <(grep -o '"best":[^,]*,"mid":[^,]*,"n":[0-9]*,"combo":"[^"]*"' all.html | sed 's/"mid":[^,]*,//') \
       <(grep -o '"best":[^,]*,"mid":[^,]*,"n":[0-9]*,"combo":"[^"]*"' $k.html | sed 's/"mid":[^,]*,//') \
    > /dev/null || fail "$k.html: heatmap cells differ from the report of every row"
  # The same best combination re-run.
  check test "$(grep -o '#[0-9]*: bb_period[^<]*trades' all.html)" = \
             "$(grep -o '#[0-9]*: bb_period[^<]*trades' $k.html)"
done
render "$work/none.html" "#mean"  # the heatmaps switched to the mean
check grep -q '<body[^>]*data-stat="mid"' none.html.dom
check grep -q '<h2>Top by sharpe</h2>' none.html
check grep -q 'The sweep kept no rows' none.html
check grep -q '<h2>Top 8 by sharpe</h2>' top.html  # the union of the 5 + 3 kept, by sharpe
# The top table of the kept rows is `threadx top` of the full file.
check test "$("$bin" -q top s4.h5 --by sharpe -n 5 --csv | cut -d, -f2 | tail -n +2 | tr '\n' ' ')" = \
           "$(grep -o '<tr[^>]*><td>[0-9]*</td><td>[0-9]*</td>' top.html | sed 's/.*<td>\([0-9]*\)<\/td>$/\1/' | head -5 | tr '\n' ' ')"
# Another metric: no histogram (the sweep bins sharpe only), said so.
"$bin" -q report none.h5 --out "$work/none_sortino.html" --metric sortino > /dev/null
render "$work/none_sortino.html"
check test "$(sed -n 's/.*name="threadx-charts" content="\([0-9]*\)".*/\1/p' none_sortino.html)" = 13
check grep -q "The file's histogram is of sharpe" none_sortino.html
# Kept rows whose metric is infinite (a profit factor without a losing trade) are left out of the
# top table, as they are from the counts.
"$bin" -q sweep --data "$data49k" --grid "$src/tests/grids/mid_34560.toml" --ids 17000:17960 \
  --keep top:3:profit_factor --out pf.h5
"$bin" -q report pf.h5 --metric profit_factor --data "$data49k" --out "$work/pf.html" > /dev/null
check grep -q '48 with a non-finite profit_factor left out' pf.html
check grep -q 'those with a finite profit_factor' pf.html
if grep -q '<td>inf</td>' pf.html; then fail "an infinite profit_factor in the top table"; fi

# ---- one swept parameter, no --robust -------------------------------------------------------
case="one parameter"
printf '[grid]\nbb_period = { start = 10, stop = 40, step = 2 }\n' > grid1.toml
"$bin" -q sweep --data "$data960" --grid grid1.toml --out s1.h5
"$bin" -q report s1.h5 --out "$work/r1.html" --metric total_return > /dev/null
render "$work/r1.html"
# 1 histogram + 1 sensitivity + 3 re-run, no heatmap, no robustness section
check test "$(sed -n 's/.*name="threadx-charts" content="\([0-9]*\)".*/\1/p' r1.html)" = 5
if grep -q 'id="robust"\|Heatmaps' r1.html; then fail "robustness or heatmaps on a 1-parameter run"; fi

# ---- a partial results file: reported as partial, still drawn -------------------------------
case="partial"
# stopped <out> <sweep args...>: a sweep of kill_217728 on the long file, stopped by SIGTERM half a
# second in; true when it exited 3 (stopped, resumable) leaving <out>.partial.
stopped() {
  local out="$1" rc; shift
  set +e
  "$bin" -q sweep --data "$data49k" --grid "$src/tests/grids/kill_217728.toml" --out "$out" \
    --threads 1 --flush-interval 0.1 "$@" > /dev/null 2> sweep.log &
  local pid=$!
  for _ in $(seq 1 500); do [ -e "$out.partial" ] && break; sleep 0.01; done
  sleep 0.5
  kill -TERM "$pid"; wait "$pid"; rc=$?
  set -e
  [ "$rc" = 3 ] && [ -e "$out.partial" ] && return 0
  fail "the sweep ($*) was not stopped mid-way (exit $rc): $(cat sweep.log)"
  return 1
}
# Small storage chunks: a chunk's rows count as done once the whole chunk is stored, and a slow
# (sanitizer) build finishes few units in half a second.
if stopped p.h5 --chunk-rows 64; then
  "$bin" -q report p.h5.partial --out "$work/rp.html" > /dev/null
  check grep -q 'PARTIAL RESULTS: [0-9]* of 217728 combinations are done' rp.html
  check grep -q 'class="banner"' rp.html
  render "$work/rp.html"
fi
# A --keep top run stopped mid-way: its kept rows are not written yet; the page says so.
if stopped pt.h5 --keep top:50:sharpe; then
  "$bin" -q report pt.h5.partial --out "$work/pt.html" > /dev/null
  check grep -q 'it kept only the best rows (--keep top:50:sharpe), which are written when the run ends' pt.html
  check grep -q 'PARTIAL RESULTS' pt.html
fi

# ---- bad inputs -------------------------------------------------------------------------------
case="bad inputs"
refuse "missing.h5: no such file" missing.h5 --out bad.html
refuse "not an HDF5 file" "$data960" --out bad.html
refuse "not a threadx results file" "$robust" --out bad.html
refuse "unknown metric 'sharp' (metrics: total_return" s4.h5 --metric sharp --out bad.html
refuse "not a threadx robustness file" s4.h5 --robust s1.h5 --out bad.html
refuse "nodir/bad.html.partial: cannot write" s4.h5 --out nodir/bad.html
refuse "none.h5: --min-trades needs every row" none.h5 --min-trades 5 --out bad.html
printf '[grid]\nbb_period = [20]\n' > grid0.toml  # one combination: /aggregates has no cells
"$bin" -q sweep --data "$data960" --grid grid0.toml --keep none --out none0.h5
refuse "none0.h5: the grid sweeps no parameter over two or more values" none0.h5 --out bad.html
# The data file changed since the sweep: named, with the recorded SHA-256.
cp "$data960" bars.csv
"$bin" -q sweep --data bars.csv --grid grid1.toml --out sc.h5
sed -i '$d' bars.csv  # one bar less
refuse "bars.csv: the data file changed since the sweep" sc.h5 --out bad.html
refuse "the data file changed since the sweep" sc.h5 --data bars.csv --out bad.html
# An existing page is replaced whole, never left half-written.
echo old > keep.html
"$bin" -q report s1.h5 --out keep.html > /dev/null
check grep -q 'threadx-charts' keep.html

echo "report: $((checks - fails)) passed, $fails failed"
[ "$fails" = 0 ]
