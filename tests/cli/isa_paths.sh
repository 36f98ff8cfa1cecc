#!/usr/bin/env bash
# One portable binary, every SIMD path: each path this CPU runs (threadx devices) sweeps the real
# 49,632-bar file to the scalar path's rows and per-block statistics (--blocks 16) bit for bit
# (h5diff), and the file names the path it used. A path the process may not use (THREADX_MAX_ISA caps it, as an older node would) is a
# one-line error with no output file; auto then picks the widest allowed path.
set -euo pipefail
bin="$1"; src="$2"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
data="$src/data/BTCUSDT_15m_2023-10_2025-02.csv"
fail() { echo "FAIL: $*" >&2; exit 1; }

# Mixed band widths, trailing on and off, the trend filter: blocks whose lanes diverge.
cat > "$work/grid.toml" <<'TOML'
strategy = "bb_atr"
[grid]
bb_period      = [20, 50]
bb_std         = [1.5, 2.25, 3.0]
atr_multiplier = [1.0, 2.5]
max_hold_bars  = [12, 96]
trend_period   = [0, 100]
trailing_stop  = [0, 1]
spacing_bars   = [0, 9, 30]
TOML
sweep() {  # sweep NAME ISA [env...]
  local name="$1" isa="$2"; shift 2
  env "$@" "$bin" sweep --data "$data" --grid "$work/grid.toml" --out "$work/$name.h5" \
    --isa "$isa" --unit-size 37 --blocks 16 2> "$work/$name.log"
}

paths="$("$bin" devices | sed -n 's/^cpu .*SIMD paths: //p')"
[ -n "$paths" ] || fail "threadx devices names no SIMD paths: $("$bin" devices)"
echo "SIMD paths of this CPU: $paths"
sweep scalar scalar || { cat "$work/scalar.log"; fail "scalar sweep"; }
"$bin" info "$work/scalar.h5" | grep -q '^isa: scalar (one combination at a time)$' \
  || fail "scalar: isa attribute: $("$bin" info "$work/scalar.h5" | grep '^isa' || true)"
tested=0
for isa in $(echo "$paths" | tr -d ',' | sed 's/ (auto)//'); do
  [ "$isa" = scalar ] && continue
  sweep "$isa" "$isa" || { cat "$work/$isa.log"; fail "--isa $isa"; }
  h5diff "$work/scalar.h5" "$work/$isa.h5" /results /results \
    || fail "--isa $isa: /results differ from --isa scalar"
  h5diff "$work/scalar.h5" "$work/$isa.h5" /blocks /blocks \
    || fail "--isa $isa: /blocks differ from --isa scalar"
  "$bin" info "$work/$isa.h5" | grep -q "^isa: $isa ([248] lanes)$" \
    || fail "$isa: isa attribute: $("$bin" info "$work/$isa.h5" | grep '^isa' || true)"
  grep -q "CPU path $isa (" "$work/$isa.log" || fail "$isa: the log does not name the path"
  tested=$((tested + 1))
done
[ "$tested" -ge 1 ] || fail "no SIMD path was tested"
echo "tested $tested SIMD path(s) against scalar, bit for bit"

# auto = the first path listed.
first="$(echo "$paths" | sed 's/,.*//; s/ (auto)//')"
echo "$paths" | grep -q "^$first (auto)" || fail "auto is not the widest path: $paths"
sweep auto auto || fail "--isa auto"
"$bin" info "$work/auto.h5" | grep -q "^isa: $first " || fail "auto did not pick $first"

# A cap, as on an older node: auto takes sse2; a wider path is refused before any work.
THREADX_MAX_ISA=sse2 "$bin" devices | grep -q 'SIMD paths: sse2 (auto), scalar$' \
  || fail "THREADX_MAX_ISA=sse2 devices: $(THREADX_MAX_ISA=sse2 "$bin" devices)"
sweep capped auto THREADX_MAX_ISA=sse2 || fail "capped auto sweep"
"$bin" info "$work/capped.h5" | grep -q '^isa: sse2 (2 lanes)$' || fail "capped auto is not sse2"
h5diff "$work/scalar.h5" "$work/capped.h5" /results /results || fail "capped sse2 rows differ"
h5diff "$work/scalar.h5" "$work/capped.h5" /blocks /blocks || fail "capped sse2 blocks differ"
if sweep refused avx2 THREADX_MAX_ISA=sse2; then fail "--isa avx2 under a sse2 cap succeeded"; fi
[ "$(grep -c . "$work/refused.log")" = 1 ] || fail "more than one line: $(cat "$work/refused.log")"
grep -q "error.*--isa avx2: THREADX_MAX_ISA=sse2 caps this process at sse2; it runs: auto, sse2, scalar" \
  "$work/refused.log" || fail "cap message: $(cat "$work/refused.log")"
if sweep bogus neon; then fail "--isa neon succeeded"; fi
grep -q "error.*--isa 'neon': expected auto, avx512, avx2, sse2 or scalar" "$work/bogus.log" \
  || fail "unknown path message: $(cat "$work/bogus.log")"
if sweep badcap auto THREADX_MAX_ISA=avx9; then fail "THREADX_MAX_ISA=avx9 succeeded"; fi
grep -q "error.*THREADX_MAX_ISA='avx9': expected avx512, avx2, sse2 or scalar" "$work/badcap.log" \
  || fail "bad cap message: $(cat "$work/badcap.log")"
for name in refused bogus badcap; do
  [ ! -e "$work/$name.h5" ] && [ ! -e "$work/$name.h5.partial" ] || fail "$name left a file"
done
echo "ok"
