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
die() { echo "slurm_local: $*" >&2; exit 1; }

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

pid_of() {  # pid_of NAME -> the pid in DIR/run/NAME.pid if that process is alive
  local f="$dir/run/$1.pid" p
  [ -s "$f" ] || return 1
  p="$(tr -dc 0-9 < "$f")"
  [ -n "$p" ] && kill -0 "$p" 2> /dev/null && echo "$p"
}

wait_gone() {  # wait_gone PID SECONDS -> 0 once PID has exited
  local pid="$1" n=$(($2 * 10))
  while kill -0 "$pid" 2> /dev/null && [ "$n" -gt 0 ]; do
    sleep 0.1
    n=$((n - 1))
  done
  ! kill -0 "$pid" 2> /dev/null
}

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
  if [ -f "$dir/env" ] && pid_of slurmctld > /dev/null; then
    export SLURM_CONF="$dir/slurm.conf"
    local jobs
    jobs="$(squeue -h -o %A 2> /dev/null || true)"
    if [ -n "$jobs" ]; then
      # shellcheck disable=SC2086
      scancel $jobs 2> /dev/null || true
      for _ in $(seq 300); do
        [ -z "$(squeue -h -o %A 2> /dev/null || true)" ] && break
        sleep 0.2
      done
    fi
  fi
  # Every running step has a socket in slurmd's spool dir until its slurmstepd exits.
  for _ in $(seq 150); do
    compgen -G "$dir/spool/slurmd/localhost_*" > /dev/null || break
    sleep 0.2
  done
  if compgen -G "$dir/spool/slurmd/localhost_*" > /dev/null; then
    echo "slurm_local: warning: job steps still running: $(ls "$dir/spool/slurmd")" >&2
  fi
  local name pid
  for name in "${daemons[@]}"; do
    pid="$(pid_of "$name")" || continue
    kill -TERM "$pid" 2> /dev/null || true
    if ! wait_gone "$pid" 15; then
      echo "slurm_local: $name ($pid) ignored SIGTERM; SIGKILL" >&2
      kill -KILL "$pid" 2> /dev/null || true
      wait_gone "$pid" 5 || die "$name ($pid) did not exit"
    fi
  done
}

start_cluster() {
  [ "$(id -u)" = 0 ] || die "needs root (SlurmUser=root, munged runs as user munge)"
  local b
  for b in munged mungekey slurmctld slurmd sbatch; do
    command -v "$b" > /dev/null || [ -x "/usr/sbin/$b" ] \
      || die "'$b' not found: apt-get install slurm-wlm munge"
  done
  export PATH="$PATH:/usr/sbin"
  id munge > /dev/null 2>&1 || die "no 'munge' user: apt-get install munge"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  for name in "${daemons[@]}"; do
    if pid_of "$name" > /dev/null; then die "$dir: $name already running (down it first)"; fi
  done
  # munged runs as 'munge' and must reach its socket and key: the tree is world-traversable.
  chmod 0755 "$dir"
  mkdir -p "$dir/munge" "$dir/run" "$dir/log" "$dir/state" "$dir/spool/slurmd" "$dir/tmp"
  chown munge:munge "$dir/munge"
  chmod 0755 "$dir/munge"  # munged wants its socket dir traversable; the key itself is 0600
  runuser -u munge -- test -x "$dir/munge" \
    || die "$dir: user munge cannot reach it (a parent directory is private: chmod o+x it)"
  chmod 1777 "$dir/tmp"
  [ -s "$dir/munge/munge.key" ] \
    || runuser -u munge -- mungekey --create --keyfile="$dir/munge/munge.key"
  runuser -u munge -- munged --socket="$dir/munge/munge.socket" \
    --key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
    --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"
  for _ in $(seq 50); do
    [ -S "$dir/munge/munge.socket" ] && [ -s "$dir/munge/munged.pid" ] && break
    sleep 0.1
  done
  cp "$dir/munge/munged.pid" "$dir/run/munged.pid"

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
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
JobRequeue=1
MailProg=/bin/true
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/slurmd
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
TmpFS=$dir/tmp
KillWait=30
SlurmctldDebug=info
SlurmdDebug=info
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

case "$cmd" in
  up) start_cluster ;;
  down)
    [ -d "$dir" ] || die "$dir: no such directory"
    dir="$(cd "$dir" && pwd)"
    stop_cluster
    echo "slurm_local: down ($dir)"
    ;;
  pids) cat "$dir"/run/*.pid 2> /dev/null | tr -dc '0-9\n' ;;
  *) usage >&2; exit 2 ;;
esac
