#!/usr/bin/env bash
# slurm/one_node.sbatch and slurm/array.sbatch submitted with sbatch to a real local slurmctld +
# slurmd: the results files are complete and bit-identical to direct `threadx sweep` runs, for
# bb_atr and for ma_cross.
source "$(dirname "$0")/lib.sh" "$@"
cd "$work"
big="$src/data/BTCUSDT_15m_2023-10_2025-02.csv"
small="$src/data/BTCUSDT_15m_2024-12-01_2024-12-10.csv"
cat > grid.toml <<'TOML'
strategy = "bb_atr"
[grid]
bb_period      = { start = 10, stop = 40, step = 5 }
bb_std         = [1.5, 2.0, 2.5]
atr_period     = [7, 14]
atr_multiplier = [1.5, 2.0, 3.0]
max_hold_bars  = [50, 100]
spacing_bars   = [0, 5]
TOML

# Direct runs: the references.
"$bin" sweep --data "$big" --grid grid.toml --out direct.h5 2> direct.log \
  || { cat direct.log; fail "direct run"; }
for tf in 15m 1h; do
  "$bin" sweep --data "$small" --grid "$src/data/grids/reference_24.toml" --timeframe "$tf" \
    --out "direct_$tf.h5" 2> "direct_$tf.log" || { cat "direct_$tf.log"; fail "direct $tf"; }
done

# The second strategy through the same template.
ma="$src/tests/grids/ma_cross_3024.toml"
"$bin" sweep --data "$small" --grid "$ma" --out direct_ma.h5 2> direct_ma.log \
  || { cat direct_ma.log; fail "direct ma_cross run"; }

slurm_up
export THREADX="$bin" THREADX_THREADS=1

# ---- one node, inputs as arguments ----
t0="$(date +%s.%N)"
jid="$(sbatch --parsable "${job_opts[@]}" -o one-%j.out "$src/slurm/one_node.sbatch" \
  "$big" grid.toml one.h5)"
note "submitted one_node.sbatch as job $jid"
wait_job "$jid" 300
t1="$(date +%s.%N)"
note "sbatch round trip (submit to job gone, 1,512 combinations x 49,632 bars): $(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.1f", a - b }') s"
[ "$(job_field "$jid" JobState)" = COMPLETED ] || { cat "one-$jid.out"; fail "job $jid: $(job_field "$jid" JobState)"; }
[ "$(job_field "$jid" ExitCode)" = 0:0 ] || fail "job $jid exit code $(job_field "$jid" ExitCode)"
grep -q "threadx-job $jid: complete: one.h5" "one-$jid.out" || { cat "one-$jid.out"; fail "no 'complete' line"; }
check_same one.h5 direct.h5 "$ntasks"

# Submitting again finds the file complete and does nothing.
jid="$(sbatch --parsable "${job_opts[@]}" -o again-%j.out "$src/slurm/one_node.sbatch" \
  "$big" grid.toml one.h5)"
wait_job "$jid" 120
grep -q "one.h5 is complete already; nothing to do" "again-$jid.out" || { cat "again-$jid.out"; fail "resubmit of a complete file"; }
[ "$(job_field "$jid" ExitCode)" = 0:0 ] || fail "resubmit exit code $(job_field "$jid" ExitCode)"
check_same one.h5 direct.h5

# ---- ma_cross: the template knows no strategy; the grid file names it ----
jid="$(sbatch --parsable "${job_opts[@]}" -o ma-%j.out "$src/slurm/one_node.sbatch" \
  "$small" "$ma" ma.h5)"
wait_job "$jid" 300
[ "$(job_field "$jid" JobState)" = COMPLETED ] || { cat "ma-$jid.out"; fail "ma_cross job $jid: $(job_field "$jid" JobState)"; }
check_same ma.h5 direct_ma.h5 "$ntasks"
[ "$("$bin" info ma.h5 | sed -n 's/^strategy: //p')" = ma_cross ] || fail "ma.h5: strategy attribute"
note "ma_cross through one_node.sbatch: identical to the direct run"

# ---- job array over two timeframes, inputs from the environment ----
mkdir arr
printf '# two timeframes of one file\n%s\n\n%s 1h\n' "$small" "$small" > list.txt
jid="$(THREADX_LIST=list.txt THREADX_GRID="$src/data/grids/reference_24.toml" THREADX_OUTDIR=arr \
  sbatch --parsable --array=0-1 --cpus-per-task=1 -o arr-%A_%a.out "$src/slurm/array.sbatch")"
note "submitted array.sbatch as job array $jid"
for task in 0 1; do wait_job "${jid}_$task" 120; done
for task in 0 1; do
  [ "$(job_field "${jid}_$task" JobState)" = COMPLETED ] || { cat arr-"${jid}_$task".out; fail "array task $task"; }
done
name="$(basename "$small" .csv)"
check_same "arr/$name.h5" direct_15m.h5
check_same "arr/${name}_1h.h5" direct_1h.h5
# The two timeframes really are different sweeps (4x fewer bars at 1h).
if h5diff -q direct_15m.h5 direct_1h.h5 /results /results > /dev/null 2>&1; then
  fail "15m and 1h results identical: --timeframe not applied"
fi
note "ok"
