#!/usr/bin/env bash
# The per-path lane kernel objects (each strategy's src/strategies/<name>/lanes.cpp, compiled with
# -mavx2, -mavx512f ...) must define their strategy's entry point run_block_<path><Policy> and
# nothing else: an inline function or template they emitted as a weak symbol could be picked by
# the linker for every caller, and a baseline caller would then run AVX code (SIGILL on an older
# CPU). The entry point is an explicit template instantiation (a weak symbol, W, of its own name).
#   bash tests/check_lane_objects.sh PATH=OBJECT[;OBJECT...] ...
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: check_lane_objects.sh PATH=OBJECT[;OBJECT...]..." >&2; exit 2; }
for arg in "$@"; do
  path="${arg%%=*}"
  IFS=';' read -r -a objs <<< "${arg#*=}"
  for obj in "${objs[@]}"; do
    # Defined symbols that are not local (t, d, b, r ...): T, W, V, D, B, R, u, i.
    # DW.ref.__gxx_personality_v0 is the exception personality's data reference (emitted where the
    # kernel has landing pads, e.g. under ASan): data, never code, so it cannot route a call.
    globals="$(nm --defined-only "$obj" | awk '$2 ~ /^[A-Z]$|^[uvwi]$/ && $3 != "DW.ref.__gxx_personality_v0" {print $3}' | c++filt)"
    entries="$(printf '%s\n' "$globals" | grep -c "^void threadx::lanes::run_block_${path}<" || true)"
    if [ "$(printf '%s\n' "$globals" | grep -c .)" != 1 ] || [ "$entries" != 1 ]; then
      echo "FAIL: $obj ($path) must export only one run_block_$path<Policy>; it exports:"
      printf '%s\n' "$globals"
      exit 1
    fi
    echo "ok: $(basename "$obj") ($path) exports only $globals"
  done
done
