#!/usr/bin/env bash
# SIGKILL at chosen writes: a compressed sweep is killed (strace's syscall fault injection) exactly
# at its N-th pwrite64 for N spread over a whole run - inside HDF5 flushes, between a chunk and its
# index, between the index and the file's end-of-space record, while /done flags go out - then
# finished with --resume and compared with an uninterrupted run bit for bit (/results and /done
# bytes, and h5diff). Chunks of 512 rows and a flush every millisecond make hundreds of such
# writes in a run of about a second.
#   bash tests/cli/kill_at_write.sh <threadx binary> <source dir> [kills]
set -euo pipefail
bin="$(realpath "$1")"; src="$(realpath "$2")"; kills="${3:-24}"
command -v strace > /dev/null || { echo "SKIPPED: strace not installed"; exit 0; }
# LeakSanitizer cannot run under ptrace: a sanitizer build runs here without it.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cd "$work"
args=(-q sweep --data "$src/data/BTCUSDT_15m_2024-12-01_2024-12-10.csv"
      --grid "$src/tests/grids/mid_34560.toml" --threads 2 --unit-size 100 --chunk-rows 512
      --flush-interval 0.001)
raw() { local t; t="$(mktemp -p "$work")"; h5dump -b NATIVE -o "$t" -d "$2" "$1" > /dev/null; cat "$t"; rm -f "$t"; }
"$bin" "${args[@]}" --out reference.h5
raw reference.h5 /results > reference.results.bin
raw reference.h5 /done > reference.done.bin
# strace counts the injected call per thread: the most pwrite64 calls one thread of a whole run
# makes (the writer thread's chunks, index and flags; the main thread's creation and end).
strace -f -qq -o calls.txt -e trace=pwrite64 "$bin" "${args[@]}" --out counted.h5
total="$(awk '{n[$1]++} END {m = 0; for (p in n) if (n[p] > m) m = n[p]; print m}' calls.txt)"
[ -n "$total" ] && [ "$total" -gt 20 ] || { echo "FAIL: could not count the writes ($(head -3 calls.txt))"; exit 1; }
fails=0
for k in $(seq 1 "$kills"); do
  n=$(( 1 + (total - 1) * k / kills ))  # spread over the run, early writes included
  rm -rf out; mkdir out
  # The n-th pwrite64 of any thread is replaced by SIGKILL before it runs (the shell's "Killed"
  # notice is silenced).
  { strace -f -qq -o /dev/null -e trace=pwrite64 -e inject=pwrite64:signal=SIGKILL:when="$n" \
      "$bin" "${args[@]}" --out out/r.h5 > /dev/null 2>&1 || true; } 2> /dev/null
  state="finished"
  if [ -e out/r.h5.partial ]; then
    state="killed, resumed"
    "$bin" "${args[@]}" --out out/r.h5 --resume 2> resume.log || { echo "kill at write $n: RESUME FAILED: $(cat resume.log)"; fails=$((fails + 1)); continue; }
  elif [ ! -e out/r.h5 ]; then
    state="killed before the file, started again"
    "$bin" "${args[@]}" --out out/r.h5 2> resume.log || { echo "kill at write $n: START FAILED: $(cat resume.log)"; fails=$((fails + 1)); continue; }
  fi
  if cmp -s <(raw out/r.h5 /results) reference.results.bin && cmp -s <(raw out/r.h5 /done) reference.done.bin \
     && h5diff -q reference.h5 out/r.h5 /results /results; then
    echo "kill at write $n of $total: ok ($state)"
  else
    echo "kill at write $n of $total: ROWS DIFFER ($state)"; fails=$((fails + 1))
  fi
done
echo "kill at write: $((kills - fails))/$kills passed"
[ "$fails" = 0 ]
