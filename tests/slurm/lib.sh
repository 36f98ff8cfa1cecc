# Shared by the tests in tests/slurm/: a private one-node SLURM cluster (scripts/slurm_local.sh)
# that is always torn down — by the pids it started — when the test exits, passes or fails.
#   source lib.sh BIN SRC     then slurm_up, submit, wait_job, job_field, ...
# Skips (exit 77) unless root with slurm-wlm and munge installed. THREADX_TEST_SLURM_NTASKS sets
# the MPI tasks per job (default 2: srun --mpi=pmix starts two ranks of one sweep).
set -euo pipefail
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
src="$(cd "$2" && pwd)"
ntasks="${THREADX_TEST_SLURM_NTASKS:-2}"
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIPPED: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root for a local SLURM cluster (SlurmUser=root, munged)"
export PATH="$PATH:/usr/sbin"
# In a sanitizer build: OpenMPI's own allocations left at exit (in MCA components it unloads) show
# up as leaks of unknown modules; the engine's leaks are checked by the single-process tests.
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
for b in munged mungekey slurmctld slurmd sbatch squeue scontrol scancel srun; do
  command -v "$b" > /dev/null || skip "'$b' not installed (apt-get install slurm-wlm munge)"
done

work="$(mktemp -d /tmp/threadx-slurm-test.XXXXXX)"
chmod 0755 "$work"  # munged runs as user munge and must reach its socket inside
cluster="$work/cluster"
cluster_pids=""
direct_pid=""
t_start="$(date +%s.%N)"

# "[+12.3s] message": the timeline of a test, relative to its start.
note() {
  printf '[+%6.1fs %s] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$t_start" 'BEGIN { print a - b }')" \
    "$(date +%T)" "$*"
}

teardown() {
  local rc=$? p alive=""
  trap - EXIT INT TERM
  if [ -n "$direct_pid" ] && kill -0 "$direct_pid" 2> /dev/null; then
    kill -TERM "$direct_pid" 2> /dev/null || true
    wait "$direct_pid" 2> /dev/null || true
  fi
  if [ -d "$cluster" ]; then
    if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -d "$cluster/log" ]; then
      for f in "$work"/*.out; do
        [ -f "$f" ] || continue
        echo "---- job output $(basename "$f") (tail) ----" >&2; tail -n 25 "$f" >&2
      done
      echo "---- slurmctld.log (tail) ----" >&2; tail -n 15 "$cluster/log/slurmctld.log" >&2 || true
      echo "---- slurmd.log (tail) ----" >&2; tail -n 15 "$cluster/log/slurmd.log" >&2 || true
    fi
    bash "$src/scripts/slurm_local.sh" down "$cluster" || rc=1
    for p in $cluster_pids; do
      if kill -0 "$p" 2> /dev/null; then alive="$alive $p"; fi
    done
    if [ -n "$alive" ]; then
      echo "FAIL: teardown left daemons running:$alive" >&2
      rc=1
    elif [ -n "$cluster_pids" ]; then
      note "teardown: daemons ${cluster_pids// /,} (munged, slurmctld, slurmd) are gone"
    fi
  fi
  rm -rf "$work"
  exit "$rc"
}
trap teardown EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

slurm_up() {
  bash "$src/scripts/slurm_local.sh" up "$cluster" > "$work/up.log" 2>&1 \
    || { cat "$work/up.log" >&2; fail "local cluster did not start"; }
  cluster_pids="$(bash "$src/scripts/slurm_local.sh" pids "$cluster" | paste -sd' ')"
  # shellcheck disable=SC1091
  source "$cluster/env"
  note "cluster up (pids $cluster_pids)"
}

# Job options the tests add to a template's own: the task count and, beyond the node's CPUs,
# --overcommit (more tasks than CPUs stays pending otherwise).
# shellcheck disable=SC2034  # used by the scripts that source this file
job_opts=(--ntasks="$ntasks" --ntasks-per-node="$ntasks" --overcommit)

job_field() {  # job_field JOBID NAME -> the value of NAME= in `scontrol show job`
  # A busy slurmctld sometimes drops an RPC ("Zero Bytes were transmitted"): ask again.
  local out="" try
  for try in 1 2 3 4 5; do
    if out="$(scontrol show job -o "$1" 2> /dev/null)"; then break; fi
    [ "$try" = 5 ] && { echo "scontrol show job $1 failed 5 times" >&2; return 1; }
    sleep 1
  done
  echo "$out" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}

steps_left() {  # steps_left NUMERIC_JOBID -> 0 while a step of that job still has a socket
  compgen -G "$cluster/spool/slurmd/localhost_$1.*" > /dev/null \
    || compgen -G "$cluster/spool/slurmd/stepd.slurm.pmix.$1.*" > /dev/null
}

# wait_job JOBID SECONDS: until the job has ended for good. A requeued job is held back about two
# minutes (BeginTime); start it at once. Logs each state change on the timeline.
wait_job() {
  local id="$1" deadline=$(($(date +%s) + $2)) state="" last="" reason held=""
  while :; do
    state="$(job_field "$id" JobState)"
    reason="$(job_field "$id" Reason)"
    if [ "$state $reason" != "$last" ]; then
      note "job $id: $state ($reason), restarts $(job_field "$id" Restarts)"
      last="$state $reason"
    fi
    [ "$state $reason" = "PENDING BeginTime" ] || held=""
    case "$state" in
      COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE)
        return 0 ;;
      PENDING)
        # SLURM holds a requeued job back (BeginTime) so that the previous run's steps can end;
        # start it as soon as they have (a step's pmix socket left behind fails the next launch).
        # Not within 2 s of the requeue: slurmd revokes the job's credentials at the kill, with
        # a resolution of one second, and refuses a relaunch in that second ("Job credential
        # revoked": the job then FAILS).
        if [ "$reason" = BeginTime ] && [ -z "$held" ]; then held="$(date +%s)"; fi
        if [ "$reason" = BeginTime ] && [ "$(date +%s)" -ge $((held + 2)) ] \
          && ! steps_left "$(job_field "$id" JobId)"; then
          scontrol update JobId="$id" StartTime=now
          note "job $id: requeued; previous run's steps gone; scontrol update StartTime=now"
        fi ;;
    esac
    [ "$(date +%s)" -lt "$deadline" ] || fail "job $id still $state after $2 s"
    sleep 0.2
  done
}

wait_for_line() {  # wait_for_line FILE PATTERN SECONDS
  local deadline=$(($(date +%s) + $3))
  until grep -q -- "$2" "$1" 2> /dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "no '$2' in $1 after $3 s"
    sleep 0.1
  done
}

# direct_start ARGS...: the reference, a direct `threadx sweep ARGS --out direct.h5` on one thread,
# in the background while the cluster runs the job on the other core; direct_wait collects it.
direct_start() {
  "$bin" sweep "$@" --out direct.h5 --threads 1 2> direct.log &
  direct_pid=$!
}
direct_wait() {
  wait "$direct_pid" || { cat direct.log; fail "direct run"; }
  direct_pid=""
  note "direct run: $(grep -o 'done: .*' direct.log)"
}

# check_same FILE REFERENCE [RANKS]: complete, no .partial, rows and done flags bit-identical to the
# reference, and (if given) written by RANKS MPI ranks.
check_same() {
  if [ ! -f "$1" ] || [ -e "$1.partial" ]; then fail "$1: want the complete file and no .partial"; fi
  "$bin" info "$1" > "$work/info.txt" || fail "threadx info $1"
  grep -q "^complete: 1$" "$work/info.txt" || fail "$1 is not complete: $(cat "$work/info.txt")"
  if [ -n "${3:-}" ]; then  # the rank count the last run recorded
    grep -q "^ranks: $3$" "$work/info.txt" || fail "$1: want 'ranks: $3', got '$(grep '^ranks:' "$work/info.txt")'"
  fi
  h5diff "$2" "$1" /results /results || fail "$1: /results differs from the direct run"
  h5diff "$2" "$1" /done /done || fail "$1: /done differs from the direct run"
}
