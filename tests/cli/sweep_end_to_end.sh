#!/usr/bin/env bash
# threadx sweep/top/info end to end on the bundled real BTC data: a full sweep, the ranking,
# a sweep stopped by SIGTERM and resumed (rows bit-identical to the uninterrupted run, checked
# with h5diff), and refusals that must leave no results file behind.
set -euo pipefail
bin="$1"; src="$2"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
data="$src/data/BTCUSDT_15m_2024-12-01_2024-12-10.csv"
fail() { echo "FAIL: $*" >&2; exit 1; }

# ---- a complete sweep of the reference grid and its ranking ----
"$bin" sweep --data "$data" --grid "$src/data/grids/reference_24.toml" --out "$work/a.h5" \
  2> "$work/a.log" || { cat "$work/a.log"; fail "sweep failed"; }
grep -q "done: 24 combinations" "$work/a.log" || fail "no summary line: $(cat "$work/a.log")"
grep -q "indicator bank: 11 series built (4 SMA, 4 std, 0 EMA, 3 ATR)" "$work/a.log" \
  || fail "bank accounting: $(grep 'indicator bank' "$work/a.log")"
[ -f "$work/a.h5" ] && [ ! -e "$work/a.h5.partial" ] || fail "file not renamed into place"
h5dump -H "$work/a.h5" >"$work/a.header" || fail "h5dump failed"
grep -q 'DATASET "results"' "$work/a.header" || fail "no /results dataset"
"$bin" info "$work/a.h5" > "$work/info.txt"
grep -q "^complete: 1$" "$work/info.txt" || fail "not complete: $(cat "$work/info.txt")"
grep -q "^rows: 24 (24 done)$" "$work/info.txt" || fail "rows line"
"$bin" top "$work/a.h5" --by sharpe -n 3 --csv > "$work/top.csv"
[ "$(wc -l < "$work/top.csv")" = 4 ] || fail "top -n 3 gave $(wc -l < "$work/top.csv") lines"
head -1 "$work/top.csv" | grep -q "^rank,combo_id,bb_period,bb_std,atr_period,total_return,sharpe" \
  || fail "csv header: $(head -1 "$work/top.csv")"
# Descending by sharpe.
awk -F, 'NR>2 && $7 > prev {exit 1} NR>1 {prev=$7}' "$work/top.csv" || fail "top not sorted"

# ---- refusals: one line naming the problem, non-zero exit, no results file ----
expect_error() {  # expect_error <pattern> <args...>
  local pattern="$1"; shift
  if "$bin" "$@" > "$work/err.out" 2> "$work/err.log"; then fail "succeeded: $*"; fi
  grep -q -- "$pattern" "$work/err.log" || fail "expected '$pattern' from '$*', got: $(cat "$work/err.log")"
}
expect_error "already exists; add --force" sweep --data "$data" --grid "$src/data/grids/reference_24.toml" --out "$work/a.h5"
printf 'strategy = "bb_atr"\n[grid]\nbb_period = [1, 20]\n' > "$work/bad.toml"
expect_error "bad.toml:3: key 'grid.bb_period'" sweep --data "$data" --grid "$work/bad.toml" --out "$work/b.h5"
[ ! -e "$work/b.h5" ] && [ ! -e "$work/b.h5.partial" ] || fail "bad grid left a file"
printf 'timestamp,open,high,low,close,volume\n1,1,2,0.5,1.5,10\n2,1,2,0.5,nan,10\n' > "$work/bad.csv"
expect_error "bad.csv:3:" sweep --data "$work/bad.csv" --grid "$src/data/grids/reference_24.toml" --out "$work/c.h5"
[ ! -e "$work/c.h5" ] && [ ! -e "$work/c.h5.partial" ] || fail "bad data left a file"
expect_error "cannot create" sweep --data "$data" --grid "$src/data/grids/reference_24.toml" --out "$work/no/such/dir/d.h5"
expect_error "no such column" top "$work/a.h5" --by nonsense
# --write-path ranks stores compressed chunks of every row.
g24="$src/data/grids/reference_24.toml"
expect_error "ranks stores rows: it needs --keep all" sweep --data "$data" --grid "$g24" --out "$work/e.h5" --write-path ranks --keep none
expect_error "drop --compress 0" sweep --data "$data" --grid "$g24" --out "$work/e.h5" --write-path ranks --compress 0
expect_error "drop --chunk-rows" sweep --data "$data" --grid "$g24" --out "$work/e.h5" --write-path ranks --chunk-rows 64
expect_error "write-path" sweep --data "$data" --grid "$g24" --out "$work/e.h5" --write-path disk
[ ! -e "$work/e.h5" ] && [ ! -e "$work/e.h5.partial" ] && [ ! -e "$work/e.h5.parts" ] || fail "a refused --write-path left a file"
[ "$(wc -l < "$work/err.log")" = 1 ] || fail "not one line: $(cat "$work/err.log")"

cp "$src/tests/grids/mid_34560.toml" "$work/mid.toml"
"$bin" sweep --data "$src/data/BTCUSDT_15m_2023-10_2025-02.csv" --grid "$work/mid.toml" \
  --out "$work/full.h5" --unit-size 500 2> "$work/full.log" || { cat "$work/full.log"; fail "full run"; }
"$bin" sweep --data "$src/data/BTCUSDT_15m_2023-10_2025-02.csv" --grid "$work/mid.toml" \
  --out "$work/cut.h5" --unit-size 64 --threads 1 --isa scalar --flush-interval 0.05 \
  2> "$work/cut.log" &
pid=$!
sleep 1.5
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" = 3 ] || { cat "$work/cut.log"; fail "stopped run exited $rc, want 3"; }
[ -e "$work/cut.h5.partial" ] && [ ! -e "$work/cut.h5" ] || fail "stopped run: want only the .partial file"
grep -q "with --resume to finish" "$work/cut.log" || fail "no resume hint"
expect_error "add --resume" sweep --data "$src/data/BTCUSDT_15m_2023-10_2025-02.csv" --grid "$work/mid.toml" --out "$work/cut.h5"
"$bin" sweep --data "$src/data/BTCUSDT_15m_2023-10_2025-02.csv" --grid "$work/mid.toml" \
  --out "$work/cut.h5" --resume --unit-size 1000 2> "$work/resume.log" \
  || { cat "$work/resume.log"; fail "resume"; }
grep -q "resuming" "$work/resume.log" || fail "resume did not resume: $(cat "$work/resume.log")"
h5diff "$work/full.h5" "$work/cut.h5" /results /results || fail "resumed rows differ"
h5diff "$work/full.h5" "$work/cut.h5" /done /done || fail "done flags differ"

# ---- the same with the rows stored by the ranks (--write-path ranks): stopped, the .partial
# holds no rows yet (top says to resume); stopped again in the resume, killed in the next one;
# the last resume joins the part files: the same values; a second file moved away keeps its
# parts when a new run takes its old name ----
long="$src/data/BTCUSDT_15m_2023-10_2025-02.csv"
cut_ranks() {  # cut_ranks SIGNAL SECONDS [--resume]: a --write-path ranks run of mid.toml, signalled
  "$bin" sweep --data "$long" --grid "$work/mid.toml" --out "$work/rk.h5" --write-path ranks \
    --unit-size 64 --threads 1 --isa scalar --flush-interval 0.05 "${@:3}" 2>> "$work/rk.log" &
  local p=$!
  sleep "$2"
  kill "-$1" "$p" 2> /dev/null || true
  set +e; { wait "$p"; } 2> /dev/null; rc=$?; set -e
}
cut_ranks TERM 1.5
[ "$rc" = 3 ] || { cat "$work/rk.log"; fail "--write-path ranks: stopped run exited $rc, want 3"; }
if "$bin" top "$work/rk.h5.partial" > "$work/rk.top" 2>&1; then fail "top read the rows of a stopped ranks run"; fi
grep -q "has not ended (--resume it)" "$work/rk.top" || fail "top on a stopped ranks run: $(cat "$work/rk.top")"
"$bin" info "$work/rk.h5.partial" | grep -q "stored by the ranks in part files, joined when the run ends" \
  || fail "info on a stopped ranks run: $("$bin" info "$work/rk.h5.partial" | tail -2)"
cut_ranks TERM 0.8 --resume
cut_ranks KILL 0.8 --resume
if [ -e "$work/rk.h5.partial" ] && "$bin" top "$work/rk.h5.partial" > "$work/rk.top" 2>&1; then
  fail "top read rows of a ranks run killed in its resume"
fi
"$bin" sweep --data "$long" --grid "$work/mid.toml" --out "$work/rk.h5" --resume 2>> "$work/rk.log" \
  || { cat "$work/rk.log"; fail "--write-path ranks: last resume"; }
h5diff "$work/full.h5" "$work/rk.h5" /results /results || fail "--write-path ranks, resumed: rows differ"
h5diff "$work/full.h5" "$work/rk.h5" /done /done || fail "--write-path ranks, resumed: done flags differ"
mv "$work/rk.h5" "$work/moved.h5"
"$bin" -q sweep --data "$data" --grid "$src/data/grids/reference_24.toml" --out "$work/rk.h5" --write-path ranks \
  || fail "a new ranks run under the moved file's old name"
h5diff "$work/full.h5" "$work/moved.h5" /results /results || fail "the moved file lost its part files"
touch "$work/g.h5.parts"
expect_error "cannot create the directory of the ranks' part files" sweep --data "$data" --grid "$g24" --out "$work/g.h5" --write-path ranks
[ ! -e "$work/g.h5" ] && [ ! -e "$work/g.h5.partial" ] || fail "a refused --write-path ranks run left a file"
echo "ok"
