#!/usr/bin/env bash
# scripts/gpu_check.sh on a machine without a GPU: one clear "no GPU" line, exit status 2, and
# nothing built or written. (On a machine with a GPU the script is the real check, run by hand.)
set -euo pipefail
src="$2"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
if { command -v nvidia-smi > /dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; } ||
  compgen -G "/proc/driver/nvidia/gpus/*" > /dev/null; then
  echo "skipped: this machine has a GPU (run scripts/gpu_check.sh by hand)"
  exit 0
fi
status=0
bash "$src/scripts/gpu_check.sh" --out "$work/out" --build "$work/build" > "$work/stdout" \
  2> "$work/stderr" || status=$?
[ "$status" = 2 ] || fail "exit status $status, expected 2; stderr: $(cat "$work/stderr")"
grep -q "^gpu_check: no GPU on .*: nothing to check here; run this on a GPU node$" "$work/stderr" ||
  fail "no 'no GPU' line: $(cat "$work/stderr")"
[ "$(wc -l < "$work/stderr")" = 1 ] || fail "more than one line: $(cat "$work/stderr")"
[ ! -s "$work/stdout" ] || fail "printed: $(cat "$work/stdout")"
[ ! -e "$work/out" ] && [ ! -e "$work/build" ] || fail "wrote or built something without a GPU"
echo "ok: gpu_check.sh says there is no GPU: $(cat "$work/stderr")"
