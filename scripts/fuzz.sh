#!/usr/bin/env bash
# Fuzzes the bar loader and the grid parser with libFuzzer (clang, ASan+UBSan; build-fuzz/).
# Seeds are taken from the real data and grid files; the corpora grow in build-fuzz/corpus/.
#   bash scripts/fuzz.sh                   # 60 s per target (what .ci/run does)
#   bash scripts/fuzz.sh --seconds 1800    # a longer run: 30 min per target
#   bash scripts/fuzz.sh --jobs 2          # per target, 2 parallel fuzzing processes
# A finding (crash, sanitizer report, broken invariant, exception other than a one-line
# InputError naming the file) is saved as build-fuzz/findings/<target>-crash-*; reproduce it with
#   build-fuzz/fuzz_<target> build-fuzz/findings/<target>-crash-<hash>
# Prints executions and CPU time per target; exit status 1 on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60 jobs=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done

command -v clang++ > /dev/null || { echo "fuzz.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DTHREADX_FUZZ=ON -DTHREADX_BUILD_TESTS=OFF > /dev/null
cmake --build build-fuzz -j "$(nproc)" --target fuzz_loader fuzz_grid

# Seeds: small real inputs of every format.
seeds=build-fuzz/seeds
rm -rf "$seeds"; mkdir -p "$seeds/loader" "$seeds/grid" build-fuzz/findings
for f in data/*.csv data/binance/*.csv; do
  [ -f "$f" ] || continue
  b="$(basename "$f" .csv)"
  head -40 "$f" > "$seeds/loader/$b"
  sed -n '1p;200,230p' "$f" > "$seeds/loader/$b-mid"
  head -20 "$f" | sed 's/$/\r/' > "$seeds/loader/$b-crlf"
done
for f in data/grids/*.toml; do
  [ -f "$f" ] && cp "$f" "$seeds/grid/$(basename "$f")"
done
cp tests/fuzz/regressions/grid-* "$seeds/grid/"  # past findings stay in the seeds
printf '[fixed]\nfee_bps = 4.5\ntrailing_stop = true\n[grid]\nbb_std = [1.5, 2]\nrisk_per_trade = { start = 0.1, stop = 1, step = 0.3 }\n' > "$seeds/grid/fixed_and_lists.toml"

status=0
for target in loader grid; do
  corpus="build-fuzz/corpus/$target"; mkdir -p "$corpus"
  log="build-fuzz/fuzz_$target.log"
  start_cpu="$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)"
  set +e
  if [ "$jobs" -gt 1 ]; then
    # -jobs runs fuzz_$target.N.log style workers; each stops after the time limit.
    "build-fuzz/fuzz_$target" -max_total_time="$seconds" -jobs="$jobs" -workers="$jobs" \
      -dict="tests/fuzz/$target.dict" -max_len=8192 -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="build-fuzz/findings/$target-" \
      "$corpus" "$seeds/$target" > "$log" 2>&1
  else
    "build-fuzz/fuzz_$target" -max_total_time="$seconds" \
      -dict="tests/fuzz/$target.dict" -max_len=8192 -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="build-fuzz/findings/$target-" \
      "$corpus" "$seeds/$target" > "$log" 2>&1
  fi
  rc=$?
  set -e
  end_cpu="$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)"
  cpu_s=$(( (end_cpu - start_cpu) / $(getconf CLK_TCK) ))
  execs="$(cat "$log" fuzz-*.log 2> /dev/null | sed -n 's/^stat::number_of_executed_units: *//p' | awk '{s += $1} END {print s + 0}' || true)"
  findings="$(ls build-fuzz/findings | grep -c "^$target-" || true)"
  echo "fuzz $target: $execs executions, $cpu_s CPU-seconds, corpus $(ls "$corpus" | wc -l) inputs, findings $findings (exit $rc; log $log)"
  rm -f fuzz-*.log
  if [ "$rc" != 0 ] || [ "$findings" != 0 ]; then status=1; grep -m5 -E "FUZZ FINDING|ERROR: |SUMMARY" "$log" >&2 || true; fi
done
exit "$status"
