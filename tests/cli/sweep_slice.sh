#!/usr/bin/env bash
# sweep --ids BEGIN:END, a slice of a grid (docs/SWEEP.md "A slice of the grid"; issue 19 item 4):
# - with --keep all its rows are the whole grid's rows of those ids, byte for byte, row k being id
#   BEGIN + k, and `threadx top` and `report` name the right ids;
# - on the 10^10-combination grid (data/grids/sim_10b.toml) a slice kept as top:1000:sharpe, stopped
#   by SIGTERM as a SLURM time limit would (with progress and ETA logged) and resumed, ends with the
#   aggregates of the --keep all run of the same slice (h5diff) and the top 1000 of its rows;
# - a resume must give the same --ids; a bad --ids is one line, exit 1, and no file.
#   bash tests/cli/sweep_slice.sh <threadx binary> <source dir>
set -euo pipefail
bin="$1"; src="$2"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
short="$src/data/BTCUSDT_15m_2024-12-01_2024-12-10.csv"
fail() { echo "FAIL: $*" >&2; exit 1; }
sweep() { "$bin" -q sweep --data "$short" "$@"; }
# raw <file> <dataset> [start count]: sha256 of the dataset's bytes (of rows [start, start+count)).
raw() {
  local sel=(); [ $# -gt 2 ] && sel=(-s "$3" -c "$4")
  h5dump -b NATIVE -o "$work/raw.bin" -d "$2" "${sel[@]}" "$1" > /dev/null
  sha256sum < "$work/raw.bin" | cut -d' ' -f1
}

# ---- --keep all: the slice's rows are the whole run's ------------------------------------------
mid="$src/tests/grids/mid_34560.toml"  # 144 key groups of 240: the slice cuts groups and blocks
sweep --grid "$mid" --out "$work/whole.h5" || fail "whole run"
sweep --grid "$mid" --ids 10001:23457 --unit-size 37 --out "$work/slice.h5" || fail "slice run"
h5ls "$work/slice.h5/results" | grep -q 'Dataset {13456}' || fail "/results: $(h5ls "$work/slice.h5/results")"
[ "$(raw "$work/slice.h5" /results)" = "$(raw "$work/whole.h5" /results 10001 13456)" ] \
  || fail "the slice's rows are not the whole run's rows of ids 10001..23456"
[ "$("$bin" info "$work/slice.h5" | sed -n 's/^complete: //p')" = 1 ] || fail "slice not complete"
first="$("$bin" top "$work/slice.h5" --by combo_id --ascending -n 1 --csv | tail -1 | cut -d, -f2)"
[ "$first" = 10001 ] || fail "the slice's first row is id $first"
"$bin" top "$work/whole.h5" --by sharpe -n 34560 --csv > "$work/whole.csv"
best_whole="$(awk -F, 'NR > 1 && $2 >= 10001 && $2 < 23457 { print $2; exit }' "$work/whole.csv")"
best_slice="$("$bin" top "$work/slice.h5" --by sharpe -n 1 --csv | tail -1 | cut -d, -f2)"
[ "$best_whole" = "$best_slice" ] || fail "best of the slice: $best_slice, of the whole run's ids: $best_whole"
"$bin" -q report "$work/slice.h5" --out "$work/slice.html" > /dev/null || fail "report of a slice"
grep -q "#$best_slice: " "$work/slice.html" || fail "the report does not re-run #$best_slice"
echo "ok: a --keep all slice holds the whole run's rows of its ids; top and report name them"

# ---- the 10^10 grid: a slice kept as top:1000:sharpe, stopped and resumed ----------------------
g10="$src/data/grids/sim_10b.toml"
ids=5000000000:5002000000  # 2,000,000 ids across a key-group boundary (at 5,000,486,400)
sweep --grid "$g10" --ids "$ids" --out "$work/b_all.h5" || fail "--keep all slice of sim_10b"
"$bin" sweep --data "$short" --grid "$g10" --ids "$ids" --keep top:1000:sharpe --out "$work/b_top.h5" \
  --flush-interval 0.05 --progress-interval 0.1 2> "$work/run.log" & pid=$!
for _ in $(seq 1 1200); do grep -q progress "$work/run.log" && break; sleep 0.05; done
kill -TERM "$pid" 2> /dev/null || true
set +e; wait "$pid"; rc=$?; set -e
grep -q 'progress [0-9,]*/2,000,000 (.*ETA' "$work/run.log" || fail "no progress with ETA: $(cat "$work/run.log")"
[ "$rc" = 3 ] || fail "the stopped slice exited $rc, want 3 (stopped, resumable): $(tail -3 "$work/run.log")"
[ -e "$work/b_top.h5.partial" ] || fail "no partial file after the stop"
# A resume must name the same slice; a refusal leaves the file as it was.
before="$(sha256sum < "$work/b_top.h5.partial")"
set +e
"$bin" -q sweep --data "$short" --grid "$g10" --ids 5000000000:5002000001 --keep top:1000:sharpe \
  --out "$work/b_top.h5" --resume 2> "$work/err.txt"; rc=$?
set -e
[ "$rc" = 1 ] && [ "$(wc -l < "$work/err.txt")" = 1 ] && grep -q 'same --ids' "$work/err.txt" \
  || fail "resume with other --ids: exit $rc: $(cat "$work/err.txt")"
[ "$(sha256sum < "$work/b_top.h5.partial")" = "$before" ] || fail "a refused resume changed the file"
sweep --grid "$g10" --ids "$ids" --keep top:1000:sharpe --out "$work/b_top.h5" --resume \
  || fail "resume of the slice"
h5diff "$work/b_all.h5" "$work/b_top.h5" /aggregates /aggregates \
  || fail "the stopped and resumed slice's aggregates differ from the --keep all slice's"
"$bin" top "$work/b_all.h5" --by sharpe -n 1000 --csv | cut -d, -f2 | sort > "$work/want_ids"
"$bin" top "$work/b_top.h5" --by sharpe -n 1000 --csv | cut -d, -f2 | sort > "$work/got_ids"
cmp -s "$work/want_ids" "$work/got_ids" || fail "/kept is not the top 1000 of the slice's rows"
echo "ok: a sim_10b slice stopped and resumed has the aggregates and top 1000 of the --keep all slice"

# ---- bad --ids: one line, exit 1, no file --------------------------------------------------------
refuse() {
  local want="$1"; shift
  set +e; "$bin" -q sweep --data "$short" --grid "$mid" --out "$work/bad.h5" "$@" 2> "$work/err.txt"; local rc=$?; set -e
  [ "$rc" = 1 ] || fail "$*: exit $rc, want 1"
  [ "$(wc -l < "$work/err.txt")" = 1 ] || fail "$*: not one line: $(cat "$work/err.txt")"
  grep -qF -- "$want" "$work/err.txt" || fail "$*: want '$want' in: $(cat "$work/err.txt")"
  [ ! -e "$work/bad.h5" ] && [ ! -e "$work/bad.h5.partial" ] || fail "$*: a file was left"
}
refuse "--ids 'x': want BEGIN:END" --ids x
refuse "--ids 5:3: BEGIN must be below END" --ids 5:3
refuse "--ids 0:34561: the grid has 34560 combinations" --ids 0:34561
refuse "--blocks needs the whole grid" --ids 0:100 --blocks 8
echo "ok: bad --ids refused"
