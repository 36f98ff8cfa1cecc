#!/usr/bin/env bash
# slurm/multi_node.sbatch on a 3-node SLURM cluster made of network namespaces
# (scripts/netns_cluster.sh + scripts/netns_slurm.sh: slurmctld on node 1, a slurmd per node,
# `srun --mpi=pmix` across the nodes over TCP):
#   - sbatch -N 3: one rank per node (rank_hosts thxtest-node1..3), file bit-identical to a
#     single-process run;
#   - node 3 lost mid-sweep (every process in its namespace SIGKILLed: slurmd, slurmstepd, rank 2)
#     in a job submitted with --no-requeue: the job ends (timeline printed), the .partial is kept,
#     and the same template submitted with -N 2 finishes it (the template resumes a .partial)
#     bit-identically on nodes 1 and 2.
# Skips (77) unless root with ip/nsenter/unshare and slurm-wlm + munge. Daemons are stopped by
# their pids, then the namespaces are removed by name (tests/cluster/lib.sh).
# usage: slurm_3node.sh THREADX SOURCE_DIR [MPIRUN]
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "$0")/lib.sh"
export PATH="$PATH:/usr/sbin"
for b in munged mungekey slurmctld slurmd sbatch squeue scontrol scancel srun sinfo; do
  command -v "$b" > /dev/null || skip "'$b' not installed (apt-get install slurm-wlm munge)"
done

slurm_dir="$work/slurm"
slurm_pids=""
pre_teardown() {
  local p alive=""
  [ -d "$slurm_dir" ] || return 0
  bash "$src/scripts/netns_slurm.sh" down "$slurm_dir" > /dev/null || true
  for p in $slurm_pids; do
    if kill -0 "$p" 2> /dev/null; then alive="$alive $p"; kill -KILL "$p" 2> /dev/null || true; fi
  done
  [ -z "$alive" ] || { echo "FAIL: SLURM daemons left running:$alive (SIGKILLed)" >&2; return 1; }
  note "teardown: SLURM daemons ${slurm_pids// /,} are gone"
}

job_field() { scontrol show job -o "$1" 2> /dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
wait_job() {  # wait_job JOBID SECONDS: until it has ended; logs state changes
  local deadline=$(($(date +%s) + $2)) state="" last=""
  while :; do
    state="$(job_field "$1" JobState)"
    if [ "$state" != "$last" ]; then note "job $1: $state ($(job_field "$1" Reason))"; last="$state"; fi
    case "$state" in
      COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL) return 0 ;;
    esac
    [ "$(date +%s)" -lt "$deadline" ] || fail "job $1 still $state after $2 s"
    sleep 0.2
  done
}

reference_run cluster_29160.toml

cluster_up
t0="$(date +%s.%N)"
bash "$src/scripts/netns_slurm.sh" up "$slurm_dir" > slurm-up.log 2>&1 \
  || { cat slurm-up.log >&2; fail "netns_slurm.sh up"; }
slurm_pids="$(bash "$src/scripts/netns_slurm.sh" pids "$slurm_dir" | paste -sd' ')"
# shellcheck disable=SC1091
source "$slurm_dir/env"
note "SLURM up in $(elapsed "$t0") s: $(sinfo -h -N -o '%N=%T' | paste -sd' ') (pids $slurm_pids)"
export THREADX="$bin" THREADX_THREADS=1

# ---- three nodes, one rank each ----
t0="$(date +%s.%N)"
jid="$(sbatch --parsable -N 3 --ntasks-per-node=1 --overcommit -o "mn-%j.out" \
  "$src/slurm/multi_node.sbatch" "$long" grid.toml mn.h5)"
wait_job "$jid" 300
note "sbatch -N 3 round trip: $(elapsed "$t0") s"
[ "$(job_field "$jid" JobState)" = COMPLETED ] || fail "job $jid: $(job_field "$jid" JobState)"
check_same mn.h5 ref.h5
hosts="$(attr mn.h5 rank_hosts)"
[ "$hosts" = "thxtest-node1,thxtest-node2,thxtest-node3" ] || fail "rank_hosts '$hosts'"
note "ok: 3 ranks on $hosts; /results and /done equal the single-process run"

# ---- node 3 lost mid-sweep ----
jid="$(sbatch --parsable -N 3 --ntasks-per-node=1 --overcommit --no-requeue -o "loss-%j.out" \
  "$src/slurm/multi_node.sbatch" "$long" grid.toml loss.h5 --isa scalar --unit-size 24 \
  --progress-interval 0.5 --flush-interval 0.2)"
deadline=$(($(date +%s) + 120))
while :; do
  n="$(grep -c 'progress' "loss-$jid.out" 2> /dev/null)" || true
  [ "${n:-0}" -lt 3 ] || break
  [ "$(date +%s)" -lt "$deadline" ] || fail "job $jid: no progress after 120 s"
  sleep 0.1
done
read -r -a victims <<< "$(node_pids 3)"
what=""
for p in "${victims[@]}"; do what="$what $p ($(tr '\0' ' ' < "/proc/$p/cmdline" 2> /dev/null | cut -d' ' -f1 | xargs -r basename))"; done
t_kill="$(date +%s.%N)"
kill -KILL "${victims[@]}"
note "t=0: SIGKILL to every process of node 3:$what"
# SLURM learns of a dead node (its slurmd and slurmstepd gone with it) only when slurmctld's pings
# fail for SlurmdTimeout (30 s here): then the job is ended (NODE_FAIL). Bound: 150 s.
wait_job "$jid" 150
state="$(job_field "$jid" JobState)"
secs="$(elapsed "$t_kill")"
note "t=${secs}s: job $jid ended: $state, exit code $(job_field "$jid" ExitCode); node 3 $(sinfo -h -n thxtest-node3 -o %T)"
[ "$state" != COMPLETED ] || fail "job $jid completed although node 3 was killed"
awk -v s="$secs" 'BEGIN { exit !(s <= 150) }' || fail "job $jid took ${secs} s to end (bound 150 s)"
sed 's/\x1b\[[0-9;]*m//g' "loss-$jid.out" | grep -E 'srun: error|thxtest-node3|10\.77\.0\.13|threadx-job' | head -8 | sed 's/^/    /'
if [ ! -f loss.h5.partial ] || [ -e loss.h5 ]; then fail "expected only loss.h5.partial"; fi
note "loss.h5.partial kept: $("$bin" info loss.h5.partial | sed -n 's/^rows: //p')"

t0="$(date +%s.%N)"
jid="$(sbatch --parsable -N 2 -w thxtest-node1,thxtest-node2 --ntasks-per-node=1 --overcommit \
  -o "resume-%j.out" "$src/slurm/multi_node.sbatch" "$long" grid.toml loss.h5 --isa scalar \
  --unit-size 24)"
wait_job "$jid" 600
[ "$(job_field "$jid" JobState)" = COMPLETED ] || fail "resume job $jid: $(job_field "$jid" JobState)"
check_same loss.h5 ref.h5
[ "$(attr loss.h5 rank_hosts)" = "thxtest-node1,thxtest-node2" ] || fail "resumed on '$(attr loss.h5 rank_hosts)'"
note "ok: resubmitted on nodes 1+2 ($(elapsed "$t0") s): /results and /done equal the single-process run"
echo "ok: slurm_3node"
