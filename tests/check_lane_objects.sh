#!/usr/bin/env bash
# The per-path lane kernel objects (src/engine/lanes/, compiled with -mavx2, -mavx512f ...) must
# define one global symbol each, their entry point run_block_<path>, and nothing else: an inline
# function or template they emitted as a weak symbol could be picked by the linker for every
# caller, and a baseline caller would then run AVX code (SIGILL on an older CPU).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: check_lane_objects.sh PATH=OBJECT..." >&2; exit 2; }
for arg in "$@"; do
  path="${arg%%=*}"; obj="${arg#*=}"
  # Defined symbols that are not local (t, d, b, r ...): T, W, V, D, B, R, u, i.
  # DW.ref.__gxx_personality_v0 is the exception personality's data reference (emitted where the
  # kernel has landing pads, e.g. under ASan): data, never code, so it cannot route a call.
  globals="$(nm --defined-only "$obj" | awk '$2 ~ /^[A-Z]$|^[uvwi]$/ && $3 != "DW.ref.__gxx_personality_v0" {print $3}')"
  want="$(nm --defined-only "$obj" | awk '$2 == "T" {print $3}' | c++filt | grep -c "threadx::lanes::run_block_${path}(" || true)"
  if [ "$(printf '%s\n' "$globals" | grep -c .)" != 1 ] || [ "$want" != 1 ]; then
    echo "FAIL: $obj ($path) must export only run_block_$path; it exports:"
    printf '%s\n' "$globals" | c++filt
    exit 1
  fi
  echo "ok: $path exports only $(printf '%s\n' "$globals" | c++filt)"
done
