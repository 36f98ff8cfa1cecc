#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a finished sweep:
#   installs the Debian packages ThreadX builds with, builds it (build/), and sweeps the
#   2,903,040-combination production grid over the bundled 960 bars of BTC/USDT.
#
#   bash scripts/setup.sh              # everything
#   bash scripts/setup.sh --deps-only  # only the packages (what CI does before the tests)
#   bash scripts/setup.sh --no-sweep   # packages and build
set -euo pipefail
cd "$(dirname "$0")/.."

deps_only=0
sweep=1
for arg in "$@"; do
  case "$arg" in
    --deps-only) deps_only=1 ;;
    --no-sweep) sweep=0 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

# Build tools and libraries, all from Debian 12's archive.
PACKAGES=(
  build-essential cmake pkg-config git
  libopenmpi-dev openmpi-bin            # MPI (mpi/ adapter)
  libhdf5-openmpi-dev hdf5-tools        # HDF5 results files (the MPI build), h5dump/h5diff
  libhdf5-dev                           # the serial HDF5 build too (CI builds against it)
  libdeflate-dev                        # deflate of the results' chunks (HDF5's gzip filter format)
  libcli11-dev libspdlog-dev libfmt-dev libtoml11-dev
  libgtest-dev
  slurm-wlm munge                       # local SLURM cluster for the job-template tests
  gnuplot-nox                           # scaling plots (scripts/scaling.sh)
  iproute2 util-linux                   # network-namespace "nodes" for the cluster tests
  strace                                # kills at chosen writes (tests/cli/kill_at_write.sh)
  chromium                              # headless browser: the report test renders threadx report
  python3-numpy python3-h5py            # tests/robust/crosscheck.py recomputes threadx robust
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=900 update -qq
  "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
[ "$deps_only" = 1 ] && exit 0

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
[ "$sweep" = 1 ] || exit 0

mkdir -p out
./build/threadx sweep --force \
  --data data/BTCUSDT_15m_2024-12-01_2024-12-10.csv \
  --grid data/grids/reference_2p9m.toml \
  --out out/sweep_2p9m.h5
./build/threadx top out/sweep_2p9m.h5 --by sharpe -n 10 --min-trades 5
./build/threadx -q report out/sweep_2p9m.h5 --out out/sweep_2p9m.html --min-trades 5 > /dev/null
echo "setup: report of the sweep: $(pwd)/out/sweep_2p9m.html (open it in a browser)"
