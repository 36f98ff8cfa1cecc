#!/usr/bin/env bash
# threadx devices and sweep --devices: the listing, a GPU that is not visible (asked for as
# "cuda": a warning and the CPU, rows identical to a CPU-only run; named as cuda:N: a one-line
# error before any work), per-device accounting in the log and the results file, and bad device
# specs (one-line error, exit 1, no results file).
set -euo pipefail
bin="$1"; src="$2"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
data="$src/data/BTCUSDT_15m_2024-12-01_2024-12-10.csv"
grid="$src/data/grids/reference_24.toml"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin" devices > "$work/devices.txt" || fail "threadx devices failed"
grep -q "^cpu " "$work/devices.txt" || fail "no cpu line: $(cat "$work/devices.txt")"
if grep -q "^cuda:" "$work/devices.txt"; then gpus=1; else
  grep -q "^no CUDA device" "$work/devices.txt" || fail "no reason for no GPU: $(cat "$work/devices.txt")"
  gpus=0
fi

"$bin" sweep --data "$data" --grid "$grid" --out "$work/cpu.h5" --devices cpu 2> "$work/cpu.log" \
  || { cat "$work/cpu.log"; fail "cpu sweep failed"; }
grep -q "device cpu: 24 combinations (100.0%)" "$work/cpu.log" || fail "no device line: $(cat "$work/cpu.log")"
"$bin" info "$work/cpu.h5" > "$work/info.txt"
grep -q "^devices_used: cpu$" "$work/info.txt" || fail "devices_used: $(cat "$work/info.txt")"
grep -q "^device.cpu.combinations: 24$" "$work/info.txt" || fail "device.cpu.combinations missing"
grep -q "^device.cpu.busy_seconds: " "$work/info.txt" || fail "device.cpu.busy_seconds missing"

if [ "$gpus" = 0 ]; then
  # Asking for a GPU if there is one ("cuda") when there is none: a warning, the CPU, the same rows.
  "$bin" sweep --data "$data" --grid "$grid" --out "$work/gpu.h5" --devices cpu,cuda \
    2> "$work/gpu.log" || { cat "$work/gpu.log"; fail "sweep with a missing GPU failed"; }
  grep -q "warning --devices: cuda:0 is not available" "$work/gpu.log" || fail "no warning: $(cat "$work/gpu.log")"
  "$bin" sweep --data "$data" --grid "$grid" --out "$work/only.h5" --devices cuda \
    2> "$work/only.log" || { cat "$work/only.log"; fail "GPU-only sweep without a GPU failed"; }
  grep -q "no requested device is available; running on the CPU" "$work/only.log" || fail "no fallback warning"
  h5diff "$work/cpu.h5" "$work/gpu.h5" /results /results > /dev/null || fail "rows differ"
  h5diff "$work/cpu.h5" "$work/only.h5" /results /results > /dev/null || fail "rows differ"
fi

expect_error() {  # expect_error <pattern> <devices>
  if "$bin" sweep --data "$data" --grid "$grid" --out "$work/bad.h5" --devices "$2" 2> "$work/err.log"; then
    fail "succeeded: --devices $2"
  fi
  grep -q -- "$1" "$work/err.log" || fail "expected '$1' for '$2', got: $(cat "$work/err.log")"
  [ "$(wc -l < "$work/err.log")" = 1 ] || fail "not one line: $(cat "$work/err.log")"
  [ ! -e "$work/bad.h5" ] && [ ! -e "$work/bad.h5.partial" ] || fail "bad --devices left a file"
}
expect_error "--devices 'gpu': expected cpu, cuda or cuda:N" gpu
expect_error "--devices 'cuda:x': the device number must be" cuda:x
expect_error "cpu is listed twice" cpu,cpu
expect_error "empty item" cpu,
if [ "$gpus" = 0 ]; then
  # A GPU named by its number that is not there: the run does not start (a GPU job must not run
  # on the CPU alone unnoticed).
  expect_error "--devices: cuda:0 is not available: no CUDA device is visible" cuda:0
  expect_error "--devices: cuda:1 is not available" cpu,cuda:1
fi
echo "ok: devices listing, fallback and accounting (GPUs visible: $gpus)"
