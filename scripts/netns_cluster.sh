#!/usr/bin/env bash
# Several "nodes" on one machine: network namespaces joined by a bridge, and a launcher agent so
# that mpirun starts ranks on them over TCP without sshd. Root only; needs iproute2 (ip), nsenter
# and unshare (util-linux). Every address is inside 10.77.0.0/24; nothing outside is touched.
#
#   bash scripts/netns_cluster.sh up [N]           # N nodes (default 3, at most 9)
#   bash scripts/netns_cluster.sh hostfile [K...]  # hostfile lines for nodes K (default: all)
#   bash scripts/netns_cluster.sh exec K CMD...    # run CMD (argv) on node K
#   bash scripts/netns_cluster.sh agent HOST CMD...# what mpirun calls (plm_rsh_agent), like ssh
#   bash scripts/netns_cluster.sh pids K           # pids of every process on node K
#   bash scripts/netns_cluster.sh status           # the nodes, links and addresses
#   bash scripts/netns_cluster.sh down             # end processes on the nodes, remove it all
#
# Layout (prefix P, default "threadx", from THREADX_NETNS_PREFIX, [a-z0-9]{1,8}):
#   bridge P-br0 with 10.77.0.1/24 in the root namespace; namespaces P-node1..N, each with lo up
#   and a veth eth0 at 10.77.0.1K/24 (root side P-vK on the bridge); no default route anywhere in
#   the nodes, no forwarding/NAT set up. State in /run/P-netns: hosts file, hostfile, the agent
#   script, per-node scratch dirs.
# A command on node K runs in: the node's network namespace (nsenter --net=/run/netns/P-nodeK),
# new UTS and mount namespaces (unshare --uts --mount --propagation private; checked to really be
# new before anything is changed) with hostname P-nodeK, a private /etc/hosts (the nodes' names)
# and /dev/shm bind-mounted from the node's scratch, a node-local dir at one path on every node
# (<state>/local: SLURM's TmpFS), and TMPDIR=<state>/nodeK/tmp (OpenMPI's session dirs). The rest
# of the filesystem is shared, as on a cluster with a shared filesystem.
#
# mpirun from the root namespace (it reaches the nodes through the bridge at 10.77.0.1):
#   mpirun --allow-run-as-root --hostfile /run/threadx-netns/hostfile \
#     --mca plm_rsh_agent /run/threadx-netns/agent --mca btl self,vader,tcp \
#     --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 \
#     -np 3 build/threadx sweep ...
# `down` deletes namespaces, veths and the bridge by name; processes still inside the nodes'
# namespaces (only ours: nothing else runs there) are SIGCONTed and SIGKILLed first.
set -euo pipefail

self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
prefix="${THREADX_NETNS_PREFIX:-threadx}"
[[ "$prefix" =~ ^[a-z0-9]{1,8}$ ]] || { echo "netns_cluster: bad THREADX_NETNS_PREFIX '$prefix'" >&2; exit 2; }
state="/run/$prefix-netns"
bridge="$prefix-br0"
subnet="10.77.0"

usage() { sed -n '2,13p' "$self"; }
die() { echo "netns_cluster: $*" >&2; exit 1; }
ns_name() { echo "$prefix-node$1"; }
node_ip() { echo "$subnet.1$1"; }

# node_index ARG -> K for "K", "nodeK", "P-nodeK" or "10.77.0.1K"
node_index() {
  local a="$1" k=""
  case "$a" in
    [1-9]) k="$a" ;;
    node[1-9]) k="${a#node}" ;;
    "$prefix"-node[1-9]) k="${a#"$prefix"-node}" ;;
    "$subnet".1[1-9]) k="${a#"$subnet".1}" ;;
  esac
  [ -n "$k" ] || die "unknown node '$a' (want K, nodeK, $prefix-nodeK or $subnet.1K)"
  echo "$k"
}

count_nodes() {  # the nodes that exist now, by name
  local k n=0
  for k in 1 2 3 4 5 6 7 8 9; do
    [ -e "/run/netns/$(ns_name "$k")" ] && n=$k
  done
  echo "$n"
}

need_root_tools() {
  [ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
  local b
  for b in ip nsenter unshare; do
    command -v "$b" > /dev/null || die "'$b' not found (apt-get install iproute2 util-linux)"
  done
}

# probe K: node K reaches 10.77.0.1 (TCP port 9: answered by a reset, i.e. "connection refused").
probe() {
  local err
  err="$(ip netns exec "$(ns_name "$1")" timeout 3 bash -c "exec 3<>/dev/tcp/$subnet.1/9" 2>&1)" && return 0
  [[ "$err" == *"refused"* ]]
}

# Every process inside node K's network namespace (ours: nothing else is started there).
node_pids() { ip netns pids "$(ns_name "$1")" 2> /dev/null || true; }

cmd_down() {
  need_root_tools
  local k ns pids
  for k in 1 2 3 4 5 6 7 8 9; do
    ns="$(ns_name "$k")"
    [ -e "/run/netns/$ns" ] || continue
    pids="$(node_pids "$k" | paste -sd' ')"
    if [ -n "$pids" ]; then
      echo "netns_cluster: $ns: ending processes left inside: $pids" >&2
      # shellcheck disable=SC2086
      kill -CONT $pids 2> /dev/null || true
      # shellcheck disable=SC2086
      kill -KILL $pids 2> /dev/null || true
    fi
  done
  for k in 1 2 3 4 5 6 7 8 9; do
    ns="$(ns_name "$k")"
    # Deleting the root side of a veth deletes its peer too.
    ip link show "$prefix-v$k" > /dev/null 2>&1 && ip link del "$prefix-v$k"
    [ -e "/run/netns/$ns" ] && ip netns del "$ns"
  done
  ip link show "$bridge" > /dev/null 2>&1 && ip link del "$bridge"
  rm -rf "$state"
  return 0
}

up_failed() {
  local rc=$?
  if [ "$rc" != 0 ]; then
    echo "netns_cluster: up failed; tearing down" >&2
    cmd_down
  fi
  exit "$rc"
}

cmd_up() {
  need_root_tools
  local n="${1:-3}" k ns t0
  [[ "$n" =~ ^[1-9]$ ]] || die "node count must be 1..9, not '$n'"
  t0="$(date +%s.%N)"
  if ip link show "$bridge" > /dev/null 2>&1 || [ "$(count_nodes)" != 0 ] || [ -e "$state" ]; then
    die "$bridge, $(ns_name 1).. or $state already exist: 'down' first"
  fi
  # Any other interface in 10.77.0.0/24 would collide: refuse rather than touch it.
  if ip -o -4 addr show | grep -q " $subnet\."; then
    die "an interface already has an address in $subnet.0/24: $(ip -o -4 addr show | grep " $subnet\." | head -1)"
  fi
  # From here on a failure removes whatever was created (all of it named ours, checked above).
  trap up_failed EXIT
  mkdir -p "$state/local"
  ip link add "$bridge" type bridge
  ip addr add "$subnet.1/24" dev "$bridge"
  ip link set "$bridge" up
  {
    echo "127.0.0.1 localhost"
    for k in $(seq "$n"); do echo "$(node_ip "$k") $(ns_name "$k") node$k"; done
  } > "$state/hosts"
  : > "$state/hostfile"
  for k in $(seq "$n"); do
    ns="$(ns_name "$k")"
    ip netns add "$ns"
    ip link add "$prefix-v$k" type veth peer name eth0 netns "$ns"
    ip link set "$prefix-v$k" master "$bridge" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$(node_ip "$k")/24" dev eth0
    ip -n "$ns" link set eth0 up
    mkdir -p "$state/node$k/tmp" "$state/node$k/shm" "$state/node$k/local"
    chmod 1777 "$state/node$k/tmp" "$state/node$k/shm" "$state/node$k/local"
    echo "$(node_ip "$k") slots=1" >> "$state/hostfile"
  done
  printf '#!/bin/sh\n# mpirun launcher agent (plm_rsh_agent): AGENT HOST CMD... runs CMD on that node.\nexec bash %q agent "$@"\n' \
    "$self" > "$state/agent"
  chmod 0755 "$state/agent"
  # Each node reaches the bridge address (a refused connection proves the path; no ping here).
  for k in $(seq "$n"); do
    probe "$k" || die "node $k cannot reach $subnet.1 from $(node_ip "$k")"
  done
  echo "netns_cluster: $n node(s) up in $(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }') s:" \
    "$(for k in $(seq "$n"); do printf '%s=%s ' "$(ns_name "$k")" "$(node_ip "$k")"; done)"
  echo "netns_cluster: hostfile $state/hostfile, agent $state/agent"
}

# Runs on the node after nsenter + unshare: check the namespaces are new, then set up and exec.
cmd_inside() {
  local k="$1" outer_uts="$2" outer_mnt="$3" mode="$4"
  shift 4
  local uts mnt ns
  uts="$(readlink /proc/self/ns/uts)"
  mnt="$(readlink /proc/self/ns/mnt)"
  # Never change the hostname or mount anything in the machine's own (or the caller's) namespaces.
  if [ "$uts" = "$outer_uts" ] || [ "$uts" = "$(readlink /proc/1/ns/uts)" ]; then
    die "UTS namespace is not new ($uts): not changing the hostname"
  fi
  if [ "$mnt" = "$outer_mnt" ] || [ "$mnt" = "$(readlink /proc/1/ns/mnt)" ]; then
    die "mount namespace is not new ($mnt): not mounting"
  fi
  ns="$(ns_name "$k")"
  hostname "$ns"
  mount --bind "$state/hosts" /etc/hosts
  mount --bind "$state/node$k/shm" /dev/shm
  mount --bind "$state/node$k/local" "$state/local"
  export TMPDIR="$state/node$k/tmp" THREADX_NODE="$ns"
  if [ "$mode" = sh ]; then
    # Like sshd: the command words are joined and run by a shell (that is what mpirun sends).
    exec /bin/sh -c "$*"
  fi
  exec "$@"
}

run_on() {  # run_on K MODE CMD...
  local k="$1" mode="$2"
  shift 2
  local ns
  ns="$(ns_name "$k")"
  [ -e "/run/netns/$ns" ] || die "no node $k ($ns): 'up' first"
  [ -f "$state/hosts" ] || die "$state/hosts missing: 'up' first"
  exec nsenter --net="/run/netns/$ns" unshare --uts --mount --propagation private -- \
    bash "$self" __inside "$k" "$(readlink /proc/self/ns/uts)" "$(readlink /proc/self/ns/mnt)" \
    "$mode" "$@"
}

[ $# -ge 1 ] || { usage >&2; exit 2; }
cmd="$1"
shift
case "$cmd" in
  up) cmd_up "$@" ;;
  down) cmd_down ;;
  hostfile)
    [ -f "$state/hostfile" ] || die "no cluster: 'up' first"
    if [ $# = 0 ]; then cat "$state/hostfile"; fi
    for a in "$@"; do echo "$(node_ip "$(node_index "$a")") slots=1"; done ;;
  exec)
    [ $# -ge 2 ] || die "usage: exec K CMD..."
    k="$(node_index "$1")"; shift
    run_on "$k" argv "$@" ;;
  agent)
    [ $# -ge 2 ] || die "usage: agent HOST CMD..."
    k="$(node_index "$1")"; shift
    run_on "$k" sh "$@" ;;
  __inside) cmd_inside "$@" ;;
  pids) node_pids "$(node_index "${1:?usage: pids K}")" ;;
  status)
    ip -br addr show "$bridge" 2> /dev/null || echo "no bridge $bridge"
    for k in $(seq "$(count_nodes)"); do
      echo "$(ns_name "$k"): $(ip -n "$(ns_name "$k")" -br -4 addr show eth0 2> /dev/null | awk '{print $3}')," \
        "processes: $(node_pids "$k" | paste -sd' ')"
    done ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
