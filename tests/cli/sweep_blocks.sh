#!/usr/bin/env bash
# sweep --blocks S (docs/ROBUST.md section 1, docs/SWEEP.md): /blocks (combinations, S) with the
# attribute blocks = S; its bytes do not depend on the thread count or the unit size; without
# --blocks the file has no /blocks; a resume must use the same --blocks; a bad S is a one-line
# error naming --blocks, exit 1, and no output file. (Every SIMD path: isa_paths.sh; kills and
# resume: kill_test_short.sh; ranks: mpi_sweep.sh.)
#   bash tests/cli/sweep_blocks.sh <threadx binary> <source dir>
set -euo pipefail
bin="$1"; src="$2"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
short="$src/data/BTCUSDT_15m_2024-12-01_2024-12-10.csv"
grid="$src/tests/grids/mpi_21870.toml"
fail() { echo "FAIL: $*" >&2; exit 1; }
attr() { "$bin" info "$1" | sed -n "s/^$2: //p"; }
raw() { h5dump -b NATIVE -o "$work/raw.bin" -d "$2" "$1" > /dev/null; sha256sum < "$work/raw.bin"; }
sweep() { "$bin" -q sweep --data "$short" --grid "$grid" "$@"; }

sweep --blocks 8 --threads 1 --unit-size 4096 --out "$work/a.h5" || fail "sweep --blocks 8"
h5ls "$work/a.h5/blocks" | grep -q 'Dataset {21870, 8}' || fail "/blocks shape: $(h5ls "$work/a.h5/blocks")"
[ "$(attr "$work/a.h5" blocks)" = 8 ] || fail "attribute blocks is '$(attr "$work/a.h5" blocks)'"
h5dump -H -d /blocks "$work/a.h5" | tr -s ' \n' ' ' \
  | grep -q 'H5T_COMPOUND { H5T_IEEE_F64LE "sum_r"; H5T_IEEE_F64LE "sum_r2"; H5T_IEEE_F64LE "equity"; H5T_STD_I32LE "trades"; }' \
  || fail "/blocks type: $(h5dump -H -d /blocks "$work/a.h5")"
want="$(raw "$work/a.h5" /blocks)"
for run in "2 1" "2 37" "1 5"; do
  set -- $run
  sweep --blocks 8 --threads "$1" --unit-size "$2" --out "$work/b.h5" || fail "--threads $1 --unit-size $2"
  [ "$(raw "$work/b.h5" /blocks)" = "$want" ] || fail "--threads $1 --unit-size $2: /blocks bytes differ"
  h5diff "$work/a.h5" "$work/b.h5" /results || fail "--threads $1 --unit-size $2: /results differ"
  rm -f "$work/b.h5"
done
echo "ok: /blocks identical for threads 1-2, unit sizes 5, 37, 4096"

# The rows do not change when blocks are recorded, and a plain sweep has no /blocks.
sweep --out "$work/plain.h5" || fail "plain sweep"
h5diff "$work/a.h5" "$work/plain.h5" /results || fail "recording blocks changed /results"
if h5ls "$work/plain.h5/blocks" > /dev/null 2>&1; then fail "a sweep without --blocks has /blocks"; fi
[ -z "$(attr "$work/plain.h5" blocks)" ] || fail "a sweep without --blocks has the blocks attribute"

# Block sums add up to the whole run: the trades of the blocks are the row's trades, the last
# block's equity is its final equity (checked on a few rows through h5dump's text).
"$bin" top "$work/a.h5" --by sharpe -n 21870 --csv > "$work/rows.csv"
for id in 0 777 21869; do
  trades="$(awk -F, -v id="$id" 'NR == 1 { for (i = 1; i <= NF; ++i) { if ($i == "combo_id") k = i; if ($i == "trades") c = i } } NR > 1 && $k == id { print $c }' "$work/rows.csv")"
  # h5dump prints each cell's fields one per line: sum_r, sum_r2, equity, trades.
  sum="$(h5dump -d /blocks -s "$id,0" -c "1,8" "$work/a.h5" \
    | awk '/DATA \{/ { on = 1; next } on && /^ *-?[0-9.e+-]+,?$/ { gsub(/[ ,]/, ""); if (++n % 4 == 0) s += $0 } END { print s }')"
  [ -n "$trades" ] && [ "$trades" = "$sum" ] || fail "id $id: trades $trades, sum over blocks $sum"
done
echo "ok: block trades add up to the rows' trades"

# Resume (on the 49,632-bar file, long enough to be killed mid-run): only with the same --blocks;
# a refused resume leaves the partial file as it was; the finished file equals an unkilled run.
long="$src/data/BTCUSDT_15m_2023-10_2025-02.csv"
big="$src/tests/grids/kill_217728.toml"
lsweep() { "$bin" -q sweep --data "$long" --grid "$big" --threads 2 "$@"; }
lsweep --blocks 8 --out "$work/full.h5" || fail "long sweep"
"$bin" sweep --data "$long" --grid "$big" --threads 2 --blocks 8 --out "$work/r.h5" \
  --flush-interval 0.05 --progress-interval 0.2 2> "$work/run.log" & pid=$!
for _ in $(seq 1 600); do grep -q progress "$work/run.log" && break; sleep 0.05; done
kill -KILL "$pid" 2> /dev/null || true; wait "$pid" 2> /dev/null || true
[ -e "$work/r.h5.partial" ] || fail "the run finished before it was killed (machine too fast?)"
before="$(sha256sum < "$work/r.h5.partial")"
for other in "--blocks 16" ""; do
  if lsweep $other --out "$work/r.h5" --resume 2> "$work/err.log"; then fail "resume with '$other' succeeded"; fi
  grep -q "r.h5.partial: --resume: the file was made with --blocks 8" "$work/err.log" \
    || fail "resume with '$other': $(cat "$work/err.log")"
  [ "$(sha256sum < "$work/r.h5.partial")" = "$before" ] || fail "a refused resume changed the file"
done
lsweep --blocks 8 --out "$work/r.h5" --resume || fail "resume with --blocks 8"
[ "$(raw "$work/r.h5" /blocks)" = "$(raw "$work/full.h5" /blocks)" ] || fail "resumed /blocks differ"
h5diff "$work/r.h5" "$work/full.h5" /results || fail "resumed /results differ"
echo "ok: resume keeps /blocks bit-identical and refuses another --blocks"

# Bad S: one line, exit 1, no file.
tiny="$work/tiny.csv"
head -n 6 "$short" > "$tiny"  # header + 5 bars: T = 4 returns
for bad in "1|--blocks: must be between 2 and 64 (got 1)|$short" \
           "65|--blocks: must be between 2 and 64 (got 65)|$short" \
           "5|--blocks: 5 blocks need at least 6 bars; the data has 5|$tiny"; do
  IFS='|' read -r s msg data <<< "$bad"
  if "$bin" sweep --data "$data" --grid "$grid" --blocks "$s" --out "$work/bad.h5" 2> "$work/err.log"; then
    fail "--blocks $s succeeded"
  fi
  [ "$(grep -c . "$work/err.log")" = 1 ] || fail "--blocks $s: more than one line: $(cat "$work/err.log")"
  grep -qF -- "$msg" "$work/err.log" || fail "--blocks $s: $(cat "$work/err.log")"
  [ ! -e "$work/bad.h5" ] && [ ! -e "$work/bad.h5.partial" ] || fail "--blocks $s left a file"
done
echo "ok: bad --blocks values are one-line errors"
