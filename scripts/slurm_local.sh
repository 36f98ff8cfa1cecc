#!/usr/bin/env bash
# A one-node SLURM cluster on localhost, for the tests (tests/slurm/) and for trying the job
# templates (slurm/) on a workstation. Everything — munge key and socket, slurm.conf, state,
# spool, logs, pid files — lives in one private directory; nothing in /etc is touched and no
# system service is used. Needs root (SlurmUser=root) and the Debian packages slurm-wlm and munge.
#
#   bash scripts/slurm_local.sh up DIR [--cpus N]  # start munged, slurmctld, slurmd; wait for idle
#   source DIR/env                                 # SLURM_CONF for sbatch/squeue/scontrol/srun
#   sbatch slurm/one_node.sbatch ...               # submit as on a real cluster
#   bash scripts/slurm_local.sh down DIR           # cancel jobs, stop the daemons by their pids
#   bash scripts/slurm_local.sh pids DIR           # the daemons' pids (one per line)
#
# The daemons listen on 127.0.0.1 only (CommunicationParameters=NoInAddrAny), on two free ports
# picked at start-up, so several private clusters can run side by side. `down` ends only the
# processes this script started (by the pids in DIR/run/*.pid) and the jobs of this cluster.
set -euo pipefail

usage() { sed -n '2,15p' "$0"; }
tag=slurm_local
die() { echo "$tag: $*" >&2; exit 1; }
# shellcheck source=scripts/lib/slurm_common.sh
source "$(dirname "$0")/lib/slurm_common.sh"

[ $# -ge 2 ] || { usage >&2; exit 2; }
cmd="$1"
dir="$2"
shift 2
cpus=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cpus) cpus="$2"; shift 2 ;;
    *) die "unknown option '$1'" ;;
  esac
done

daemons=(slurmd slurmctld munged)  # stop order
pid_of() { pid_in "$dir/run/$1.pid"; }  # pid_of NAME -> its pid if that process is alive

ports_in_use() {  # every local TCP port in use (any state), from /proc: no iproute2 needed
  local f line port
  for f in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$f" ] || continue
    while read -r _ line _; do
      port="${line##*:}"
      [[ "$port" =~ ^[0-9A-F]{4}$ ]] && echo $((16#$port))
    done < "$f"
  done
}

free_port() {  # free_port -> a TCP port with nothing on it nor on the next one
  local p used
  used=" $(ports_in_use | sort -u | tr '\n' ' ') "
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 20000))
    if [[ "$used" != *" $p "* ]] && [[ "$used" != *" $((p + 1)) "* ]]; then
      echo "$p"
      return 0
    fi
  done
  die "no free port found"
}

stop_cluster() {
  # Jobs first: a job's slurmstepd outlives slurmd, so cancel and wait while slurmd still runs.
  cancel_cluster_jobs 60
  # Every running step has a socket in slurmd's spool dir until its slurmstepd exits.
  for _ in $(seq 150); do
    compgen -G "$dir/spool/slurmd/localhost_*" > /dev/null || break
    sleep 0.2
  done
  if compgen -G "$dir/spool/slurmd/localhost_*" > /dev/null; then
    echo "$tag: warning: job steps still running: $(ls "$dir/spool/slurmd")" >&2
  fi
  local name
  for name in "${daemons[@]}"; do stop_pid_file "$dir/run/$name.pid"; done
}

start_cluster() {
  need_slurm_binaries
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  local name
  for name in "${daemons[@]}"; do
    if pid_of "$name" > /dev/null; then die "$dir: $name already running (down it first)"; fi
  done
  mkdir -p "$dir/log" "$dir/state" "$dir/spool/slurmd" "$dir/tmp"
  chmod 1777 "$dir/tmp"
  start_munge

  # Node shape from slurmd itself, so slurmd never finds the node "smaller than configured".
  local shape mem ctl_port node_port
  shape="$(slurmd -C | head -1 | sed -e 's/^NodeName=[^ ]* //' -e 's/ RealMemory=[0-9]*//')"
  mem="$(slurmd -C | head -1 | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')"
  mem=$((mem * 9 / 10))
  if [ -n "$cpus" ]; then shape="CPUs=$cpus"; fi
  ctl_port="$(free_port)"
  node_port=$((ctl_port + 1))
  cat > "$dir/slurm.conf" << EOF
# Private one-node cluster written by scripts/slurm_local.sh; state in $dir.
ClusterName=threadx-local
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctl_port
SlurmdPort=$node_port
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
$(slurm_conf_common)
SlurmdSpoolDir=$dir/spool/slurmd
SlurmdPidFile=$dir/run/slurmd.pid
SlurmdLogFile=$dir/log/slurmd.log
TmpFS=$dir/tmp
NodeName=localhost NodeAddr=127.0.0.1 $shape RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  printf 'export SLURM_CONF=%q\n' "$dir/slurm.conf" > "$dir/env"
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -f "$SLURM_CONF" -i
  slurmd -f "$SLURM_CONF" -N localhost
  local state=""
  for _ in $(seq 150); do
    state="$(sinfo -h -N -o %T 2> /dev/null || true)"
    [ "$state" = idle ] && break
    sleep 0.2
  done
  if [ "$state" != idle ]; then
    tail -5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
    stop_cluster
    die "node not idle after 30 s (state '$state'); logs in $dir/log"
  fi
  echo "slurm_local: up in $dir (ports $ctl_port/$node_port; pids $(cat "$dir"/run/*.pid | tr '\n' ' '))"
  echo "slurm_local: source $dir/env   # then sbatch/squeue/srun talk to this cluster"
}

cluster_command "$cmd"
