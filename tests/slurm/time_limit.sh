#!/usr/bin/env bash
# A real SLURM time limit: slurm/long_sweep.sbatch submitted with --time=1 (one minute) and
# --signal=B:USR1@59 on a sweep that needs more than a minute on one thread. slurmctld sends the
# signal on its own (it checks time limits every 30 s, so it lands 1-31 s into each run), the job
# stops cleanly, requeues itself and resumes until the file is complete — bit-identical to a direct
# run. Nobody signals the job but SLURM.
source "$(dirname "$0")/lib.sh" "$@"
cd "$work"
data="$src/data/BTCUSDT_15m_2023-10_2025-02.csv"
# 230,400 combinations per task on the scalar (reference) path, --isa scalar, one thread per
# task: about 110 CPU-seconds per task on a 2-core EPYC (Zen 3), so the first run is cut by the
# signal even when it lands late (31 s in) on a machine 3x faster; half that workload left a
# machine 1.8x faster a chance to finish first. The direct run uses the SIMD path: rows are
# bit-identical across ISAs (a contract of the engine). Chunks of 1,024 rows: a stop keeps only
# whole stored chunks, and a sanitizer build computes about 12,000 rows in a 30-s slice.
trend="$(awk -v n="$((10 * ntasks))" 'BEGIN { for (i = 0; i < n; i++) printf "%s%d", (i ? ", " : ""), 25 * i }')"
cat > grid.toml <<TOML
strategy = "bb_atr"
[grid]
bb_period      = { start = 10, stop = 40, step = 2 }
bb_std         = { start = 1.25, stop = 3.0, step = 0.25 }
atr_period     = [7, 14, 21]
atr_multiplier = { start = 1.0, stop = 3.0, step = 0.5 }
max_hold_bars  = [25, 50, 100, 200]
spacing_bars   = [0, 5, 10]
trend_period   = [$trend]
TOML
direct_start --data "$data" --grid grid.toml

slurm_up
export THREADX="$bin" THREADX_THREADS=1
jid="$(sbatch --parsable "${job_opts[@]}" --time=1 --signal=B:USR1@59 -o tl.out \
  "$src/slurm/long_sweep.sbatch" "$data" grid.toml tl.h5 --isa scalar --chunk-rows 1024)"
note "submitted long_sweep.sbatch --time=1 --signal=B:USR1@59 as job $jid"
wait_for_line tl.out "threadx-job $jid: SIGUSR1 received" 150
note "SLURM signalled the job: $(grep -o 'SIGUSR1 received.*' tl.out | head -1)"
wait_for_line tl.out "threadx-job $jid: stopped, resumable" 60
note "$(grep -o 'stopped, resumable: [0-9,]* of [0-9,]* combinations done' tl.out | head -1)"
wait_job "$jid" 800
[ "$(job_field "$jid" JobState)" = COMPLETED ] || { cat tl.out; fail "job $jid: $(job_field "$jid" JobState)"; }
[ "$(job_field "$jid" Restarts)" -ge 1 ] || { cat tl.out; fail "job $jid never restarted"; }
grep -q "threadx-job $jid: requeued job $jid" tl.out || { cat tl.out; fail "the job did not requeue itself"; }
grep -q "threadx-job $jid: resuming tl.h5.partial" tl.out || fail "the job did not resume"
grep -q "DUE TO TIME LIMIT" tl.out && { cat tl.out; fail "a run hit the time limit instead of stopping at the signal"; }
grep -q "second signal" tl.out && fail "the sweep exited on a second signal"
direct_wait
check_same tl.h5 direct.h5 "$ntasks"
note "tl.h5 complete after $(job_field "$jid" Restarts) restart(s), identical to the direct run"
note "ok"
