#!/usr/bin/env bash
# Strong and weak scaling of `threadx sweep` over MPI ranks; writes a CSV and a PNG plot.
#
#   bash scripts/scaling.sh strong [options]   # one fixed grid on 1..N ranks: time should fall as 1/N
#   bash scripts/scaling.sh weak   [options]   # the grid grows with the ranks: time should stay flat
#   sbatch -N 4 --ntasks-per-node=8 scripts/scaling.sh strong --launcher srun --ranks 1,2,4,8,16,32
#
# Options:
#   --launcher mpirun|srun|none  how ranks start (default mpirun; srun needs a SLURM allocation:
#                                sbatch or salloc; none = one plain process, ranks must be 1)
#   --ranks 1,2,4                rank counts (default 1,2,4; more ranks than cores oversubscribe)
#   --threads N                  threads per rank (default 1, so ranks = cores used)
#   --data FILE                  bars (default data/BTCUSDT_15m_2023-10_2025-02.csv, 49,632 bars)
#   --grid FILE                  strong: the grid (default: a built-in 55,296-combination grid)
#   --weak-per-rank N            weak: atr_multiplier values per rank (default 4; 27,648
#                                combinations per rank with the built-in base grid)
#   --repeat K                   run each point K times and keep the fastest (default 1)
#   --out DIR                    where the CSV, PNG, grids and results go (default scaling-<mode>/)
#   --build DIR                  the build with threadx (default build/)
#
# Each point is checked: the file must be complete, record the requested rank count, and (strong)
# hold the same rows as the 1-rank run. CSV columns: mode, ranks, threads_per_rank, combinations,
# bars, wall_s (launch to exit), sweep_s (the sweep's own wall_seconds), combos_per_s, speedup,
# efficiency, imbalance (the busiest rank's compute seconds over the mean of all ranks', minus 1,
# from the file's rank_busy_seconds: 0 = perfectly even). Strong: speedup T1/TN, efficiency T1/(N*TN). Weak: speedup (N*T1)/TN (work grows N
# times), efficiency T1/TN.
#SBATCH --job-name=threadx-scaling
#SBATCH --output=threadx-scaling-%j.out
#SBATCH --time=01:00:00
set -euo pipefail

die() { echo "scaling: $*" >&2; exit 1; }
[ $# -ge 1 ] || { sed -n '2,27p' "$0"; exit 2; }
mode="$1"
shift
case "$mode" in
  strong | weak) ;;
  -h | --help) sed -n '2,27p' "$0"; exit 0 ;;
  *) die "mode must be strong or weak, not '$mode'" ;;
esac

# Under sbatch the script runs from a spool copy: find the repository from the submit directory.
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -f "$root/data/grids/reference_24.toml" ] && [ -n "${SLURM_SUBMIT_DIR:-}" ]; then
  root="$SLURM_SUBMIT_DIR"
fi
launcher=mpirun
ranks_list=1,2,4
threads=1
data="$root/data/BTCUSDT_15m_2023-10_2025-02.csv"
grid=""
per_rank=4
repeat=1
out=""
build="$root/build"
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || die "option $1 needs a value"
  case "$1" in
    --launcher) launcher="$2" ;;
    --ranks) ranks_list="$2" ;;
    --threads) threads="$2" ;;
    --data) data="$2" ;;
    --grid) grid="$2" ;;
    --weak-per-rank) per_rank="$2" ;;
    --repeat) repeat="$2" ;;
    --out) out="$2" ;;
    --build) build="$2" ;;
    *) die "unknown option '$1' (try --help)" ;;
  esac
  shift 2
done
out="${out:-scaling-$mode}"
bin="$build/threadx"
[ -x "$bin" ] || die "$bin not found: build first (cmake --build build) or pass --build"
[ -r "$data" ] || die "$data: cannot read"
[[ "$ranks_list" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--ranks wants a list like 1,2,4"
IFS=, read -r -a ranks <<< "$ranks_list"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

case "$launcher" in
  mpirun)
    command -v mpirun > /dev/null || die "mpirun not found (apt-get install openmpi-bin)"
    # Root (containers, CI) needs OpenMPI's consent; oversubscription lets 4 ranks run on 2 cores.
    export OMPI_MCA_rmaps_base_oversubscribe=1
    if [ "$(id -u)" = 0 ]; then
      export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    fi
    launch() { mpirun -np "$1" --bind-to none "${@:2}"; }
    ;;
  srun)
    [ -n "${SLURM_JOB_ID:-}" ] || die "--launcher srun runs inside an allocation (sbatch or salloc)"
    launch() { srun --mpi=pmix -n "$1" --cpus-per-task="$threads" --overcommit "${@:2}"; }
    ;;
  none)
    launch() {
      [ "$1" = 1 ] || die "--launcher none runs one process; use mpirun or srun for $1 ranks"
      "${@:2}"
    }
    ;;
  *) die "--launcher must be mpirun, srun or none" ;;
esac

# The built-in grids. Weak scaling grows atr_multiplier (not an indicator key, so every rank count
# builds the same indicator series and only the backtest work grows): per_rank values per rank.
base_grid() {  # base_grid ATR_MULTIPLIER_LIST
  cat << EOF
# written by scripts/scaling.sh
strategy = "bb_atr"
[grid]
bb_period      = { start = 10, stop = 40, step = 2 }
bb_std         = [1.5, 2.0, 2.5, 3.0]
atr_period     = [7, 14, 21]
atr_multiplier = [$1]
max_hold_bars  = [25, 50, 100, 200]
spacing_bars   = [0, 5, 10]
trend_period   = [0, 50, 100]
EOF
}
multipliers() {  # multipliers COUNT -> "1.0, 1.1, ..." (distinct values, step 0.1 from 1.0)
  awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "%s%.1f", (i ? ", " : ""), 1.0 + 0.1 * i }'
}
grid_for() {  # grid_for RANKS -> the grid file for that point
  if [ "$mode" = strong ]; then
    if [ -n "$grid" ]; then
      echo "$grid"
    else
      [ -f "$out/grid_strong.toml" ] || base_grid "$(multipliers 8)" > "$out/grid_strong.toml"
      echo "$out/grid_strong.toml"
    fi
  else
    base_grid "$(multipliers $((per_rank * $1)))" > "$out/grid_weak_$1.toml"
    echo "$out/grid_weak_$1.toml"
  fi
}

field() { sed -n "s/^$2: //p" "$1" | head -1; }

csv="$out/scaling_$mode.csv"
echo "mode,ranks,threads_per_rank,combinations,bars,wall_s,sweep_s,combos_per_s,speedup,efficiency,imbalance" > "$csv"
echo "scaling: $mode, launcher $launcher, ranks ${ranks[*]}, $threads thread(s) per rank, data $data"
t1=""
ref=""
for n in "${ranks[@]}"; do
  [ "$n" -ge 1 ] || die "rank count $n"
  g="$(grid_for "$n")"
  if [ "$launcher" = mpirun ] && [ $((n * threads)) -gt "$(nproc)" ]; then
    echo "scaling: note: $n rank(s) x $threads thread(s) oversubscribe this machine's $(nproc) cores" >&2
  fi
  best=""
  for _ in $(seq "$repeat"); do
    res="$out/${mode}_$n.h5"
    t0="$(date +%s.%N)"
    launch "$n" "$bin" -q sweep --data "$data" --grid "$g" --out "$res" --force \
      --threads "$threads" > "$out/${mode}_$n.log" 2>&1 \
      || { tail -20 "$out/${mode}_$n.log" >&2; die "$n ranks: sweep failed (log $out/${mode}_$n.log)"; }
    wall="$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')"
    "$bin" info "$res" > "$out/${mode}_$n.info"
    [ "$(field "$out/${mode}_$n.info" complete)" = 1 ] || die "$n ranks: $res is not complete"
    got="$(field "$out/${mode}_$n.info" ranks)"
    [ "$got" = "$n" ] || die "$n ranks: the file records $got rank(s): is this threadx built with MPI and started as $n ranks?"
    if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best="$wall"
      sweep_s="$(field "$out/${mode}_$n.info" wall_seconds)"
      imbalance="$(field "$out/${mode}_$n.info" rank_busy_seconds | tr -d '[] ' | awk -F, '{
        m = 0; s = 0; for (i = 1; i <= NF; i++) { s += $i; if ($i > m) m = $i }
        printf "%.4f", (s > 0 ? m / (s / NF) - 1 : 0) }')"
    fi
  done
  combos="$(field "$out/${mode}_$n.info" combinations)"
  bars="$(field "$out/${mode}_$n.info" bar_count)"
  if [ "$mode" = strong ]; then
    if [ -z "$ref" ]; then
      ref="$res.ref"
      cp "$res" "$ref"
    else
      h5diff -q "$ref" "$res" /results /results > /dev/null \
        || die "$n ranks: rows differ from the ${ranks[0]}-rank run"
    fi
  fi
  # Normalised to the first point (normally 1 rank): T1 scaled to one rank's share of the work.
  if [ -z "$t1" ]; then
    t1="$best"
    n1="$n"
  fi
  read -r rate speedup eff < <(awk -v m="$mode" -v c="$combos" -v t="$best" -v t1="$t1" -v n="$n" \
    -v n1="$n1" 'BEGIN {
      rate = c / t
      if (m == "strong") { s = (t1 * n1) / t; e = s / n }
      else { s = (t1 * n) / t; e = t1 / t }
      printf "%.1f %.4f %.4f\n", rate, s, e }')
  echo "$mode,$n,$threads,$combos,$bars,$best,$sweep_s,$rate,$speedup,$eff,$imbalance" >> "$csv"
  printf 'scaling: %3d rank(s): %9s combinations in %8ss (sweep %ss): %10s combos/s, speedup %s, efficiency %s, imbalance %s\n' \
    "$n" "$combos" "$best" "$sweep_s" "$rate" "$speedup" "$eff" "$imbalance"
  rm -f "$res"  # results files are large; the strong reference is kept until the end
done
[ -z "$ref" ] || rm -f "$ref"
echo "scaling: $csv"

png="$out/scaling_$mode.png"
if command -v gnuplot > /dev/null; then
  gnuplot << EOF
set datafile separator ","
set terminal pngcairo size 1100,450 font ",10" noenhanced
set output "$png"
set multiplot layout 1,2 title "threadx $mode scaling ($launcher, $threads thread(s) per rank, $(basename "$data"))"
set key top right
set grid
set xlabel "ranks"
set logscale x 2
set ylabel "efficiency"
set yrange [0:*]
set title "parallel efficiency and rank imbalance"
plot "$csv" using 2:10 skip 1 with linespoints lw 2 pt 7 title "efficiency", 1 with lines dt 2 title "ideal", \
     "$csv" using 2:11 skip 1 with linespoints lw 2 pt 5 title "imbalance (busiest/mean - 1)"
set ylabel "combinations / s"
set autoscale y
set yrange [0:*]
set title "throughput"
plot "$csv" using 2:8 skip 1 with linespoints lw 2 pt 7 title "measured", \
     "$csv" using 2:(\$2 * $(awk -F, 'NR == 2 { print $8 / $2 }' "$csv")) skip 1 with lines dt 2 title "ideal (linear)"
unset multiplot
EOF
  echo "scaling: $png"
else
  echo "scaling: gnuplot not installed (apt-get install gnuplot-nox): no plot" >&2
fi
