#!/usr/bin/env bash
# Builds ThreadX (build/) and runs every test: unit tests, the engine against an independent
# reference on real BTC data, HDF5 round trips and resume, and the CLI end to end.
#   bash scripts/test.sh             # Release build, all tests
#   bash scripts/test.sh --sanitize  # AddressSanitizer + UBSan build in build-asan/, all tests
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build
flags=(-DCMAKE_BUILD_TYPE=Release)
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-asan
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DTHREADX_SANITIZE=ON)
fi
# The CUDA backend (gpu/) is compiled whenever nvcc is installed, GPU or not (CI has nvcc, no GPU).
# THREADX_CUDA_ARCHS="75;80;86;89;90" compiles it for those GPU architectures (default: CMake's).
if [ -x /usr/local/cuda/bin/nvcc ] || command -v nvcc > /dev/null; then
  flags+=(-DTHREADX_CUDA=ON)
  [ -z "${THREADX_CUDA_ARCHS:-}" ] || flags+=("-DCMAKE_CUDA_ARCHITECTURES=$THREADX_CUDA_ARCHS")
fi
cmake -S . -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)"
# The SLURM tests (label slurm) run against wall-clock job limits sized for the Release build; the
# sanitizer build is 10-20x slower on their scalar path, so they run in the Release pass only.
exclude=()
if [ "$dir" = build-asan ]; then exclude=(-LE slurm); fi
ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" "${exclude[@]}"
