# shellcheck shell=bash
# Shared by the tests in tests/cluster/: three "nodes" (network namespaces on a bridge in
# 10.77.0.0/24, scripts/netns_cluster.sh) and mpirun across them over TCP, with everything torn
# down when the test exits, passes or fails: processes inside the test's own namespaces (by
# namespace), the mpirun jobs it started (by pid), then namespaces, veths and bridge (by name).
#   source lib.sh BIN SRC [MPIRUN]     then cluster_up, mpi, start_job, node_pids, check_same...
# Skips (exit 77) unless root with ip, nsenter and unshare. The nodes use their own name prefix
# (thxtest-node1..3, bridge thxtest-br0), and a lock serialises the tests that use 10.77.0.0/24.
# THREADX_TEST_KEEP=1 keeps the work directory (logs, files) for a look afterwards.
set -euo pipefail
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
src="$(cd "$2" && pwd)"
mpirun="${3:-mpirun}"
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIPPED: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
for b in ip nsenter unshare; do
  command -v "$b" > /dev/null || skip "'$b' not installed (iproute2, util-linux)"
done
for b in "$mpirun" h5diff flock timeout; do
  command -v "$b" > /dev/null || fail "'$b' not found"
done

export THREADX_NETNS_PREFIX=thxtest
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
netns=(bash "$src/scripts/netns_cluster.sh")
state="/run/$THREADX_NETNS_PREFIX-netns"
nodes=3
work="$(mktemp -d /tmp/threadx-cluster-test.XXXXXX)"
chmod 0755 "$work"
cd "$work"
jobs_started=""   # pids of the `timeout ... mpirun` wrappers this test started
cluster_owned=0   # 1 once this test holds the lock and may remove the thxtest-* cluster
t_start="$(date +%s.%N)"

elapsed() { awk -v a="$(date +%s.%N)" -v b="${1:-$t_start}" 'BEGIN { printf "%.1f", a - b }'; }
# "[+12.3s 12:00:01] message": the timeline of a test, relative to its start.
note() { printf '[+%6.1fs %s] %s\n' "$(elapsed)" "$(date +%T)" "$*"; }

# Every process in node K's network namespace (only this test's: the namespace is its own).
node_pids() { ip netns pids "$THREADX_NETNS_PREFIX-node$1" 2> /dev/null | paste -sd' '; }

kill_tree() {  # kill_tree PID: PID's descendants first, then PID (SIGCONT + SIGKILL)
  local c
  for c in $(ps -o pid= --ppid "$1" 2> /dev/null); do kill_tree "$c"; done
  kill -CONT "$1" 2> /dev/null || true
  kill -KILL "$1" 2> /dev/null || true
}

teardown() {
  local rc=$? p k left=""
  trap - EXIT INT TERM
  # A test's own services first (e.g. SLURM daemons, by their pids), if it defines pre_teardown.
  if declare -F pre_teardown > /dev/null; then pre_teardown || rc=1; fi
  if [ "$cluster_owned" = 1 ]; then
    for k in $(seq "$nodes"); do
      for p in $(node_pids "$k"); do kill -CONT "$p" 2> /dev/null || true; kill -KILL "$p" 2> /dev/null || true; done
    done
  fi
  for p in $jobs_started; do
    if kill -0 "$p" 2> /dev/null; then kill_tree "$p"; fi
    wait "$p" 2> /dev/null || true
  done
  if [ "$cluster_owned" = 1 ]; then
    "${netns[@]}" down || rc=1
    ip link show "$THREADX_NETNS_PREFIX-br0" > /dev/null 2>&1 && left="$left bridge"
    for k in $(seq "$nodes"); do
      [ -e "/run/netns/$THREADX_NETNS_PREFIX-node$k" ] && left="$left node$k"
      ip link show "$THREADX_NETNS_PREFIX-v$k" > /dev/null 2>&1 && left="$left veth$k"
    done
    if [ -n "$left" ]; then
      echo "FAIL: teardown left:$left" >&2
      rc=1
    else
      note "teardown: namespaces, veths and bridge removed by name"
    fi
  fi
  for p in $jobs_started; do
    if kill -0 "$p" 2> /dev/null; then echo "FAIL: job $p still running" >&2; rc=1; fi
  done
  if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
    for f in "$work"/*.log; do
      [ -f "$f" ] || continue
      echo "---- $(basename "$f") (tail) ----" >&2
      sed 's/\x1b\[[0-9;]*m//g' "$f" | grep -v '^ *$' | tail -n 25 >&2
    done
  fi
  cd /
  if [ -n "${THREADX_TEST_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
  exit "$rc"
}
trap teardown EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

cluster_up() {
  # One user of 10.77.0.0/24 at a time. Holding the lock, a thxtest-* cluster left over from a
  # killed earlier run is this test's own: remove it by name first.
  exec 9> /run/lock/threadx-netns-test.lock
  flock -w 900 9 || fail "another cluster test holds /run/lock/threadx-netns-test.lock"
  cluster_owned=1
  "${netns[@]}" down
  local t0
  t0="$(date +%s.%N)"
  "${netns[@]}" up "$nodes" > up.log 2>&1 || { cat up.log >&2; fail "netns_cluster.sh up"; }
  note "$nodes nodes up in $(elapsed "$t0") s ($(grep -o 'up in [0-9.]* s' up.log))"
}

hostfile() {  # hostfile K... -> a hostfile with nodes K
  local f
  f="$work/hosts.$(echo "$@" | tr ' ' '_')"
  "${netns[@]}" hostfile "$@" > "$f"
  echo "$f"
}

# The mpirun options for the nodes; keepalive so that a node that stops answering is noticed.
# shellcheck disable=SC2054  # "self,vader,tcp" is one argument
mpi_opts=(--bind-to none --mca plm_rsh_agent "$state/agent" --mca btl self,vader,tcp
  --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24
  --mca oob_tcp_keepalive_time 3 --mca oob_tcp_keepalive_intvl 1 --mca oob_tcp_keepalive_probes 3)

mpi() {  # mpi SECONDS HOSTFILE NP ARGS...: mpirun in the foreground, bounded
  local secs="$1" hf="$2" np="$3"
  shift 3
  timeout -k 5 "$secs" "$mpirun" "${mpi_opts[@]}" --hostfile "$hf" -np "$np" "$@"
}

job=""  # the `timeout` wrapper around the running background mpirun
start_job() {  # start_job SECONDS LOG HOSTFILE NP ARGS...: in the background; waits for progress
  local secs="$1" log="$2" hf="$3" np="$4"
  shift 4
  timeout -k 5 "$secs" "$mpirun" "${mpi_opts[@]}" --hostfile "$hf" -np "$np" "$@" > "$log" 2>&1 &
  job=$!
  jobs_started="$jobs_started $job"
  for _ in $(seq 1 1200); do
    grep -q "progress" "$log" && return 0
    kill -0 "$job" 2> /dev/null || fail "job ended before any progress"
    sleep 0.1
  done
  fail "no progress after 120 s"
}

attr() { "$bin" info "$1" | sed -n "s/^$2: //p"; }

# The real 49,632-bar file every cluster test sweeps.
long="$src/data/BTCUSDT_15m_2023-10_2025-02.csv"
# reference_run GRID: tests/grids/GRID copied to grid.toml and swept by one process into ref.h5,
# the file every cluster run is compared with; sets $total (its combinations).
reference_run() {
  cp "$src/tests/grids/$1" grid.toml
  "$bin" -q sweep --data "$long" --grid grid.toml --out ref.h5 --threads 2 || fail "single-process run"
  total="$(attr ref.h5 combinations)"
  note "single-process reference: $total combinations in $(attr ref.h5 wall_seconds) s"
}

# check_same FILE REFERENCE: complete, no .partial, /results and /done bit-identical.
check_same() {
  if [ ! -f "$1" ] || [ -e "$1.partial" ]; then fail "$1: want the complete file and no .partial"; fi
  [ "$(attr "$1" complete)" = 1 ] || fail "$1 is not complete"
  h5diff "$2" "$1" /results /results || fail "$1: /results differs from the single-process run"
  h5diff "$2" "$1" /done /done || fail "$1: /done differs from the single-process run"
}
