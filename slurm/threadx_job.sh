# shellcheck shell=bash
# ThreadX job logic, shared by every slurm/*.sbatch template: each template finds this file,
# sources it, sets its inputs and calls threadx_sweep_job. Not a job script itself: submit a
# template. (Executed as `bash threadx_job.sh gpu-exec -- PROGRAM ARGS...` it is the per-rank
# wrapper that gives each rank its own GPUs, see threadx_gpu_exec.)
#
# Inputs set by the template: the arrays `data` (bar files) and `extra` (more `threadx sweep`
# options), the strings `grid` and `out`, and THREADX_REQUEUE; optionally the array `robust`
# (`threadx robust` options: once OUT is complete, its robustness statistics go to ROBUST, OUT
# with .h5 replaced by .robust.h5, under the same launcher; robust.sbatch sets it).
# Environment (read when the job runs; slurm/README.md has the full table):
#   THREADX            the threadx binary (default: `threadx` on PATH)
#   THREADX_LAUNCHER   unset/auto: srun inside a SLURM job; outside one mpirun if on PATH, else a
#                      plain process. Or srun | mpirun | none explicitly.
#   THREADX_SRUN_MPI   srun's --mpi plugin (default pmix; empty: the site's MpiDefault)
#   THREADX_THREADS    threads per rank (default: the rank's CPUs minus one per GPU it drives)
#   THREADX_GPU_BIND   auto (default): with several ranks per node, each rank sees only its own
#                      share of the node's GPUs; 0: every rank sees what SLURM gives it
#   THREADX_REQUEUE    1: requeue the job when it stops early; 0: exit 3
#   HDF5_USE_FILE_LOCKING  FALSE unless set (see below)

set -uo pipefail
log() { printf '[%s] threadx-job %s: %s\n' "$(date +%FT%T)" "${SLURM_JOB_ID:-local}" "$*"; }
die() { log "error: $*"; exit 1; }

# This file's absolute path: the launcher runs it on every rank as the GPU wrapper.
THREADX_JOB_LIB_FILE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/$(basename "${BASH_SOURCE[0]}")"

# ---- counts from SLURM's environment --------------------------------------------------------

# threadx_count SPEC: the number in a SLURM GPU count ("4", "a100:4", "a100:2,v100:1" -> 3).
threadx_count() {
  local item n=0
  local -a items
  IFS=, read -r -a items <<< "${1:-}"
  for item in "${items[@]}"; do
    item="${item##*:}"
    item="${item%%[^0-9]*}"
    n=$((n + ${item:-0}))
  done
  echo "$n"
}

# threadx_nth_count LIST INDEX: entry INDEX of a SLURM per-node list ("2(x3),1" is 2,2,2,1).
threadx_nth_count() {
  local entry value times i=0
  local -a entries
  IFS=, read -r -a entries <<< "${1:-}"
  for entry in "${entries[@]}"; do
    value="${entry%%(*}"
    times=1
    if [[ "$entry" =~ \(x([0-9]+)\) ]]; then times="${BASH_REMATCH[1]}"; fi
    if [ "$2" -lt $((i + times)) ]; then echo "${value:-1}"; return; fi
    i=$((i + times))
  done
  echo 1
}

# Ranks on this node, as the batch script sees the allocation ("2(x3)" -> 2).
threadx_ranks_per_node() {
  local ranks="${SLURM_NTASKS_PER_NODE:-${SLURM_TASKS_PER_NODE:-1}}"
  ranks="${ranks%%[^0-9]*}"
  [ "${ranks:-0}" -ge 1 ] || ranks=1
  echo "$ranks"
}

# CPUs each rank owns: --cpus-per-task, else the node's CPUs over its ranks; empty outside SLURM.
threadx_cpus_per_rank() {
  if [ -n "${SLURM_CPUS_PER_TASK:-}" ]; then echo "$SLURM_CPUS_PER_TASK"; return; fi
  local cpus="${SLURM_CPUS_ON_NODE:-}" ranks
  [ -n "$cpus" ] || return 0
  ranks="$(threadx_ranks_per_node)"
  echo $((cpus / ranks > 0 ? cpus / ranks : 1))
}

# GPUs each rank drives: `--devices` in the sweep options if given (its cuda: entries), else
# --gpus-per-task, else the node's GPUs shared out over its ranks (rounded up). 0 without GPUs.
threadx_gpus_per_rank() {
  local i devices="" gpus ranks
  [ -n "${extra+set}" ] || extra=()
  for ((i = 0; i < ${#extra[@]}; i++)); do
    case "${extra[i]}" in
      --devices) devices="${extra[i + 1]:-}" ;;
      --devices=*) devices="${extra[i]#--devices=}" ;;
    esac
  done
  if [ -n "$devices" ] && [ "$devices" != auto ]; then
    gpus="$(grep -o 'cuda' <<< "$devices" | wc -l)"
    echo "$gpus"
    return
  fi
  if [ -n "${SLURM_GPUS_PER_TASK:-}" ]; then threadx_count "$SLURM_GPUS_PER_TASK"; return; fi
  gpus="${SLURM_GPUS_ON_NODE:-}"
  [ -n "$gpus" ] || gpus="$(threadx_count "${SLURM_GPUS_PER_NODE:-}")"
  ranks="$(threadx_ranks_per_node)"
  echo $(((gpus + ranks - 1) / ranks))
}

# Threads per rank for `threadx sweep --threads`: THREADX_THREADS, else the rank's CPUs minus one
# per GPU it drives (each GPU has a feeder thread that launches kernels and copies rows; giving it
# a core of its own keeps the GPU busy), at least 1. Empty when unknown (outside SLURM): threadx
# then picks its own count, which makes the same reservation.
threadx_threads() {
  if [ -n "${THREADX_THREADS:-}" ]; then echo "$THREADX_THREADS"; return; fi
  local cpus gpus
  cpus="$(threadx_cpus_per_rank)"
  [ -n "$cpus" ] || return 0
  gpus="$(threadx_gpus_per_rank)"
  echo $((cpus - gpus >= 1 ? cpus - gpus : 1))
}

# ---- GPUs per rank -------------------------------------------------------------------------

# threadx_gpu_share VISIBLE LOCAL_RANK LOCAL_RANKS: the part of VISIBLE (a CUDA_VISIBLE_DEVICES
# list) that local rank LOCAL_RANK of LOCAL_RANKS should use. Contiguous blocks (neighbouring
# GPUs tend to share a PCIe switch or NVLink), the first ranks taking one more when the GPUs do
# not divide evenly; with fewer GPUs than ranks, ranks share them round-robin.
threadx_gpu_share() {
  local -a gpus
  IFS=, read -r -a gpus <<< "$1"
  local n="${#gpus[@]}" i="$2" ranks="$3" per rem first count
  if [ "$n" -le 1 ] || [ "$ranks" -le 1 ]; then echo "$1"; return; fi
  if [ "$n" -lt "$ranks" ]; then echo "${gpus[i % n]}"; return; fi
  per=$((n / ranks))
  rem=$((n % ranks))
  first=$((i * per + (i < rem ? i : rem)))
  count=$((per + (i < rem ? 1 : 0)))
  local IFS=,
  echo "${gpus[*]:first:count}"
}

# The per-rank wrapper (run by the launcher in front of threadx when a node has several ranks
# and GPUs): narrows CUDA_VISIBLE_DEVICES to this rank's share, then execs the program, so the
# rank keeps its pid and gets srun's/mpirun's signals itself. Without this every rank of a node
# would open every GPU the job has there (`threadx sweep --devices auto` uses every visible one).
# Left alone when SLURM already bound GPUs per task (srun with --gpus-per-task binds each task to
# its own), or when nothing is visible.
threadx_gpu_exec() {
  local visible="${CUDA_VISIBLE_DEVICES:-}" rank ranks share
  if [ -n "${OMPI_COMM_WORLD_LOCAL_RANK:-}" ]; then  # mpirun: SLURM did not bind anything
    rank="$OMPI_COMM_WORLD_LOCAL_RANK"
    ranks="${OMPI_COMM_WORLD_LOCAL_SIZE:-1}"
  elif [ -n "${SLURM_LOCALID:-}" ] && [ -z "${SLURM_GPUS_PER_TASK:-}" ]; then  # srun
    rank="$SLURM_LOCALID"
    ranks="$(threadx_nth_count "${SLURM_STEP_TASKS_PER_NODE:-${SLURM_TASKS_PER_NODE:-1}}" \
      "${SLURM_NODEID:-0}")"
  else
    rank=0 ranks=1
  fi
  share="$(threadx_gpu_share "$visible" "$rank" "$ranks")"
  if [ -n "$visible" ] && [ "$share" != "$visible" ]; then
    printf 'threadx-job: rank %s of %s on %s: CUDA_VISIBLE_DEVICES=%s (node: %s)\n' \
      "$rank" "$ranks" "$(hostname)" "$share" "$visible" >&2
    export CUDA_VISIBLE_DEVICES="$share"
  fi
  # How many ranks share each of this rank's GPUs, for its share of their memory (gpu/README.md):
  # one when each has its own, more when there are fewer GPUs than ranks.
  if [ -n "$visible" ] && [ -z "${THREADX_RANKS_PER_GPU:-}" ]; then
    local -a gpus
    IFS=, read -r -a gpus <<< "$visible"
    export THREADX_RANKS_PER_GPU=$(((ranks + ${#gpus[@]} - 1) / ${#gpus[@]}))
  fi
  exec "$@"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then  # executed, not sourced: the wrapper
  if [ "${1:-}" != gpu-exec ] || [ "${2:-}" != -- ] || [ $# -lt 3 ]; then
    echo "usage: bash threadx_job.sh gpu-exec -- PROGRAM [ARGS...] (templates source this file)" >&2
    exit 2
  fi
  shift 2
  threadx_gpu_exec "$@"
fi

# ---- the binary and the launcher -------------------------------------------------------------

# The threadx binary, into `threadx_bin`: THREADX, else `threadx` on PATH; a clear error otherwise.
threadx_find_bin() {
  # `command -v` finds programs only (a directory or a file without x fails), by path or on PATH;
  # -f rules out a shell builtin or function of that name.
  threadx_bin="$(command -v "${THREADX:-threadx}")"
  if [ -f "$threadx_bin" ]; then return; fi
  if [ -n "${THREADX:-}" ]; then
    die "THREADX='$THREADX' is not an executable program (set THREADX=/path/to/threadx)"
  fi
  die "threadx is not on PATH and THREADX is not set (set THREADX=/path/to/threadx)"
}

# threadx_launcher CPUS: fills the array `launcher` (empty: a plain process) and logs the choice.
# Inside a SLURM job the default is srun; outside one (a template run with bash on a workstation
# or a login node) mpirun if it is installed, else one plain process.
threadx_launcher() {
  local cpus="$1" choice="${THREADX_LAUNCHER:-auto}" why="" mpi="${THREADX_SRUN_MPI-pmix}"
  if [ "$choice" = auto ]; then
    if [ -n "${SLURM_JOB_ID:-}" ]; then
      choice=srun why="SLURM job $SLURM_JOB_ID"
    elif command -v mpirun > /dev/null; then
      choice=mpirun why="not in a SLURM job; $(command -v mpirun)"
    else
      choice=none why="not in a SLURM job and no mpirun on PATH"
    fi
  fi
  launcher=()
  case "$choice" in
    srun)
      # --mpi: pmix matches OpenMPI built against PMIx; empty leaves it to the site's MpiDefault.
      # --cpus-per-task: since SLURM 22.05 srun no longer inherits it from sbatch.
      launcher=(srun ${mpi:+--mpi="$mpi"} --kill-on-bad-exit=1)
      [ -z "$cpus" ] || launcher+=(--cpus-per-task="$cpus")
      ;;
    # OpenMPI reads the SLURM allocation (or starts one rank per core outside one) and forwards
    # SIGUSR1 to the ranks; -x carries the HDF5 setting to ranks on other nodes.
    mpirun) launcher=(mpirun -x HDF5_USE_FILE_LOCKING) ;;
    none) ;;
    *) die "THREADX_LAUNCHER must be auto, srun, mpirun or none (got '$choice')" ;;
  esac
  log "launcher: ${launcher[*]:-none (one plain process)}${why:+ ($why)}"
}

# HDF5's file locking fails on some Lustre and NFS mounts ("unable to lock file, errno = 524" or
# ENOSYS), which would stop every sweep there before any work. Off unless the user set it. The
# price: a second sweep of the same OUT started while the first runs is no longer refused by
# HDF5, so never run two jobs on one OUT at once (TRUE or BEST_EFFORT keep the check).
if [ -z "${HDF5_USE_FILE_LOCKING+set}" ]; then export HDF5_USE_FILE_LOCKING=FALSE; fi

# ---- stopping ------------------------------------------------------------------------------

# The stop signal (SIGUSR1 from --signal=B:USR1@N, or SIGTERM/SIGINT) reaches this shell; the
# sweep step gets SIGUSR1 by pid, finishes or drops its units in flight, saves them and exits 3.
step_pid=""
interrupted=0
stop_signal=""
on_stop() {
  interrupted=1
  stop_signal="$1"
  log "SIG$1 received; asking the sweep (pid ${step_pid:-none}) to stop and save its work"
  if [ -n "$step_pid" ]; then kill -USR1 "$step_pid" 2> /dev/null || true; fi
}
trap 'on_stop USR1' USR1
trap 'on_stop TERM' TERM
trap 'on_stop INT' INT

# ---- the job -------------------------------------------------------------------------------

# shellcheck disable=SC2154  # data, grid, out, extra: set by the template
# The robustness step of a complete OUT, when the template asked for one (the array `robust`):
# `threadx robust OUT --out ROBUST ${robust[@]}` under the launcher, once (an existing ROBUST is
# kept: the step is not repeated when a requeued job starts after it). Sets `robust_file` to
# ROBUST when it exists. A failure ends the job (status 1); OUT stays complete.
threadx_robust_step() {
  robust_file=""
  declare -p robust > /dev/null 2>&1 && [ "${#robust[@]}" -gt 0 ] || return 0
  local target="${out%.h5}.robust.h5" cmd rc
  if [ -e "$target" ]; then
    log "robustness: $target exists already"
  else
    cmd=("${launcher[@]}" "$threadx_bin" robust "$out" --out "$target" "${robust[@]}")
    log "robustness: ${cmd[*]}"
    "${cmd[@]}" < /dev/null
    rc=$?
    [ "$rc" = 0 ] || die "threadx robust failed (status $rc); the sweep itself is complete: $out"
    log "robustness: $target"
  fi
  robust_file="$target"
}

# The report next to OUT (`threadx report`, with the robustness file when there is one): one HTML
# page to open on a laptop. A failure is logged only: the results are complete either way.
threadx_report_step() {
  local page="${out%.h5}.html" args=()
  [ -z "${robust_file:-}" ] || args=(--robust "$robust_file")
  if "$threadx_bin" -q report "$out" --out "$page" "${args[@]}" > /dev/null; then
    log "report: $page"
  else
    log "warning: threadx report failed (status $?); the results are complete: $out"
  fi
}

threadx_sweep_job() {
  threadx_find_bin
  log "job logic: $THREADX_JOB_LIB_FILE; threadx: $threadx_bin"
  if [ "${#data[@]}" = 0 ] || [ -z "$grid" ] || [ -z "$out" ]; then
    die "DATA, GRID and OUT are required (arguments or THREADX_DATA/THREADX_GRID/THREADX_OUT)"
  fi
  if [ -e "$out" ]; then
    log "$out is complete already; nothing to do"
    # A job requeued after the sweep completed may still owe the robustness step.
    if declare -p robust > /dev/null 2>&1 && [ "${#robust[@]}" -gt 0 ] \
      && [ ! -e "${out%.h5}.robust.h5" ]; then
      threadx_launcher "$(threadx_cpus_per_rank)"
      threadx_robust_step
      threadx_report_step
    fi
    return 0
  fi
  local threads cpus gpus wrapper=() cmd
  threads="$(threadx_threads)"
  cpus="$(threadx_cpus_per_rank)"
  # srun hands each rank all of its CPUs (threads plus the GPU feeders); without SLURM's count,
  # the thread count as before.
  threadx_launcher "${cpus:-$threads}"
  gpus="$(threadx_gpus_per_rank)"
  if [ "$gpus" -gt 0 ]; then
    log "GPUs per rank: $gpus; threads per rank: ${threads:-threadx default} (one core per GPU left to its feeder)"
    if [ "${THREADX_GPU_BIND:-auto}" != 0 ] && [ "${#launcher[@]}" -gt 0 ] \
      && [ "$(threadx_ranks_per_node)" -gt 1 ]; then
      wrapper=(bash "$THREADX_JOB_LIB_FILE" gpu-exec --)
      log "several ranks per node: each rank gets its own GPUs (CUDA_VISIBLE_DEVICES)"
    fi
  fi
  local attempt rc args
  for attempt in 1 2 3; do
    args=(sweep --data "${data[@]}" --grid "$grid" --out "$out")
    if [ -e "$out.partial" ]; then
      args+=(--resume)
      log "resuming $out.partial (restart ${SLURM_RESTART_COUNT:-0})"
    fi
    [ -z "$threads" ] || args+=(--threads "$threads")
    args+=("${extra[@]}")
    cmd=("${launcher[@]}" "${wrapper[@]}" "$threadx_bin" "${args[@]}")
    log "start: ${cmd[*]} (HDF5_USE_FILE_LOCKING=$HDF5_USE_FILE_LOCKING)"
    "${cmd[@]}" < /dev/null &
    step_pid=$!
    while :; do
      interrupted=0
      wait "$step_pid"
      rc=$?
      # A trapped signal interrupts `wait`; wait again for the step's own exit status.
      [ "$interrupted" = 1 ] || break
    done
    step_pid=""
    # OUT appears only when every combination is saved. A signal that lands as the sweep ends
    # can leave a rank with status 3 although rank 0 completed the file: complete is complete.
    if [ -e "$out" ]; then
      [ "$rc" = 0 ] || log "the step exited $rc, but $out is complete"
      log "complete: $out"
      threadx_robust_step
      threadx_report_step
      return 0
    fi
    # 3: stopped by a signal; 4: a rank was lost or hung (MPI). Either way the file is saved.
    if [ -e "$out.partial" ] && { [ "$rc" = 3 ] || [ "$rc" = 4 ] || [ -n "$stop_signal" ]; }; then
      log "stopped, resumable: $out.partial (sweep exit status $rc)"
      if [ "${THREADX_REQUEUE:-0}" = 1 ] && [ -n "${SLURM_JOB_ID:-}" ]; then
        if scontrol requeue "$SLURM_JOB_ID"; then
          log "requeued job $SLURM_JOB_ID; it resumes when it starts again"
        else
          log "scontrol requeue failed; resubmit the same job to resume"
        fi
      else
        log "submit the same job again to resume"
      fi
      exit 3
    fi
    [ -z "$stop_signal" ] || die "stopped by SIG$stop_signal; no $out.partial to resume (status $rc)"
    # The sweep exits 0 only with OUT in place, so status 0 without OUT means the step never ran
    # it: srun reports a failed task launch with status 0 (seen right after a requeue, while the
    # previous run's step is still cleaning up). Launch again.
    if [ "$rc" != 0 ] || [ "$attempt" = 3 ]; then break; fi
    log "the job step ended without running the sweep (launch failure, try $attempt of 3)"
    sleep 10
  done
  log "failed: sweep exit status $rc"
  exit $((rc == 0 ? 1 : rc))
}
