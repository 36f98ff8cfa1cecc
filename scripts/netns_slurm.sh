#!/usr/bin/env bash
# A SLURM cluster of N nodes on one machine, on the network-namespace nodes of
# scripts/netns_cluster.sh: slurmctld on node 1, one slurmd per node (each in its own namespace,
# so all use the same port), munged in the root namespace with its socket shared as a file.
# Everything — munge key and socket, slurm.conf, state, spool, logs, pid files — lives in one
# private directory; nothing in /etc is touched, no system service is used. Root only; needs
# slurm-wlm and munge.
#
#   bash scripts/netns_cluster.sh up 3                # the nodes first
#   bash scripts/netns_slurm.sh up DIR                # munged, slurmctld, slurmd x N; wait for idle
#   source DIR/env                                    # SLURM_CONF for sbatch/squeue/scontrol
#   sbatch -N 3 slurm/multi_node.sbatch DATA GRID OUT # from the root namespace (via 10.77.0.11)
#   bash scripts/netns_slurm.sh pids DIR              # the daemons' pids (one per line)
#   bash scripts/netns_slurm.sh down DIR              # cancel jobs, stop the daemons by their pids
#
# Node names are the nodes' hostnames (P-node1..N, P from THREADX_NETNS_PREFIX, default threadx);
# slurmctld at P-node1(10.77.0.11):6817, slurmd at 10.77.0.1K:6818. TmpFS is the node-local dir of
# netns_cluster.sh (one path, private per node: PMIx dirs of different nodes never collide).
# `down` ends only the processes this script started (by the pids in DIR/run/*.pid) and the jobs
# of this cluster; `netns_cluster.sh down` afterwards removes the nodes.
set -euo pipefail

usage() { sed -n '2,20p' "$0"; }
tag=netns_slurm
die() { echo "$tag: $*" >&2; exit 1; }
# shellcheck source=scripts/lib/slurm_common.sh
source "$(dirname "$0")/lib/slurm_common.sh"

[ $# -ge 2 ] || { usage >&2; exit 2; }
cmd="$1"
dir="$2"
prefix="${THREADX_NETNS_PREFIX:-threadx}"
state="/run/$prefix-netns"
netns=(bash "$(cd "$(dirname "$0")" && pwd)/netns_cluster.sh")

stop_cluster() {
  cancel_cluster_jobs 30
  # slurmd first (their steps end with them), then slurmctld, then munged.
  local f
  for f in "$dir"/run/slurmd.*.pid "$dir/run/slurmctld.pid" "$dir/run/munged.pid"; do
    if [ -e "$f" ]; then stop_pid_file "$f"; fi
  done
}

start_cluster() {
  need_slurm_binaries
  local k n
  [ -f "$state/hosts" ] || die "no nodes: bash scripts/netns_cluster.sh up N first"
  n=0
  for k in 1 2 3 4 5 6 7 8 9; do [ -e "/run/netns/$prefix-node$k" ] && n=$k; done
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if pid_in "$dir/run/slurmctld.pid" > /dev/null; then die "$dir: slurmctld already running"; fi
  mkdir -p "$dir/log" "$dir/state" "$dir/spool"
  start_munge
  {
    cat << EOF
# $n-node cluster on network namespaces, written by scripts/netns_slurm.sh; state in $dir.
ClusterName=threadx-netns
SlurmctldHost=$prefix-node1(10.77.0.11)
SlurmctldPort=6817
SlurmdPort=6818
$(slurm_conf_common)
KillOnBadExit=1
SlurmdTimeout=30
SlurmdSpoolDir=$dir/spool/%n
SlurmdPidFile=$dir/run/slurmd.%n.pid
SlurmdLogFile=$dir/log/slurmd.%n.log
TmpFS=$state/local
EOF
    for k in $(seq "$n"); do
      echo "NodeName=$prefix-node$k NodeAddr=10.77.0.1$k CPUs=2 RealMemory=1000 State=UNKNOWN"
    done
    echo "PartitionName=debug Nodes=$prefix-node[1-$n] Default=YES MaxTime=INFINITE State=UP"
  } > "$dir/slurm.conf"
  printf 'export SLURM_CONF=%q\n' "$dir/slurm.conf" > "$dir/env"
  export SLURM_CONF="$dir/slurm.conf"
  "${netns[@]}" exec 1 slurmctld -f "$SLURM_CONF" -i
  for k in $(seq "$n"); do
    mkdir -p "$dir/spool/$prefix-node$k"
    "${netns[@]}" exec "$k" slurmd -f "$SLURM_CONF" -N "$prefix-node$k"
  done
  local idle=""
  for _ in $(seq 150); do
    idle="$(sinfo -h -N -o '%N %T' 2> /dev/null | awk '$2 == "idle"' | wc -l)"
    [ "$idle" = "$n" ] && break
    sleep 0.2
  done
  if [ "$idle" != "$n" ]; then
    sinfo -N >&2 || true
    tail -5 "$dir"/log/*.log >&2 || true
    stop_cluster
    die "$idle of $n nodes idle after 30 s; logs in $dir/log"
  fi
  echo "netns_slurm: $n nodes idle ($(sinfo -h -N -o %N | paste -sd' ')); pids $(cat "$dir"/run/*.pid | tr '\n' ' ')"
  echo "netns_slurm: source $dir/env"
}

cluster_command "$cmd"
