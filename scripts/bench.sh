#!/usr/bin/env bash
# Engine speed on the bundled real BTC data, one line per workload of the performance table:
# wall time, combinations/s, bar-steps/s per core (one bar of one combination = one bar-step) and
# peak RSS. Backtests only (`threadx bench`, nothing written, best of --repeat), then whole
# `threadx sweep` runs as a user sees them (load, sweep, HDF5 file), compressed (the default) and
# with --compress 0.
#   bash scripts/bench.sh [--threads N] [--repeat R] [--full] [--isa] [--native]
# --full adds the whole reference_2p9m sweep on the 49,632-bar file (about 20 s on 2 AVX2 cores),
# with and without --blocks 16 (the per-block statistics of `threadx robust`, 1.3 GB more file),
# and threadx robust on its /blocks with S = 16.
# --isa prints every SIMD path this CPU runs (threadx bench --isa X) on both files.
# --native also builds build-native/ with -march=native (THREADX_NATIVE=ON) and compares its
# auto path with the portable binary's, run for run.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=$(nproc)
repeat=3
full=0
isa=0
native=0
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --full) full=1; shift ;;
    --isa) isa=1; shift ;;
    --native) native=1; shift ;;
    *) echo "bench.sh: unknown option $1 (--threads N, --repeat R, --full, --isa, --native)" >&2; exit 2 ;;
  esac
done
[ -x build/threadx ] || { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build -j "$(nproc)"; }
bin=build/threadx
short=data/BTCUSDT_15m_2024-12-01_2024-12-10.csv
long=data/BTCUSDT_15m_2023-10_2025-02.csv
grid=data/grids/reference_2p9m.toml

echo "machine: $(nproc) cores, $($bin devices | sed -n 's/^cpu *//p'), $(uname -sr)," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "threadx $($bin --version | cut -d' ' -f2), $(git rev-parse --short HEAD 2>/dev/null || echo '?')"

echo "-- backtests only (threadx bench, best of $repeat)"
$bin bench --data "$short" --grid data/grids/reference_24.toml --repeat 20 --threads "$threads" \
  --label "reference_24 / 960 bars"
$bin bench --data "$short" --grid "$grid" --repeat "$repeat" --threads "$threads" \
  --label "reference_2p9m / 960 bars"
$bin bench --data "$long" --grid "$grid" --first 100000 --repeat "$repeat" --threads "$threads" \
  --label "2p9m first 100k / 49,632"
$bin bench --data "$long" --grid "$grid" --first 100000 --repeat "$repeat" --threads "$threads" \
  --blocks 16 --label "  the same, --blocks 16"
$bin bench --data "$short" --grid data/grids/ma_cross_2p4m.toml --repeat "$repeat" \
  --threads "$threads" --label "ma_cross_2p4m / 960 bars"
$bin bench --data "$long" --grid data/grids/ma_cross_2p4m.toml --first 100000 --repeat "$repeat" \
  --threads "$threads" --label "ma_cross first 100k / 49,632"

out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT

# Every SIMD path of this CPU, on the short file (all 2.9M) and the long one (the first 200k).
paths="$($bin devices | sed -n 's/^cpu .*SIMD paths: //p' | tr -d ',' | sed 's/ (auto)//')"
if [ "$isa" = 1 ]; then
  echo "-- SIMD paths (threadx bench --isa PATH, best of $repeat)"
  for p in $paths; do
    $bin bench --data "$short" --grid "$grid" --repeat "$repeat" --threads "$threads" --isa "$p" \
      --label "isa $p / 960 bars"
  done
  for p in $paths; do
    n=200000; [ "$p" = scalar ] && n=20000  # scalar steps every bar: 10x fewer keeps it short
    $bin bench --data "$long" --grid "$grid" --first "$n" --repeat "$repeat" \
      --threads "$threads" --isa "$p" --label "isa $p / 49,632 ($((n / 1000))k)"
  done
fi

# The portable binary against one built for this CPU (-march=native), alternating runs so that a
# drift in the machine's speed hits both alike; the ratio of the medians of 5 pairs.
if [ "$native" = 1 ]; then
  cmake -S . -B build-native -DCMAKE_BUILD_TYPE=Release -DTHREADX_NATIVE=ON \
    -DTHREADX_BUILD_TESTS=OFF -DTHREADX_CUDA=OFF > /dev/null
  cmake --build build-native -j "$(nproc)" --target threadx > /dev/null
  echo "-- portable (auto = $(echo "$paths" | cut -d' ' -f1)) vs -march=native, 5 alternating pairs"
  median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
  for workload in "$short:0:960 bars" "$long:200000:49,632 (200k)"; do
    d="${workload%%:*}"; rest="${workload#*:}"; first="${rest%%:*}"; label="${rest#*:}"
    : > "$out/pairs"
    for _ in 1 2 3 4 5; do
      for b in build build-native; do
        "$b/threadx" bench --data "$d" --grid "$grid" --first "$first" --threads "$threads" \
          | awk '{for (i = 1; i <= NF; i++) if ($i == "s") {printf "%s ", $(i - 1); exit}}'
      done >> "$out/pairs"
      echo >> "$out/pairs"
    done
    printf '%-27s portable %.3f s, native %.3f s (medians); portable/native %.3f (median of 5 pairs)\n' \
      "$label" "$(cut -d' ' -f1 "$out/pairs" | median)" "$(cut -d' ' -f2 "$out/pairs" | median)" \
      "$(awk '{print $1 / $2}' "$out/pairs" | median)"
  done
fi

# Whole runs: wall time from the shell, peak RSS of the process (VmHWM: resident memory, not the
# output file's page cache), read from /proc while it runs (no GNU time needed).
# measure COMMAND...: runs it (stdout to $out/measured.txt), sets ms (wall) and hwm (peak KB).
measure() {
  local start end pid kb
  hwm=0
  start=$(date +%s%N)
  "$@" > "$out/measured.txt" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$kb" ] && [ "$kb" -gt "$hwm" ] && hwm=$kb
    sleep 0.05
  done
  wait "$pid"
  end=$(date +%s%N)
  ms=$(( (end - start) / 1000000 ))
}
whole() {  # label data bars [sweep options...]
  local label="$1" data="$2" bars="$3" combos=2903040
  shift 3
  measure $bin -q sweep --data "$data" --grid "$grid" --out "$out/s.h5" --force --threads "$threads" "$@"
  awk -v l="$label" -v ms="$ms" -v c="$combos" -v b="$bars" -v t="$threads" -v kb="$hwm" \
    -v mb="$(( $(stat -c %s "$out/s.h5") / 1000000 ))" 'BEGIN {
      s = ms / 1000; printf "%-27s %9d combos x %6d bars %7.3f s %9.0f combos/s %9.3e bar-steps/s (%.3e/core) peak RSS %d MB, HDF5 file %d MB (%d threads)\n",
      l, c, b, s, c / s, c * b / s, c * b / s / t, kb / 1024, mb, t }'
  [ $# -gt 0 ] || report "$label" "$out/s.h5"
  rm -f "$out/s.h5" "$out/r.html"
}
# threadx report on that results file: generation time and page size (targets: 10 s, 5 MB).
report() {  # label results
  local start end
  start=$(date +%s%N)
  $bin -q report "$2" --out "$out/r.html" > /dev/null
  end=$(date +%s%N)
  awk -v l="report of ${1#sweep }" -v ms="$(( (end - start) / 1000000 ))" \
    -v b="$(stat -c %s "$out/r.html")" 'BEGIN {
      printf "%-27s %7.3f s, page %.2f MB (threadx report, %d combinations)\n", l, ms / 1000, b / 1e6, 2903040 }'
}
# threadx robust --cscv --dsr 10 --wf-window 4 on a results file with S blocks: wall time and peak
# RSS of the robust run alone (the sweep --blocks that makes its input is not timed).
robust() {  # label data S
  local label="$1"
  $bin -q sweep --data "$2" --grid "$grid" --blocks "$3" --out "$out/b.h5" --force \
    --threads "$threads"
  measure $bin -q robust "$out/b.h5" --out "$out/robust.h5" --force --cscv --dsr 10 \
    --wf-window 4 --threads "$threads" --data "$2"
  awk -v l="$label" -v ms="$ms" -v kb="$hwm" -v t="$threads" \
    -v st="$(sed -n 's/.*, \([0-9,]*\) distinct return streams).*/\1/p' "$out/measured.txt")" \
    -v mb="$(( $(stat -c %s "$out/b.h5") / 1000000 ))" 'BEGIN {
      printf "%-27s %7.3f s, peak RSS %d MB (robust --cscv --dsr 10 --wf-window 4 over a %d MB results file, %s distinct streams, %d threads)\n",
      l, ms / 1000, kb / 1024, mb, st, t }'
  rm -f "$out/b.h5" "$out/robust.h5"
}
echo "-- whole threadx sweep incl. the HDF5 file"
whole "sweep 2p9m / 960 bars" "$short" 960
whole "  the same, --compress 0" "$short" 960 --compress 0
whole "  the same, --blocks 16" "$short" 960 --blocks 16
whole "  --blocks 16 --compress 0" "$short" 960 --blocks 16 --compress 0
if [ "$full" = 1 ]; then
  whole "sweep 2p9m / 49,632 bars" "$long" 49632
  whole "  the same, --blocks 16" "$long" 49632 --blocks 16
else
  echo "(bash scripts/bench.sh --full adds the whole reference_2p9m sweep on the 49,632-bar file)"
fi
echo "-- threadx robust on reference_2p9m's /blocks"
robust "robust 2p9m / 960, S=8" "$short" 8
if [ "$full" = 1 ]; then
  robust "robust 2p9m / 49,632, S=16" "$long" 16
fi
