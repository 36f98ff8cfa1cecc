#!/usr/bin/env bash
# threadx robust against an independent numpy recomputation from /blocks of a 21,870-combination
# `threadx sweep --blocks 10` and of the 96-combination engine-written fixture
# (tests/robust/crosscheck.py: ids and counts exact, numbers to 1e-12 relative), over several
# settings; then a robustness file with one figure altered must be caught.
# Needs Debian's python3-numpy and python3-h5py (scripts/setup.sh installs them).
#   bash tests/cli/robust_crosscheck.sh <threadx binary> <source dir>
set -euo pipefail
bin="$(realpath "$1")"; src="$(realpath "$2")"
py=/usr/bin/python3
"$py" -c 'import numpy, h5py' 2> /dev/null \
  || { echo "FAIL: $py lacks numpy or h5py (apt-get install python3-numpy python3-h5py)" >&2; exit 1; }
work="$(mktemp -d /tmp/threadx-robust-xcheck.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
THREADX_ROBUST_FIXTURE="$work" timeout -s KILL 300 "$(dirname "$bin")/threadx_tests" \
  --gtest_filter=RobustFixture.WriteForCli > fixture.log 2>&1 || { cat fixture.log; exit 1; }
"$bin" -q sweep --data "$src/data/BTCUSDT_15m_2024-12-01_2024-12-10.csv" \
  --grid "$src/tests/grids/mpi_21870.toml" --blocks 10 --out sweep10.h5
inputs=(blocks8.h5 sweep10.h5)
for input in "${inputs[@]}"; do
  n=0
  for args in "--cscv --dsr 10 --wf-window 3" "--cscv --dsr 50 --wf-window 1 --wf-mode anchored" \
              "--dsr 3 --wf-window 2 --wf-min-trades 4"; do
    n=$((n + 1))
    # shellcheck disable=SC2086
    "$bin" -q robust "$input" --out "r$n.h5" $args --force > /dev/null
    echo "== $input $args"
    "$py" "$src/tests/robust/crosscheck.py" "$input" "r$n.h5"
  done
done
# The check must fail when the file is wrong.
cp r1.h5 bad.h5
"$py" -c 'import h5py, sys; f = h5py.File(sys.argv[1], "r+"); f["cscv"].attrs["pbo"] += 1e-9' bad.h5
if "$py" "$src/tests/robust/crosscheck.py" "${inputs[-1]}" bad.h5 > bad.txt 2>&1; then
  cat bad.txt; echo "FAIL: an altered PBO passed the crosscheck" >&2; exit 1
fi
grep -q "MISMATCH pbo" bad.txt || { cat bad.txt; echo "FAIL: the altered PBO was not named" >&2; exit 1; }
echo "ok: an altered PBO is caught"
