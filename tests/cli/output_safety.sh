#!/usr/bin/env bash
# Output safety end to end: an existing results file is never replaced without --force; --resume
# refuses a file made for another grid, data file or timeframe (checked against its attributes)
# and leaves it untouched; bad --out paths, a full disk (a 1-8 MiB tmpfs) and a read-only
# directory (a read-only bind mount) give one clear error line and exit status 1. A run that hits
# the full disk mid-way loses nothing: once space is freed, --resume finishes it and the rows equal
# an uninterrupted run bit for bit (h5diff, no tolerance). The disk and read-only cases run in a
# private mount namespace (unshare -m, needs root); without one they are reported as skipped.
#   bash tests/cli/output_safety.sh <threadx binary> <source dir>
set -euo pipefail
bin="$(realpath "$1")"; src="$(realpath "$2")"; self="$(realpath "$0")"
data960="$src/data/BTCUSDT_15m_2024-12-01_2024-12-10.csv"
data49k="$src/data/BTCUSDT_15m_2023-10_2025-02.csv"
grid24="$src/data/grids/reference_24.toml"
fails=0 checks=0
fail() { echo "FAIL [$case]: $*" >&2; fails=$((fails + 1)); }
stamp() { echo "$(sha256sum < "$1") $(stat -c %y "$1")"; }

# refuse <want substring> <sweep args...>: exit 1, one stderr line holding the substring.
refuse() {
  local want="$1"; shift
  checks=$((checks + 1))
  set +e; "$bin" -q sweep "$@" > stdout.txt 2> stderr.txt; local rc=$?; set -e
  [ "$rc" = 1 ] || fail "exit $rc, want 1: $(cat stderr.txt)"
  [ "$(wc -l < stderr.txt)" = 1 ] || fail "stderr not one line: $(cat stderr.txt)"
  grep -qF -- "$want" stderr.txt || fail "want '$want' in: $(cat stderr.txt)"
}
# untouched <file> <stamp before>
untouched() {
  checks=$((checks + 1))
  [ -e "$1" ] && [ "$(stamp "$1")" = "$2" ] || fail "$1 was modified or removed"
}
only() {  # only <dir> <names...>: the directory holds exactly these entries
  local d="$1"; shift
  checks=$((checks + 1))
  [ "$(ls -A "$d" | sort | tr '\n' ' ')" = "$(for n in "$@"; do echo "$n"; done | sort | tr '\n' ' ')" ] \
    || fail "$d holds: $(ls -A "$d" | tr '\n' ' ') (want: $*)"
}

if [ "${3:-}" = "--namespace-part" ]; then
  # ---- inside a private mount namespace (nothing mounted here is visible outside) -----------
  work="$4"; cd "$work"
  mid="$work/mid.toml"
  # Full disk, caught up front: 34,560 uncompressed combinations need 4.6 MB, the tmpfs has 1 MiB;
  # compressed, the pre-check counts a tenth of the rows (0.49 MB) and lets it start.
  case="disk: too small up front"
  mkdir -p small && mount -t tmpfs -o size=1M threadx_small small
  refuse "small/r.h5.partial: the results file needs 0.0046 GB (34,560 combinations x 133 bytes) but small has 0.00105 GB free" \
    --data "$data960" --grid "$mid" --out small/r.h5 --compress 0
  only small
  # Full disk mid-run: the tmpfs has room for the file, then something else fills it.
  case="disk: fills during the run"
  mkdir -p full && mount -t tmpfs -o size=8M threadx_full full
  set +e
  "$bin" -q sweep --data "$data49k" --grid "$mid" --out full/r.h5 --threads 1 --unit-size 64 \
    --flush-interval 0.05 > /dev/null 2> full.log &
  pid=$!
  for _ in $(seq 1 1000); do [ -e full/r.h5.partial ] && break; sleep 0.01; done
  sleep 0.3  # let some units reach the file (the run takes seconds; the checks below hold anyway)
  dd if=/dev/zero of=full/filler bs=64k status=none 2> /dev/null
  wait "$pid"; rc=$?
  set -e
  checks=$((checks + 1))
  [ "$rc" = 1 ] || fail "exit $rc, want 1 (the run must hit the full disk): $(cat full.log)"
  [ "$(wc -l < full.log)" = 1 ] && grep -q "error full/r.h5.partial: HDF5 write of a /results chunk failed (disk full or unwritable?)\|error full/r.h5.partial: HDF5 write /results failed (disk full or unwritable?)\|error full/r.h5.partial: HDF5 write /done failed (disk full or unwritable?)\|error full/r.h5.partial: HDF5 flush failed (disk full or unwritable?)" full.log \
    || fail "want one 'disk full' line naming the file: $(cat full.log)"
  only full filler r.h5.partial
  done_before="$("$bin" info full/r.h5.partial | sed -n 's/^rows: .*(\(.*\) done)$/\1/p')"
  rm full/filler
  case="disk: resume after freeing space"
  "$bin" -q sweep --data "$data49k" --grid "$mid" --out full/r.h5 --resume --threads 2 2> resume.log \
    || fail "resume failed: $(cat resume.log)"
  checks=$((checks + 1))
  h5diff -q reference_mid.h5 full/r.h5 /results /results && h5diff -q reference_mid.h5 full/r.h5 /done /done \
    || fail "rows after disk full + resume differ from the uninterrupted run"
  "$bin" info full/r.h5 | grep -q '^complete: 1$' || fail "not complete after resume"
  echo "disk full mid-run: ${done_before:-?} of 34560 combinations were saved before the disk filled; resume finished, rows identical"

  # Read-only directory (root ignores permission bits, so a read-only bind mount).
  case="read-only: create"
  mkdir -p ro && cp -p "$work/keep/ref.h5" ro/r.h5.partial && before="$(stamp ro/r.h5.partial)"
  mount --bind ro ro && mount -o remount,bind,ro ro
  refuse "ro/new.h5.partial: cannot create file" --data "$data960" --grid "$grid24" --out ro/new.h5
  case="read-only: resume"
  refuse "ro/r.h5.partial: --resume: cannot open for writing (read-only, or in use by another run?)" \
    --data "$data960" --grid "$grid24" --out ro/r.h5 --resume
  untouched ro/r.h5.partial "$before"
  only ro r.h5.partial
  echo "namespace part: $checks checks, $fails failed"
  [ "$fails" = 0 ]
  exit
fi

work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cd "$work"; mkdir keep out
"$bin" -q sweep --data "$data960" --grid "$grid24" --out keep/ref.h5
printf 'strategy = "bb_atr"\n[grid]\nbb_period = [20, 30]\n' > other.toml
head -101 "$data960" > base100.csv

case="existing file without --force"
cp -p keep/ref.h5 out/r.h5; before="$(stamp out/r.h5)"
refuse "out/r.h5: already exists; add --force to replace it" --data "$data960" --grid "$grid24" --out out/r.h5
untouched out/r.h5 "$before"; only out r.h5
case="existing file, --resume with another grid"
refuse "out/r.h5: --resume: the file was made for another grid (attribute grid_text differs)" \
  --data "$data960" --grid other.toml --out out/r.h5 --resume
untouched out/r.h5 "$before"; only out r.h5
case="existing file, --resume with other data"
refuse "out/r.h5: --resume: the file was made for other data (attribute data_sha256 differs)" \
  --data base100.csv --grid "$grid24" --out out/r.h5 --resume
untouched out/r.h5 "$before"
case="existing complete file, --resume with the same run"
checks=$((checks + 1))
"$bin" -q sweep --data "$data960" --grid "$grid24" --out out/r.h5 --resume 2> stderr.txt || fail "refused: $(cat stderr.txt)"
untouched out/r.h5 "$before"; only out r.h5

rm -f out/*
cp -p keep/ref.h5 out/r.h5.partial; before="$(stamp out/r.h5.partial)"
case="partial without --resume"
refuse "out/r.h5.partial: a stopped run of this output exists; add --resume to finish it or --force to start over" \
  --data "$data960" --grid "$grid24" --out out/r.h5
untouched out/r.h5.partial "$before"
for what in "another grid|grid_text|--grid other.toml --data $data960" \
            "other data|data_sha256|--grid $grid24 --data base100.csv" \
            "another timeframe|timeframe|--grid $grid24 --data $data960 --timeframe 15m"; do
  IFS='|' read -r label attr args <<< "$what"
  case="partial, --resume with $label"
  # shellcheck disable=SC2086
  refuse "out/r.h5.partial: --resume: the file was made for $label (attribute $attr differs); use another --out, or --force to start over" \
    $args --out out/r.h5 --resume
  untouched out/r.h5.partial "$before"; only out r.h5.partial
done
case="--resume and --force"
refuse "--resume and --force contradict each other" --data "$data960" --grid "$grid24" --out out/r.h5 --resume --force
untouched out/r.h5.partial "$before"
head -c 5000 /dev/zero > out/z.h5.partial; before_z="$(stamp out/z.h5.partial)"
case="garbage partial"
refuse "out/z.h5.partial: --resume: not an HDF5 file" --data "$data960" --grid "$grid24" --out out/z.h5 --resume
untouched out/z.h5.partial "$before_z"
head -c 3000 keep/ref.h5 > out/t.h5.partial; before_t="$(stamp out/t.h5.partial)"
case="truncated partial"
refuse "out/t.h5.partial: --resume: not an HDF5 file" --data "$data960" --grid "$grid24" --out out/t.h5 --resume
untouched out/t.h5.partial "$before_t"
case="--resume with nothing to resume"
refuse "--resume: no partial run out/n.h5.partial to finish (start without --resume)" --data "$data960" --grid "$grid24" --out out/n.h5 --resume
only out r.h5.partial z.h5.partial t.h5.partial

case="bad --out paths"
refuse "out/missing/dir/r.h5.partial: cannot create file" --data "$data960" --grid "$grid24" --out out/missing/dir/r.h5
refuse "keep/ref.h5/r.h5.partial: cannot create file" --data "$data960" --grid "$grid24" --out keep/ref.h5/r.h5
refuse "--out out: is a directory; give a file name" --data "$data960" --grid "$grid24" --out out --force
only out r.h5.partial z.h5.partial t.h5.partial

case="--force replaces"
checks=$((checks + 1))
cp -p keep/ref.h5 out/f.h5; touch -d 2001-01-01 out/f.h5
"$bin" -q sweep --data "$data960" --grid other.toml --out out/f.h5 --force 2> stderr.txt || fail "$(cat stderr.txt)"
"$bin" info out/f.h5 | grep -q '^rows: 2 (2 done)$' || fail "--force did not replace the file"
[ ! -e out/f.h5.partial ] && [ ! -e out/f.h5.partial.creating ] || fail "left a partial file"

cp "$src/tests/grids/mid_34560.toml" mid.toml
case="a second run of the same output"
mkdir -p lock
"$bin" -q sweep --data "$data49k" --grid mid.toml --out lock/r.h5 --threads 1 2> first.log &
first=$!
for _ in $(seq 1 1000); do [ -e lock/r.h5.partial ] && break; sleep 0.01; done
refuse "lock/r.h5: another threadx sweep is writing this output (it holds lock/r.h5.lock); wait for it to end or stop it first" \
  --data "$data49k" --grid mid.toml --out lock/r.h5 --resume
refuse "lock/r.h5: another threadx sweep is writing this output" --data "$data49k" --grid mid.toml --out lock/r.h5 --force
kill -INT "$first"  # the first run stops cleanly (exit 3) and releases the output
set +e; wait "$first"; rc=$?; set -e
checks=$((checks + 1))
[ "$rc" = 3 ] || [ "$rc" = 0 ] || fail "the first run ended with $rc: $(cat first.log)"
if [ "$rc" = 3 ]; then only lock r.h5.partial; else only lock r.h5; fi
checks=$((checks + 1))
"$bin" -q sweep --data "$data49k" --grid mid.toml --out lock/r.h5 --resume 2> stderr.txt || fail "resume after the first run: $(cat stderr.txt)"
only lock r.h5

ns=skipped
if [ "$(id -u)" = 0 ] && unshare -m true 2> /dev/null; then
  "$bin" -q sweep --data "$data49k" --grid mid.toml --out reference_mid.h5
  if unshare -m bash "$self" "$bin" "$src" --namespace-part "$work"; then ns=passed; else ns=failed; fi
else
  echo "SKIPPED: disk-full and read-only cases (need root and unshare -m)"
fi
echo "output safety: $checks checks, $fails failed; namespace cases (disk full, read-only): $ns"
[ "$fails" = 0 ] && [ "$ns" != failed ] || exit 1
echo ok
