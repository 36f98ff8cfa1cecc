# shellcheck shell=bash disable=SC2154  # $dir and $tag come from the sourcing script
# Shared by scripts/slurm_local.sh (one node on localhost) and scripts/netns_slurm.sh (N nodes on
# network namespaces): munged in a private directory, the slurm.conf lines both clusters have in
# common, stopping jobs and daemons by the pids this project wrote, and the up/down/pids commands.
# Sourced, never run; the caller defines die(), usage(), start_cluster() and stop_cluster() and
# $tag (its name, for messages) and sets $dir (the cluster's private directory).

pid_in() {  # pid_in FILE -> the pid in FILE if that process is alive
  local p
  [ -s "$1" ] || return 1
  p="$(tr -dc 0-9 < "$1")"
  [ -n "$p" ] && kill -0 "$p" 2> /dev/null && echo "$p"
}

wait_gone() {  # wait_gone PID SECONDS -> 0 once PID has exited
  local n=$(($2 * 10))
  while kill -0 "$1" 2> /dev/null && [ "$n" -gt 0 ]; do
    sleep 0.1
    n=$((n - 1))
  done
  ! kill -0 "$1" 2> /dev/null
}

need_slurm_binaries() {  # need_slurm_binaries: root, the daemons and clients, the munge user
  [ "$(id -u)" = 0 ] || die "needs root (SlurmUser=root, munged runs as user munge)"
  export PATH="$PATH:/usr/sbin"
  local b
  for b in munged mungekey slurmctld slurmd sbatch sinfo; do
    command -v "$b" > /dev/null || die "'$b' not found: apt-get install slurm-wlm munge"
  done
  id munge > /dev/null 2>&1 || die "no 'munge' user: apt-get install munge"
}

cancel_cluster_jobs() {  # cancel_cluster_jobs SECONDS: scancel this cluster's jobs, wait for them
  [ -f "$dir/slurm.conf" ] && pid_in "$dir/run/slurmctld.pid" > /dev/null || return 0
  export SLURM_CONF="$dir/slurm.conf"
  local jobs n=$(($1 * 5))
  jobs="$(squeue -h -o %A 2> /dev/null || true)"
  [ -n "$jobs" ] || return 0
  # shellcheck disable=SC2086
  scancel $jobs 2> /dev/null || true
  while [ "$n" -gt 0 ] && [ -n "$(squeue -h -o %A 2> /dev/null || true)" ]; do
    sleep 0.2
    n=$((n - 1))
  done
}

stop_pid_file() {  # stop_pid_file FILE: SIGTERM the process in FILE, SIGKILL after 15 s
  local pid
  pid="$(pid_in "$1")" || return 0
  kill -TERM "$pid" 2> /dev/null || true
  kill -CONT "$pid" 2> /dev/null || true  # a stopped daemon (a "hung node") acts on it then
  if ! wait_gone "$pid" 15; then
    echo "$tag: $(basename "$1" .pid) ($pid) ignored SIGTERM; SIGKILL" >&2
    kill -KILL "$pid" 2> /dev/null || true
    wait_gone "$pid" 5 || die "$(basename "$1" .pid) ($pid) did not exit"
  fi
}

start_munge() {  # start_munge: key, socket, log and pid in $dir/munge; pid copied to $dir/run
  # munged runs as 'munge' and must reach its socket and key: the tree is world-traversable.
  chmod 0755 "$dir"
  mkdir -p "$dir/munge" "$dir/run"
  chown munge:munge "$dir/munge"
  chmod 0755 "$dir/munge"  # munged wants its socket dir traversable; the key itself is 0600
  runuser -u munge -- test -x "$dir/munge" \
    || die "$dir: user munge cannot reach it (a parent directory is private: chmod o+x it)"
  [ -s "$dir/munge/munge.key" ] \
    || runuser -u munge -- mungekey --create --keyfile="$dir/munge/munge.key"
  runuser -u munge -- munged --socket="$dir/munge/munge.socket" \
    --key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
    --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"
  for _ in $(seq 50); do
    [ -S "$dir/munge/munge.socket" ] && [ -s "$dir/munge/munged.pid" ] && break
    sleep 0.1
  done
  [ -s "$dir/munge/munged.pid" ] || die "munged did not start; see $dir/munge/munged.log"
  cp "$dir/munge/munged.pid" "$dir/run/munged.pid"
}

slurm_conf_common() {  # slurm_conf_common: the slurm.conf lines every private cluster here shares
  cat << CONF
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
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmctldLogFile=$dir/log/slurmctld.log
KillWait=30
SlurmctldDebug=info
SlurmdDebug=info
CONF
}

cluster_command() {  # cluster_command CMD: up | down | pids, with the caller's start_cluster,
  # stop_cluster and usage
  case "$1" in
    up) start_cluster ;;
    down)
      [ -d "$dir" ] || die "$dir: no such directory"
      dir="$(cd "$dir" && pwd)"
      stop_cluster
      echo "$tag: down ($dir)"
      ;;
    pids) cat "$dir"/run/*.pid 2> /dev/null | tr -dc '0-9\n' ;;
    *) usage >&2; exit 2 ;;
  esac
}
