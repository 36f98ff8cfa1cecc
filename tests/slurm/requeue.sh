#!/usr/bin/env bash
# slurm/long_sweep.sbatch stopped mid-sweep on a real local SLURM cluster, two ways:
#  A. the pre-time-limit signal (what --signal=B:USR1@N delivers), sent at once with
#     `scancel --signal=USR1 --batch`: the script forwards it, the sweep saves and exits 3, the
#     script requeues the job, the job starts again and resumes;
#  B. `scontrol requeue` (an operator or preemption): SLURM sends SIGTERM to every process of the
#     job and requeues it; the sweep stops cleanly and the job resumes when it starts again.
# Each final file must be complete and bit-identical to one direct, uninterrupted run.
source "$(dirname "$0")/lib.sh" "$@"
cd "$work"
data="$src/data/BTCUSDT_15m_2023-10_2025-02.csv"
# 96,000 combinations on the scalar (reference) path, --isa scalar: ~20 s over two tasks of one
# thread, long enough to be stopped two seconds in (the SIMD paths take under a second; the direct
# run uses them: rows are bit-identical across ISAs).
cat > grid.toml <<'TOML'
strategy = "bb_atr"
[grid]
bb_period      = { start = 10, stop = 40, step = 2 }
bb_std         = [1.5, 2.0, 2.5, 3.0]
atr_period     = [7, 14, 21]
atr_multiplier = { start = 1.0, stop = 3.0, step = 0.5 }
max_hold_bars  = [25, 50, 100, 200]
spacing_bars   = [0, 5, 10, 15, 20]
trend_period   = [0, 50, 100, 150, 200]
TOML
direct_start --data "$data" --grid grid.toml

slurm_up
export THREADX="$bin" THREADX_THREADS=1

# check_requeued JOBID LOG OUT: finished after at least one clean stop and a resume.
check_requeued() {
  local id="$1" log="$2"
  [ "$(job_field "$id" JobState)" = COMPLETED ] || { cat "$log"; fail "job $id: $(job_field "$id" JobState)"; }
  [ "$(job_field "$id" Restarts)" -ge 1 ] || { cat "$log"; fail "job $id never restarted"; }
  grep -q "threadx-job $id: stopped, resumable: $3.partial (sweep exit status 3)" "$log" \
    || { cat "$log"; fail "job $id: no clean stop (exit status 3)"; }
  grep -q "threadx-job $id: resuming $3.partial (restart [1-9]" "$log" || fail "job $id did not resume"
  grep -q "second signal" "$log" && fail "job $id: the sweep exited on a second signal"
  grep -q "threadx-job $id: complete: $3" "$log" || fail "job $id: no 'complete' line"
  check_same "$3" direct.h5 "$ntasks"
  note "job $id: $3 complete after $(job_field "$id" Restarts) restart(s), identical to the direct run"
}

# ---- A: the pre-time-limit signal, requeued by the job itself ----
jid="$(sbatch --parsable "${job_opts[@]}" -o a.out "$src/slurm/long_sweep.sbatch" "$data" grid.toml a.h5 --isa scalar)"
note "A: submitted long_sweep.sbatch as job $jid"
wait_for_line a.out "progress " 120
note "A: sweep running ($(grep -o 'progress [0-9,]*/[0-9,]*' a.out | tail -1)); scancel --signal=USR1 --batch $jid"
scancel --signal=USR1 --batch "$jid"
wait_for_line a.out "threadx-job $jid: stopped, resumable" 60
note "A: $(grep -o 'stopped, resumable: [0-9,]* of [0-9,]* combinations done' a.out | head -1)"
wait_job "$jid" 240
grep -q "threadx-job $jid: requeued job $jid" a.out || { cat a.out; fail "A: the job did not requeue itself"; }
direct_wait
check_requeued "$jid" a.out a.h5

# ---- B: scontrol requeue (SIGTERM to all of the job) ----
jid="$(sbatch --parsable "${job_opts[@]}" -o b.out "$src/slurm/long_sweep.sbatch" "$data" grid.toml b.h5 --isa scalar)"
note "B: submitted long_sweep.sbatch as job $jid"
wait_for_line b.out "progress " 120
note "B: sweep running ($(grep -o 'progress [0-9,]*/[0-9,]*' b.out | tail -1)); scontrol requeue $jid"
scontrol requeue "$jid"
wait_for_line b.out "threadx-job $jid: stopped, resumable" 60
note "B: $(grep -o 'stopped, resumable: [0-9,]* of [0-9,]* combinations done' b.out | head -1)"
wait_job "$jid" 240
check_requeued "$jid" b.out b.h5
note "ok"
