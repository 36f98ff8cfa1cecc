#!/usr/bin/env bash
# Engine speed on the bundled real BTC data: combinations/s and bar-steps/s (one bar of one
# combination). Backtests only (nothing written), then one full sweep with its HDF5 file.
#   bash scripts/bench.sh [--threads N] [--repeat R]
set -euo pipefail
cd "$(dirname "$0")/.."
extra=("$@")
[ -x build/threadx ] || { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build -j "$(nproc)"; }
bin=build/threadx
short=data/BTCUSDT_15m_2024-12-01_2024-12-10.csv
long=data/BTCUSDT_15m_2023-10_2025-02.csv

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(uname -sr)"
echo "threadx $($bin --version | cut -d' ' -f2), $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
$bin bench --data "$short" --grid data/grids/reference_24.toml --repeat 20 --label "reference_24 / 960 bars" "${extra[@]}"
$bin bench --data "$short" --grid data/grids/reference_2p9m.toml --repeat 3 --label "reference_2p9m / 960 bars" "${extra[@]}"
$bin bench --data "$long" --grid data/grids/reference_2p9m.toml --first 100000 --label "2p9m first 100k / 49,632" "${extra[@]}"

# The whole run as a user sees it: load, sweep, HDF5 file, summary.
out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
start=$(date +%s%N)
$bin -q sweep --data "$short" --grid data/grids/reference_2p9m.toml --out "$out/s.h5" "${extra[@]}"
end=$(date +%s%N)
ms=$(( (end - start) / 1000000 ))
printf "%-28s whole run incl. HDF5 file (%s MB): %d.%03d s\n" "threadx sweep reference_2p9m" \
  "$(( $(stat -c %s "$out/s.h5") / 1000000 ))" $((ms / 1000)) $((ms % 1000))
