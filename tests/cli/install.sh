#!/usr/bin/env bash
# `cmake --install` into an empty prefix gives a working installation: bin/threadx on PATH sweeps
# the installed sample data and grid to the build's rows, the installed sbatch template finds its
# job logic and threadx from the install layout alone (run from another directory, no THREADX),
# and the contracts are there to read.
set -euo pipefail
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; src="$(cd "$2" && pwd)"
build="$(dirname "$bin")"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
prefix="$work/prefix"

cmake --install "$build" --prefix "$prefix" > "$work/install.log" \
  || { cat "$work/install.log"; fail "cmake --install"; }
share="$prefix/share/threadx"
for f in bin/threadx share/threadx/slurm/one_node.sbatch share/threadx/slurm/multi_node.sbatch \
  share/threadx/slurm/long_sweep.sbatch share/threadx/slurm/array.sbatch \
  share/threadx/slurm/gpu.sbatch share/threadx/slurm/threadx_job.sh share/threadx/slurm/README.md \
  share/threadx/grids/reference_24.toml share/threadx/grids/reference_2p9m.toml \
  share/threadx/data/BTCUSDT_15m_2024-12-01_2024-12-10.csv share/threadx/docs/STRATEGY.md \
  share/threadx/docs/SWEEP.md; do
  [ -f "$prefix/$f" ] || fail "not installed: $f ($(find "$prefix" -type f | sed "s|$prefix/||" | tr '\n' ' '))"
done
[ -x "$prefix/bin/threadx" ] || fail "bin/threadx is not executable"
if grep -rIl '\.\./shared' "$prefix/share" > /dev/null; then fail "an installed file points outside the install"; fi

export PATH="$prefix/bin:$PATH"
[ "$(command -v threadx)" = "$prefix/bin/threadx" ] || fail "threadx on PATH is $(command -v threadx)"
data="$share/data/BTCUSDT_15m_2024-12-01_2024-12-10.csv"
cd "$work"
threadx sweep --data "$data" --grid "$share/grids/reference_24.toml" --out installed.h5 \
  2> installed.log || { cat installed.log; fail "installed threadx sweep"; }
"$bin" sweep --data "$src/data/BTCUSDT_15m_2024-12-01_2024-12-10.csv" \
  --grid "$src/data/grids/reference_24.toml" --out built.h5 2> built.log \
  || { cat built.log; fail "build tree sweep"; }
h5diff installed.h5 built.h5 /results /results || fail "installed and built binaries differ"

# The installed template, run as a plain script from elsewhere: threadx from PATH, the job logic
# from share/threadx/slurm/ next to it.
mkdir job && cd job
env -u THREADX -u THREADX_JOB_LIB THREADX_LAUNCHER=none THREADX_THREADS=1 \
  bash "$share/slurm/one_node.sbatch" "$data" "$share/grids/reference_24.toml" job.h5 > job.log 2>&1 \
  || { cat job.log; fail "installed one_node.sbatch"; }
grep -q "complete: job.h5" job.log || fail "no complete line: $(cat job.log)"
h5diff job.h5 ../built.h5 /results /results || fail "the installed template's rows differ"
# The installed binary carries Vega (threadx report needs no file beside it); the template wrote
# the page of its sweep next to it; Vega's license is installed.
grep -q "report: job.html" job.log || fail "no report line: $(cat job.log)"
grep -q '<meta name="threadx-charts"' job.html && grep -q 'vega' job.html || fail "job.html is not a report"
[ -f "$share/third_party/vega/LICENSE" ] || fail "Vega's license not installed"
echo "ok: installed to $prefix and swept from there"
