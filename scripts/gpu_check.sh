#!/usr/bin/env bash
# The first thing to run on a machine with an NVIDIA GPU: everything the CUDA path needs checked
# that no machine without one can check, in one go, with every log kept.
#   1. build (build-gpu/, CUDA on) unless it is up to date; ptxas's register counts per architecture
#   2. threadx devices: the GPU, its compute capability, the kernel's registers/occupancy/wave
#   3. the GPU tests (CudaParity: kernel rows bit-identical to the CPU's), then compute-sanitizer
#      (memcheck, initcheck) over them
#   4. a sweep of the 49,632-bar BTC file with --devices cuda:0, one with --devices cpu, one with
#      both: /results compared bit for bit (h5diff), the GPU's file must come from the GPU alone;
#      then ma_cross (tests/grids/ma_cross_313344.toml) on the GPU and on the CPU, compared too
#   5. bench lines per device (wall time, combinations/s, bar-steps/s, the balancer's shares)
#
#   bash scripts/gpu_check.sh [--device N] [--grid FILE] [--quick] [--out DIR] [--build DIR]
#     --device N   the GPU to check (default 0)
#     --grid FILE  the grid of step 4 (default data/grids/reference_2p9m.toml, 2,903,040
#                  combinations; an FP64-weak GPU (L4, L40S, RTX) may need --quick)
#     --quick      step 4 on a slice of that grid: bb_period 10..16, 580,608 combinations
#     --out DIR    where logs and results go (default gpu_check_<host>_<time>/)
#     --build DIR  build directory (default build-gpu; THREADX_CUDA_ARCHS="75;80;90" sets the
#                  architectures of a new one, default CMake's)
# Exit status: 0 when every step passed, 1 when one failed (the summary names it), 2 when the
# machine has no GPU (nothing is built then).
set -euo pipefail
cd "$(dirname "$0")/.."
src="$(pwd)"

device=0
grid="$src/data/grids/reference_2p9m.toml"
quick=0
out=""
build="$src/build-gpu"
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device="$2"; shift 2 ;;
    --grid) grid="$(realpath "$2")"; shift 2 ;;
    --quick) quick=1; shift ;;
    --out) out="$2"; shift 2 ;;
    --build) build="$(realpath -m "$2")"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "gpu_check: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done

# ---- 0. is there a GPU at all? (before building anything) ----------------------------------------
gpu_list=""
if command -v nvidia-smi > /dev/null 2>&1; then
  gpu_list="$(nvidia-smi -L 2>/dev/null | grep '^GPU ' || true)"
elif compgen -G "/proc/driver/nvidia/gpus/*" > /dev/null; then
  gpu_list="$(ls /proc/driver/nvidia/gpus)"
fi
if [ -z "$gpu_list" ]; then
  why="nvidia-smi lists no GPU"
  command -v nvidia-smi > /dev/null 2>&1 || why="no nvidia-smi and no /proc/driver/nvidia/gpus"
  echo "gpu_check: no GPU on $(hostname) ($why): nothing to check here; run this on a GPU node" >&2
  exit 2
fi

[ -n "$out" ] || out="gpu_check_$(hostname -s)_$(date +%Y%m%d_%H%M%S)"
mkdir -p "$out"
out="$(realpath "$out")"
summary=()
failed=0
pass() { summary+=("PASS  $*"); echo "gpu_check: PASS  $*"; }
fail() { summary+=("FAIL  $*"); echo "gpu_check: FAIL  $*" >&2; failed=1; }
step() { echo; echo "==== $* ===="; }

step "0. machine"
{
  echo "host: $(hostname), $(nproc) CPU threads, $(uname -sr)"
  echo "$gpu_list"
  if command -v nvidia-smi > /dev/null 2>&1; then
    nvidia-smi --query-gpu=index,name,compute_cap,driver_version,memory.total,clocks.max.sm \
      --format=csv 2>/dev/null || true
  fi
  echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
} | tee "$out/machine.txt"

# ---- 1. build --------------------------------------------------------------------------------------
step "1. build ($build)"
nvcc="$(command -v nvcc || true)"
[ -n "$nvcc" ] || nvcc=/usr/local/cuda/bin/nvcc
[ -x "$nvcc" ] || { echo "gpu_check: no nvcc (PATH or /usr/local/cuda/bin): cannot build the CUDA path" >&2; exit 1; }
if [ ! -f "$build/CMakeCache.txt" ]; then
  flags=(-DCMAKE_BUILD_TYPE=Release -DTHREADX_CUDA=ON "-DCMAKE_CUDA_COMPILER=$nvcc")
  [ -z "${THREADX_CUDA_ARCHS:-}" ] || flags+=("-DCMAKE_CUDA_ARCHITECTURES=$THREADX_CUDA_ARCHS")
  cmake -S "$src" -B "$build" "${flags[@]}" > "$out/configure.log" 2>&1 ||
    { cat "$out/configure.log"; echo "gpu_check: configure failed" >&2; exit 1; }
fi
# The CUDA object is rebuilt so that ptxas's report lands in this log.
find "$build" -name 'cuda_runtime.cu.o' -delete 2>/dev/null || true
if cmake --build "$build" -j "$(nproc)" --target threadx threadx_tests > "$out/build.log" 2>&1; then
  pass "build"
else
  tail -30 "$out/build.log"
  echo "gpu_check: build failed (log: $out/build.log)" >&2
  exit 1
fi
grep -E "Compiling entry function|Used [0-9]+ registers|stack frame" "$out/build.log" |
  sed -E "s/Compiling entry function '[^']*'/kernel/" | tee "$out/ptxas.txt"
bin="$build/threadx"
tests="$build/threadx_tests"

# ---- 2. the device as threadx sees it --------------------------------------------------------------
step "2. threadx devices"
"$bin" devices | tee "$out/devices.txt"
if grep -q "^cuda:$device " "$out/devices.txt" && ! grep -A1 "^cuda:$device " "$out/devices.txt" |
  grep -q "cannot run"; then
  pass "cuda:$device is visible and can run this build"
else
  fail "cuda:$device is not usable by threadx (see $out/devices.txt)"
fi

# ---- 3. GPU tests, then compute-sanitizer --------------------------------------------------------
step "3. GPU tests and compute-sanitizer"
filter='CudaParity.*:CudaFit.*:CudaProbe.*:DeviceChoice.*:BatchKernel.*'
if CUDA_VISIBLE_DEVICES="$device" "$tests" --gtest_filter="$filter" > "$out/gpu_tests.log" 2>&1; then
  if grep -q "SKIPPED" "$out/gpu_tests.log"; then
    fail "GPU tests skipped themselves: they do not see the GPU ($out/gpu_tests.log)"
  else
    pass "GPU tests ($(grep -c '^\[       OK \]' "$out/gpu_tests.log") passed, CudaParity bit-identical)"
  fi
else
  grep -E "FAILED|Failure|differ|max relative" "$out/gpu_tests.log" | head -20
  fail "GPU tests ($out/gpu_tests.log)"
fi
sanitizer="$(command -v compute-sanitizer || true)"
for d in "${CUDA_HOME:-}" "$(dirname "$(dirname "$nvcc")")" /usr/local/cuda; do
  [ -n "$sanitizer" ] || [ -z "$d" ] && continue
  for c in "$d/bin/compute-sanitizer" "$d/compute-sanitizer/compute-sanitizer"; do
    [ -x "$c" ] && { sanitizer="$c"; break; }
  done
done
if [ -z "$sanitizer" ]; then
  fail "compute-sanitizer not found (PATH, \$CUDA_HOME, next to nvcc): install the CUDA toolkit's sanitizer"
else
  for tool in memcheck initcheck; do
    if CUDA_VISIBLE_DEVICES="$device" "$sanitizer" --tool "$tool" --error-exitcode 97 \
      "$tests" --gtest_filter='CudaParity.*' > "$out/sanitizer_$tool.log" 2>&1; then
      pass "compute-sanitizer --tool $tool over CudaParity.*"
    else
      grep -E "ERROR SUMMARY|Invalid|Uninitialized|FAILED" "$out/sanitizer_$tool.log" | head -10
      fail "compute-sanitizer --tool $tool ($out/sanitizer_$tool.log)"
    fi
  done
fi

# ---- 4. the 49,632-bar sweep: GPU vs CPU, bit for bit ---------------------------------------------
data="$src/data/BTCUSDT_15m_2023-10_2025-02.csv"
if [ "$quick" = 1 ]; then
  sed -E 's/^bb_period *=.*/bb_period      = { start = 10,  stop = 16,  step = 2 }/' "$grid" > "$out/grid.toml"
  grid="$out/grid.toml"
fi
step "4. sweep of $(basename "$data") over $(basename "$grid"): cuda:$device vs cpu"
# A GPU numbered N in this process is cuda:N; CUDA_VISIBLE_DEVICES is left alone.
sweep() {  # sweep NAME DEVICES [GRID]: times a whole sweep, log in $out/NAME.log
  local t0 t1
  t0=$(date +%s.%N)
  if "$bin" sweep --force --data "$data" --grid "${3:-$grid}" --out "$out/$1.h5" --devices "$2" \
    --progress-interval 10 > "$out/$1.log" 2>&1; then
    t1=$(date +%s.%N)
    echo "$t0 $t1" > "$out/$1.time"
    return 0
  fi
  tail -5 "$out/$1.log" >&2
  return 1
}
# same_results A B WHAT: /results of $out/A.h5 and $out/B.h5 bit for bit (h5diff), said as WHAT.
same_results() {
  if h5diff "$out/$1.h5" "$out/$2.h5" /results /results > "$out/h5diff_$2.txt" 2>&1; then
    pass "$3 == cpu, bit for bit (h5diff)"
  else
    head -20 "$out/h5diff_$2.txt"
    fail "$3 differ from the CPU's ($out/h5diff_$2.txt)"
  fi
}
ok_gpu=0 ok_cpu=0 ok_both=0
if sweep gpu "cuda:$device"; then ok_gpu=1; else fail "sweep --devices cuda:$device ($out/gpu.log)"; fi
if sweep cpu cpu; then ok_cpu=1; else fail "sweep --devices cpu ($out/cpu.log)"; fi
if sweep both "cpu,cuda:$device"; then ok_both=1; else
  fail "sweep --devices cpu,cuda:$device ($out/both.log)"
fi
if [ "$ok_gpu" = 1 ]; then
  used="$("$bin" info "$out/gpu.h5" | sed -n 's/^devices_used: //p')"
  if [ "$used" = "cuda:$device" ]; then
    pass "the cuda:$device file was computed by cuda:$device alone"
  else
    fail "the cuda:$device sweep ran on '$used'"
  fi
fi
if [ "$ok_gpu" = 1 ] && [ "$ok_cpu" = 1 ]; then same_results cpu gpu "/results of cuda:$device"; fi
if [ "$ok_both" = 1 ] && [ "$ok_cpu" = 1 ]; then
  same_results cpu both "/results of cpu+cuda:$device"
fi

# ---- 4b. the second strategy: ma_cross on the GPU vs the CPU, bit for bit ------------------------
ma_grid="$src/tests/grids/ma_cross_313344.toml"
step "4b. sweep of $(basename "$data") over $(basename "$ma_grid"): cuda:$device vs cpu"
ok_ma_gpu=0 ok_ma_cpu=0
if sweep ma_gpu "cuda:$device" "$ma_grid"; then ok_ma_gpu=1; else
  fail "ma_cross sweep --devices cuda:$device ($out/ma_gpu.log)"
fi
if sweep ma_cpu cpu "$ma_grid"; then ok_ma_cpu=1; else fail "ma_cross sweep --devices cpu ($out/ma_cpu.log)"; fi
if [ "$ok_ma_gpu" = 1 ] && [ "$ok_ma_cpu" = 1 ]; then
  same_results ma_cpu ma_gpu "ma_cross /results of cuda:$device"
fi

# ---- 5. bench lines per device -------------------------------------------------------------------
step "5. bench"
bars="$(grep -o 'bars: [0-9,]*' "$out/cpu.log" 2>/dev/null | head -1 | tr -dc '0-9')"
{
  for run in gpu cpu both ma_gpu ma_cpu; do
    [ -f "$out/$run.time" ] || continue
    read -r t0 t1 < "$out/$run.time"
    combos="$(sed -n 's/.*done: \([0-9,]*\) combinations.*/\1/p' "$out/$run.log" | tr -d ',')"
    awk -v run="$run" -v t0="$t0" -v t1="$t1" -v n="$combos" -v bars="${bars:-0}" 'BEGIN {
      s = t1 - t0
      printf "bench %-5s %d combos x %d bars: %.2f s wall (load + sweep + file), %.0f combos/s, %.3g bar-steps/s\n",
        run, n, bars, s, n / s, n * bars / s }'
    grep -o "device [^ ]*: .*" "$out/$run.log" | sed 's/^/      /'
  done
} | tee "$out/bench.txt"

echo
echo "==== summary ($out) ===="
printf '%s\n' "${summary[@]}" | tee "$out/summary.txt"
exit "$failed"
