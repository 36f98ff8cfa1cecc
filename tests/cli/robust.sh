#!/usr/bin/env bash
# threadx robust end to end on `threadx sweep --blocks S` output (and an engine-written fixture of
# a stopped sweep, threadx_tests' RobustFixture.WriteForCli):
#   - a full run (--cscv, --dsr, --wf-window): exit 0, the summary on stdout, the file complete
#     (no .partial left), the results file byte-identical before and after (sha256sum);
#   - the file renders in `threadx report --robust` (the page shows its PBO);
#   - any --threads gives the same datasets (h5diff), anchored mode and the defaults run;
#   - every refusal: exit 1, one stderr line with the reason, no output file, an existing output
#     untouched.
#   bash tests/cli/robust.sh <threadx binary> <source dir>
set -euo pipefail
bin="$(realpath "$1")"; src="$(realpath "$2")"
data960="$src/data/BTCUSDT_15m_2024-12-01_2024-12-10.csv"
work="$(mktemp -d /tmp/threadx-robust-cli.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
fails=0 checks=0 case=""
fail() { echo "FAIL [$case]: $*" >&2; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); "$@" || fail "check failed: $*"; }

# The sweep's own /blocks: S = 8 and S = 5, and a sweep without --blocks.
sweep() { "$bin" -q sweep --data "$data960" --grid "$src/data/grids/reference_24.toml" "$@"; }
sweep --blocks 8 --out sweep8.h5
sweep --blocks 5 --out sweep5.h5
sweep --out noblocks.h5
results=sweep8.h5
# A stopped sweep (complete = 0), which a sweep does not leave on purpose: the engine-written
# fixtures of threadx_tests' RobustFixture.WriteForCli (stopped.h5, blocks8.h5: 96 combinations).
THREADX_ROBUST_FIXTURE="$work" timeout -s KILL 300 "$(dirname "$bin")/threadx_tests" \
  --gtest_filter=RobustFixture.WriteForCli > fixture.log 2>&1 || { cat fixture.log; exit 1; }
[ -f stopped.h5 ] && [ -f blocks8.h5 ] || { cat fixture.log; exit 1; }

# refuse <want substring> <robust args...>: exit 1, one stderr line holding it, no out.h5.
refuse() {
  local want="$1"; shift
  checks=$((checks + 1))
  rm -f out.h5 out.h5.partial
  set +e; timeout -s KILL 120 "$bin" -q robust "$@" --out out.h5 > stdout.txt 2> stderr.txt
  local rc=$?; set -e
  [ "$rc" = 1 ] || fail "exit $rc, want 1: $(cat stderr.txt)"
  [ "$(wc -l < stderr.txt)" = 1 ] || fail "stderr not one line: $(cat stderr.txt)"
  grep -qF -- "$want" stderr.txt || fail "want '$want' in: $(cat stderr.txt)"
  [ ! -e out.h5 ] && [ ! -e out.h5.partial ] || fail "an output file was left behind"
}

# ---- a full run ----------------------------------------------------------------------------
case="full run"
before=$(sha256sum < "$results")
timeout -s KILL 300 "$bin" robust "$results" --out r.h5 --cscv --dsr 5 --wf-window 3 \
  > summary.txt 2> log.txt || { rc=$?; cat log.txt; fail "exit $rc"; }
check test "$(sha256sum < "$results")" = "$before"
check test -f r.h5
check test ! -e r.h5.partial
check grep -q 'PBO (probability of backtest overfitting)' summary.txt
check grep -q 'probability of an out-of-sample loss' summary.txt
check grep -q 'degradation: OOS Sharpe = ' summary.txt
check grep -q 'Deflated Sharpe Ratio of the 5 best by Sharpe' summary.txt
check grep -q 'stitched out of sample: Sharpe' summary.txt
check grep -Eq '^  DSR (undefined|[0-9.]+): ' summary.txt
check grep -q 'read .* rows of /blocks' log.txt
for obj in /cscv /cscv/splits /dsr /walk_forward /walk_forward/folds; do
  check h5ls "r.h5$obj" > /dev/null
done
pbo=$(h5dump -a /cscv/pbo r.h5 | sed -n 's/^ *(0): *//p')
echo "PBO in the file: $pbo; summary: $(grep PBO summary.txt | head -1)"
check test -n "$pbo"

# ---- the report renders it ------------------------------------------------------------------
case="report"
timeout -s KILL 300 "$bin" -q report "$results" --robust r.h5 --out page.html > /dev/null \
  || fail "threadx report --robust exited $?"
check grep -q "PBO = ${pbo:0:5}" page.html
check test "$(sha256sum < "$results")" = "$before"

# ---- same datasets for any thread count; anchored; the defaults -----------------------------
case="threads"
"$bin" -q robust "$results" --out t1.h5 --cscv --dsr 5 --wf-window 3 --threads 1 > /dev/null
for obj in /cscv /dsr /walk_forward; do
  check h5diff -q r.h5 t1.h5 "$obj" "$obj"
done
case="anchored"
"$bin" -q robust "$results" --out a.h5 --wf-window 2 --wf-mode anchored --wf-min-trades 0 \
  > a.txt
check grep -q 'anchored window of 2 block' a.txt
check test "$(h5dump -a /walk_forward/mode a.h5 | grep -c anchored)" -ge 1
case="defaults"
"$bin" -q robust "$results" --out d.h5 > d.txt
check grep -q 'Deflated Sharpe Ratio of the 10 best' d.txt
if h5ls d.h5/cscv > /dev/null 2>&1 || h5ls d.h5/walk_forward > /dev/null 2>&1; then
  fail "/cscv or /walk_forward written without --cscv / --wf-window"
fi

# ---- refusals ---------------------------------------------------------------------------------
case="refusals"
echo "not hdf5" > text.h5
refuse "missing.h5: no such file" missing.h5
refuse "text.h5: not an HDF5 file" text.h5
refuse "noblocks.h5: no /blocks: run the sweep with --blocks S" noblocks.h5
refuse "CSCV needs an even S" sweep5.h5 --cscv
"$bin" -q sweep --data "$data960" --grid "$src/data/grids/reference_24.toml" --blocks 26 --out s26.h5
refuse "has S = 26 blocks; CSCV is limited to S <= 24" s26.h5 --cscv
# A file of another strategy version: refused before any work (its re-runs would not match).
cp "$results" other.h5
/usr/bin/python3 -c 'import h5py, numpy, sys; f = h5py.File(sys.argv[1], "r+"); f.attrs["strategy_version"] = numpy.int64(99)' other.h5
refuse "other.h5: made by strategy bb_atr version 99; this threadx runs bb_atr version 1" other.h5
refuse "--wf-window 8: must be between 1 and S - 1 = 7" "$results" --wf-window 8
refuse "--wf-window 9: must be between 1 and S - 1 = 7" "$results" --wf-window 9
refuse "--wf-window 0: must be at least 1" "$results" --wf-window 0
refuse "--wf-mode sliding: must be rolling or anchored" "$results" --wf-window 2 --wf-mode sliding
refuse "finish it with threadx sweep --resume" stopped.h5
refuse "--dsr 0: K must be at least 1" "$results" --dsr 0
refuse "--wf-min-trades -1: must be >= 0" "$results" --wf-window 2 --wf-min-trades -1
# The bars for the DSR's re-runs: a sweep whose data file is gone, then changed, then given.
cp "$data960" bars.csv
"$bin" -q sweep --data bars.csv --grid "$src/data/grids/reference_24.toml" --blocks 4 --out moved.h5
mkdir elsewhere && mv bars.csv elsewhere/
refuse "The data file bars.csv was not found" moved.h5
sed '$d' "$data960" > bars.csv  # the same name, one bar less
refuse "bars.csv: the data file changed since the sweep" moved.h5
rm bars.csv
"$bin" -q robust moved.h5 --data elsewhere/bars.csv --out moved_robust.h5 > /dev/null
check h5ls moved_robust.h5/dsr > /dev/null
# An existing output: refused and untouched without --force, replaced with it.
echo "keep me" > out.h5
set +e; "$bin" -q robust "$results" --out out.h5 > /dev/null 2> stderr.txt; rc=$?; set -e
check test "$rc" = 1
check grep -qF "out.h5: already exists; add --force to replace it" stderr.txt
check test "$(cat out.h5)" = "keep me"
"$bin" -q robust "$results" --out out.h5 --force > /dev/null
check h5ls out.h5/dsr > /dev/null
# Never over the results file, even with --force.
cp "$results" copy.h5
set +e; "$bin" -q robust copy.h5 --out copy.h5 --force > /dev/null 2> stderr.txt; rc=$?; set -e
check test "$rc" = 1
check grep -qF "that is the results file itself" stderr.txt
check cmp -s copy.h5 "$results"

echo "robust.sh: $checks checks, $fails failures"
[ "$fails" = 0 ]
