#!/usr/bin/env bash
# The sbatch templates without a cluster: every template carries the same job logic (one block,
# checked byte for byte), parses, and asks SLURM for the pre-time-limit signal. Run as plain
# scripts (THREADX_LAUNCHER=none), they sweep real data to the same rows as a direct run, and a
# SIGUSR1 to the script stops the sweep cleanly ("stopped, resumable", exit 3); the next run
# resumes and completes, and a run on a complete file does nothing.
set -euo pipefail
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
src="$(cd "$2" && pwd)"
work="$(mktemp -d)"
script_pid=""
cleanup() {
  if [ -n "$script_pid" ] && kill -0 "$script_pid" 2> /dev/null; then kill -TERM "$script_pid"; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$work"

block() { sed -n '/^# ==== ThreadX job logic/,/^# ==== end of ThreadX job logic ====/p' "$1"; }
templates=("$src"/slurm/*.sbatch)
[ "${#templates[@]}" -ge 5 ] || fail "expected at least 5 templates, found ${#templates[@]}"
block "${templates[0]}" > ref_block
[ "$(wc -l < ref_block)" -gt 50 ] || fail "job logic block not found in ${templates[0]}"
for t in "${templates[@]}"; do
  bash -n "$t" || fail "$t does not parse"
  block "$t" | cmp -s - ref_block || fail "$(basename "$t"): job logic differs from $(basename "${templates[0]}")"
  grep -q '^#SBATCH --signal=B:USR1@[0-9]' "$t" || fail "$(basename "$t"): no --signal=B:USR1@N"
  grep -q '^# Edit:' "$t" || fail "$(basename "$t"): header does not say what to edit"
done
for t in long_sweep array; do
  grep -q '^#SBATCH --requeue' "$src/slurm/$t.sbatch" || fail "$t.sbatch: no --requeue"
  grep -q '^#SBATCH --open-mode=append' "$src/slurm/$t.sbatch" || fail "$t.sbatch: log not appended"
done

export THREADX="$bin" THREADX_LAUNCHER=none THREADX_THREADS=1
data="$src/data/BTCUSDT_15m_2023-10_2025-02.csv"
cat > grid.toml <<'TOML'
strategy = "bb_atr"
[grid]
bb_period      = [20, 30]
bb_std         = { start = 1.25, stop = 3.0, step = 0.25 }
atr_multiplier = { start = 1.0, stop = 4.5, step = 0.5 }
max_hold_bars  = { start = 25, stop = 200, step = 25 }
TOML
"$bin" sweep --data "$data" --grid grid.toml --out direct.h5 2> direct.log \
  || { cat direct.log; fail "direct run"; }

# ---- one_node.sbatch as a plain script, inputs from the environment ----
THREADX_DATA="$data" THREADX_GRID=grid.toml THREADX_OUT=one.h5 bash "$src/slurm/one_node.sbatch" \
  > one.log 2>&1 || { cat one.log; fail "one_node.sbatch"; }
grep -q "threadx-job local: complete: one.h5" one.log || fail "no complete line: $(cat one.log)"
h5diff direct.h5 one.h5 /results /results || fail "one_node.sbatch rows differ from the direct run"

# ---- long_sweep.sbatch stopped by SIGUSR1 (as --signal=B:USR1 delivers it), then resumed ----
# Scalar lanes on one thread: 512 combinations x 49,632 bars per unit, so the stop is mid-sweep.
bash "$src/slurm/long_sweep.sbatch" "$data" grid.toml long.h5 --lanes scalar --unit-size 512 \
  > long1.log 2>&1 &
script_pid=$!
for _ in $(seq 600); do
  grep -q "running on " long1.log && break
  sleep 0.05
done
grep -q "running on " long1.log || { cat long1.log; fail "sweep did not start"; }
kill -USR1 "$script_pid"
set +e; wait "$script_pid"; rc=$?; set -e
script_pid=""
[ "$rc" = 3 ] || { cat long1.log; fail "stopped template exited $rc, want 3"; }
grep -q "SIGUSR1 received; asking the sweep" long1.log || fail "signal not forwarded"
grep -q "stopped, resumable: long.h5.partial (sweep exit status 3)" long1.log \
  || { cat long1.log; fail "no 'stopped, resumable' line"; }
[ -e long.h5.partial ] && [ ! -e long.h5 ] || fail "want only long.h5.partial after the stop"
bash "$src/slurm/long_sweep.sbatch" "$data" grid.toml long.h5 > long2.log 2>&1 \
  || { cat long2.log; fail "resumed template failed"; }
grep -q "resuming long.h5.partial" long2.log || fail "second run did not resume"
grep -q "complete: long.h5" long2.log || fail "second run did not complete"
h5diff direct.h5 long.h5 /results /results || fail "stopped and resumed rows differ"
h5diff direct.h5 long.h5 /done /done || fail "stopped and resumed done flags differ"
bash "$src/slurm/long_sweep.sbatch" "$data" grid.toml long.h5 > long3.log 2>&1 \
  || fail "run on a complete file failed"
grep -q "long.h5 is complete already; nothing to do" long3.log || fail "complete file not detected"

# ---- bad input: the sweep's one-line error, the sweep's exit status, no results file ----
printf 'strategy = "bb_atr"\n[grid]\nbb_period = [1, 20]\n' > bad.toml
set +e; bash "$src/slurm/one_node.sbatch" "$data" bad.toml bad.h5 > bad.log 2>&1; rc=$?; set -e
[ "$rc" = 1 ] || { cat bad.log; fail "bad grid: template exited $rc, want 1"; }
grep -q "bad.toml:3: key 'grid.bb_period'" bad.log || fail "bad grid error not shown: $(cat bad.log)"
grep -q "failed: sweep exit status 1" bad.log || fail "no 'failed' line"
[ ! -e bad.h5 ] && [ ! -e bad.h5.partial ] || fail "bad grid left a file"
set +e; bash "$src/slurm/one_node.sbatch" > none.log 2>&1; rc=$?; set -e
[ "$rc" = 1 ] && grep -q "DATA, GRID and OUT are required" none.log || fail "no inputs: $(cat none.log)"
echo "ok"
