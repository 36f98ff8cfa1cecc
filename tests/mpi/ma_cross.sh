#!/usr/bin/env bash
# ma_cross end to end through the same commands as bb_atr (docs/strategies/ma_cross.md):
#   - `threadx strategies` lists it; its --example-grid sweeps;
#   - one process, every SIMD path and the scalar reference: identical /results and /blocks;
#   - mpirun -np 1, 2, 3 with other unit sizes: identical to one process;
#   - the whole job SIGKILLed mid-sweep on the 49,632-bar file, then --resume: bit-identical;
#   - robust (CSCV, DSR, walk-forward) and report on its file; a grid breaking fast < slow is
#     refused with the contract's message.
# usage: ma_cross.sh THREADX SOURCE_DIR [MPIRUN]
set -euo pipefail
bin="$1"; src="$2"; mpirun="${3:-mpirun}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
work="$(mktemp -d)"
job=""
cleanup() {
  # Only the processes this test started: the mpirun it launched and that mpirun's children.
  if [ -n "$job" ] && kill -0 "$job" 2>/dev/null; then
    for p in $(ps -o pid= --ppid "$job"); do kill -9 "$p" 2>/dev/null || true; done
    kill -9 "$job" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
short="$src/data/BTCUSDT_15m_2024-12-01_2024-12-10.csv"
long="$src/data/BTCUSDT_15m_2023-10_2025-02.csv"
mpi() { timeout -k 10 600 "$mpirun" --bind-to none "$@"; }
attr() { "$bin" info "$1" | sed -n "s/^$2: //p"; }
same() {  # same A B WHAT: /results and /blocks equal bit for bit
  h5diff "$1" "$2" /results || fail "$3: /results differ"
  h5diff "$1" "$2" /blocks || fail "$3: /blocks differ"
}

# ---- the catalog ----
"$bin" strategies > "$work/list.txt"
grep -q '^ma_cross (version 1)' "$work/list.txt" || fail "threadx strategies does not list ma_cross"
grep -q 'rule: fast_period < slow_period' "$work/list.txt" || fail "the fast < slow rule is not listed"
"$bin" strategies ma_cross --example-grid > "$work/example.toml"
"$bin" -q sweep --data "$short" --grid "$work/example.toml" --out "$work/example.h5" \
  || fail "the example grid does not sweep"
[ "$(attr "$work/example.h5" strategy)" = ma_cross ] || fail "strategy attribute of the example"
echo "ok: threadx strategies lists ma_cross; its example grid sweeps ($(attr "$work/example.h5" combinations) combinations)"

# ---- one process: every SIMD path equals the scalar reference ----
grid="$src/tests/grids/ma_cross_3024.toml"
"$bin" -q sweep --data "$short" --grid "$grid" --blocks 8 --isa scalar --out "$work/ref.h5" \
  || fail "scalar reference run"
[ "$(attr "$work/ref.h5" combinations)" = 3024 ] || fail "grid is not 3,024 combinations"
paths="sse2"
grep -qw avx2 /proc/cpuinfo && paths="$paths avx2"
grep -qw avx512f /proc/cpuinfo && grep -qw avx512dq /proc/cpuinfo && paths="$paths avx512"
for isa in $paths; do
  "$bin" -q sweep --data "$short" --grid "$grid" --blocks 8 --isa "$isa" --out "$work/$isa.h5" \
    || fail "--isa $isa"
  same "$work/ref.h5" "$work/$isa.h5" "--isa $isa"
done
echo "ok: --isa $paths equal the scalar reference"

# ---- 1..3 ranks ----
declare -A unit=([1]=4096 [2]=100 [3]=37)
for np in 1 2 3; do
  mpi -np "$np" "$bin" -q sweep --data "$short" --grid "$grid" --blocks 8 --out "$work/np$np.h5" \
    --unit-size "${unit[$np]}" > "$work/np$np.log" 2>&1 || { cat "$work/np$np.log"; fail "mpirun -np $np"; }
  same "$work/ref.h5" "$work/np$np.h5" "mpirun -np $np"
  [ "$(attr "$work/np$np.h5" ranks)" = "$np" ] || fail "-np $np: ranks attribute"
done
echo "ok: mpirun -np 1, 2, 3 equal one process"

# ---- kill + resume on the long file ----
big="$src/tests/grids/ma_cross_313344.toml"
"$bin" -q sweep --data "$long" --grid "$big" --blocks 4 --out "$work/bigref.h5" \
  || fail "reference run on the long file"
"$mpirun" --bind-to none -np 3 "$bin" sweep --data "$long" --grid "$big" --blocks 4 --threads 1 \
  --unit-size 96 --progress-interval 0.3 --flush-interval 0.2 --out "$work/k.h5" > "$work/k.log" 2>&1 &
job=$!
for _ in $(seq 1 600); do
  grep -q "progress" "$work/k.log" && break
  kill -0 "$job" 2>/dev/null || { cat "$work/k.log"; fail "job ended before any progress"; }
  sleep 0.1
done
for p in $(ps -o pid= --ppid "$job"); do kill -9 "$p" 2>/dev/null || true; done
kill -9 "$job" 2>/dev/null || true
wait "$job" 2>/dev/null || true
job=""
[ ! -e "$work/k.h5" ] || fail "the job completed before it was killed: the workload is too small for this machine"
[ -f "$work/k.h5.partial" ] || fail "no partial file after SIGKILL"
"$bin" -q sweep --data "$long" --grid "$big" --blocks 4 --out "$work/k.h5" --resume \
  || fail "resume"
same "$work/bigref.h5" "$work/k.h5" "killed and resumed"
echo "ok: mpirun -np 3 SIGKILLed on the 49,632-bar file; --resume is bit-identical"

# ---- robust and report ----
"$bin" robust "$work/ref.h5" --out "$work/r.h5" --cscv --dsr 5 --wf-window 3 > "$work/summary.txt" \
  2> "$work/robust.log" || { cat "$work/robust.log"; fail "robust"; }
grep -q 'PBO (probability of backtest overfitting)' "$work/summary.txt" || fail "no PBO line"
grep -q 'Deflated Sharpe Ratio of the 5 best by Sharpe' "$work/summary.txt" || fail "no DSR line"
"$bin" -q report "$work/ref.h5" --robust "$work/r.h5" --out "$work/page.html" > /dev/null \
  || fail "report"
grep -q 'fast SMA\|fast EMA' "$work/page.html" || fail "the report does not draw the moving averages"
echo "ok: robust and report on a ma_cross file"

# ---- the fast < slow rule (ma_cross.md section 7) ----
printf 'strategy = "ma_cross"\n[grid]\nfast_period = { start = 5, stop = 30, step = 5 }\nslow_period = [20, 50, 100]\n' \
  > "$work/bad.toml"
rc=0; "$bin" -q sweep --data "$short" --grid "$work/bad.toml" --out "$work/bad.h5" 2> "$work/bad.txt" || rc=$?
[ "$rc" = 1 ] || fail "fast >= slow: exit $rc, want 1"
grep -qF "bad.toml:4: key 'grid.slow_period': fast_period must be < slow_period in every combination, but fast_period = 30 meets slow_period = 20" \
  "$work/bad.txt" || fail "fast >= slow message: $(cat "$work/bad.txt")"
[ ! -e "$work/bad.h5" ] && [ ! -e "$work/bad.h5.partial" ] || fail "a refused grid left a file"
echo "ok: fast >= slow refused: $(cat "$work/bad.txt")"
