#!/usr/bin/env bash
# scripts/scaling.sh strong on 1 and 2 ranks of a small real sweep: the CSV has one checked row per
# rank count with speedup, efficiency and imbalance computed from the run (and the files' own
# accounting), and the plot is drawn when gnuplot is installed.
#   bash tests/mpi/scaling_script.sh <threadx binary> <source dir>
set -euo pipefail
bin="$1"; src="$2"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# In a sanitizer build: OpenMPI's own allocations left at exit (in MCA components it unloads) show
# up as leaks of unknown modules; the engine's leaks are checked by the single-process tests.
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

bash "$src/scripts/scaling.sh" strong --ranks 1,2 --build "$(dirname "$bin")" \
  --data "$src/data/BTCUSDT_15m_2024-12-01_2024-12-10.csv" --grid "$src/data/grids/reference_24.toml" \
  --out "$work/s" > "$work/out.txt" 2>&1 || { cat "$work/out.txt"; fail "scaling.sh failed"; }
csv="$work/s/scaling_strong.csv"
[ -f "$csv" ] || fail "no CSV"
[ "$(head -1 "$csv")" = "mode,ranks,threads_per_rank,combinations,bars,wall_s,sweep_s,combos_per_s,speedup,efficiency,imbalance" ] \
  || fail "CSV header: $(head -1 "$csv")"
[ "$(wc -l < "$csv")" = 3 ] || fail "want 2 data rows: $(cat "$csv")"
awk -F, 'NR == 2 { if ($1 != "strong" || $2 != 1 || $4 != 24 || $5 != 960 || $9 != 1 || $10 != 1 || $11 != 0) exit 1 }
         NR == 3 { if ($2 != 2 || $4 != 24 || !($6 > 0) || !($8 > 0) || !($9 > 0) || !($11 >= 0)) exit 1
                   # speedup = T1 / T2 and efficiency = speedup / 2, from the wall times in the row
                   if (($9 - t1 / $6) ^ 2 > 1e-6 || ($10 - $9 / 2) ^ 2 > 1e-6) exit 1 }
         NR == 2 { t1 = $6 }' "$csv" || fail "CSV rows: $(cat "$csv")"
if command -v gnuplot > /dev/null; then
  [ -s "$work/s/scaling_strong.png" ] || fail "gnuplot is installed but no PNG was drawn"
fi
grep -q "imbalance" "$work/out.txt" || fail "no imbalance in the printed lines"
echo "ok: $(tail -1 "$csv")"
