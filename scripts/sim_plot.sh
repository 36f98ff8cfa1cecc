#!/usr/bin/env bash
# The dispatch simulation (`threadx simulate`: the real planner and dispatcher driven by virtual
# ranks with log-normal speeds, 1% 5x stragglers and a message latency; no MPI) on the
# production grid and on one 100x larger, with rank 0 storing the rows and with the ranks
# storing their own (--write-path ranks), as CSV files and one PNG.
#
#   bash scripts/sim_plot.sh [--out DIR] [--build DIR] [--ranks 100,300,1000,3000,10000]
#
# Prints the tables; writes DIR/sim_<grid>.csv, DIR/sim_<grid>_ranks.csv and
# DIR/dispatch_simulation.png (gnuplot-nox).
set -euo pipefail
cd "$(dirname "$0")/.."
out=sim-out build=build ranks=100,300,1000,3000,10000
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --ranks) ranks="$2"; shift 2 ;;
    -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "sim_plot: unknown option '$1'" >&2; exit 2 ;;
  esac
done
bin="$build/threadx"
[ -x "$bin" ] || { echo "sim_plot: $bin not found: build first or pass --build" >&2; exit 1; }
mkdir -p "$out"
IFS=, read -r -a list <<< "$ranks"
for g in reference_2p9m sim_290m; do
  "$bin" simulate --grid "data/grids/$g.toml" --ranks "${list[@]}" --csv "$out/sim_$g.csv"
  # The same with the ranks storing their own rows (rank 0: plan and /done flags only).
  "$bin" simulate --grid "data/grids/$g.toml" --ranks "${list[@]}" --write-path ranks \
    --csv "$out/sim_${g}_ranks.csv"
done
command -v gnuplot > /dev/null || { echo "sim_plot: gnuplot not installed: no plot" >&2; exit 0; }
gnuplot << GP
set datafile separator ","
set terminal pngcairo size 1100,450 font ",10" noenhanced
set output "$out/dispatch_simulation.png"
set multiplot layout 1,2 title "threadx dispatch simulation: real dispatcher, virtual ranks (log-normal speeds, 1% 5x stragglers, 5 us latency)"
set logscale x 10
set grid
set key top left
set xlabel "ranks"
set ylabel "makespan / ideal"
set title "makespan over ideal (sum of work / sum of speeds)"
plot "$out/sim_reference_2p9m.csv" using 1:7 skip 1 with linespoints lw 2 pt 7 title "reference_2p9m (2.9M)", \
     "$out/sim_sim_290m.csv" using 1:7 skip 1 with linespoints lw 2 pt 5 title "sim_290m (290M)", \
     "$out/sim_reference_2p9m_ranks.csv" using 1:7 skip 1 with linespoints lw 2 pt 7 dt 3 title "2.9M, ranks store rows", \
     "$out/sim_sim_290m_ranks.csv" using 1:7 skip 1 with linespoints lw 2 pt 5 dt 3 title "290M, ranks store rows", \
     1 with lines dt 2 title "ideal"
unset logscale y
set yrange [0:1]
set ylabel "fraction"
set key bottom left
set title "affinity hits and idle fraction"
plot "$out/sim_reference_2p9m.csv" using 1:10 skip 1 with linespoints lw 2 pt 7 title "affinity, 2.9M", \
     "$out/sim_sim_290m.csv" using 1:10 skip 1 with linespoints lw 2 pt 5 title "affinity, 290M", \
     "$out/sim_reference_2p9m.csv" using 1:11 skip 1 with linespoints lw 2 pt 7 dt 3 title "idle, 2.9M", \
     "$out/sim_sim_290m.csv" using 1:11 skip 1 with linespoints lw 2 pt 5 dt 3 title "idle, 290M"
unset multiplot
GP
echo "sim_plot: $out/dispatch_simulation.png"
