#!/usr/bin/env bash
# threadx robust under mpirun: every rank reads its own contiguous range of /blocks rows, rank 0
# merges the partials in rank order; the robustness file's datasets and group attributes must be
# bit-identical to one process (h5diff compares values exactly) for -np 1, 2, 3 and 4, and a bad
# input still ends the job with exit 1 and no output file.
# Inputs: a 21,870-combination `threadx sweep --blocks 8`, and the engine-written fixture of
# threadx_tests' RobustFixture.WriteForCli (96 combinations, S = 8; also S = 5 for the refusal).
# usage: mpi_robust.sh THREADX SOURCE_DIR [MPIRUN]
set -euo pipefail
bin="$(realpath "$1")"; src="$(realpath "$2")"; mpirun="${3:-mpirun}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
work="$(mktemp -d /tmp/threadx-mpi-robust.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
mpi() { timeout -k 10 300 "$mpirun" --bind-to none "$@"; }

THREADX_ROBUST_FIXTURE="$work" timeout -s KILL 300 "$(dirname "$bin")/threadx_tests" \
  --gtest_filter=RobustFixture.WriteForCli > fixture.log 2>&1 || { cat fixture.log; exit 1; }
"$bin" -q sweep --data "$src/data/BTCUSDT_15m_2024-12-01_2024-12-10.csv" \
  --grid "$src/tests/grids/mpi_21870.toml" --blocks 8 --out sweep8.h5
inputs=(blocks8.h5 sweep8.h5)

for input in "${inputs[@]}"; do
  args=(--cscv --dsr 7 --wf-window 3)
  "$bin" -q robust "$input" --out ref.h5 "${args[@]}" --force > /dev/null || fail "$input: single process"
  for np in 1 2 3 4; do
    out="np$np.h5"
    mpi -np "$np" "$bin" robust "$input" --out "$out" "${args[@]}" --force --threads $((np % 2 + 1)) \
      > "np$np.txt" 2> "np$np.log" || { cat "np$np.log"; fail "$input: mpirun -np $np"; }
    for obj in /cscv /dsr /walk_forward; do
      h5diff -q ref.h5 "$out" "$obj" "$obj" || fail "$input: -np $np: $obj differs from one process"
    done
    [ "$(h5dump -a ranks "$out" | sed -n 's/^ *(0): *//p')" = "$np" ] || fail "-np $np: ranks attribute"
    grep -q "PBO (probability of backtest overfitting)" "np$np.txt" || fail "-np $np: no summary"
    echo "ok: $input, mpirun -np $np equals one process"
  done
done

# A refusal under mpirun: exit 1, rank 0's one error line, no output file.
set +e; mpi -np 3 "$bin" robust blocks5.h5 --cscv --out bad.h5 > bad.txt 2> bad.log; rc=$?; set -e
[ "$rc" = 1 ] || { cat bad.log; fail "odd S under mpirun: exit $rc, want 1"; }
grep -q "CSCV needs an even S" bad.log || { cat bad.log; fail "odd S under mpirun: no reason given"; }
[ ! -e bad.h5 ] && [ ! -e bad.h5.partial ] || fail "odd S under mpirun: an output file was left"
echo "ok: a refusal under mpirun exits 1 with no output"
