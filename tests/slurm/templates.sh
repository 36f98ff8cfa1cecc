#!/usr/bin/env bash
# The sbatch templates and their shared job logic (slurm/threadx_job.sh), without a cluster:
#  - every template parses, finds and sources threadx_job.sh through the same lookup block and
#    carries no copy of the job logic; it asks SLURM for the pre-time-limit signal;
#  - the lookup: THREADX_JOB_LIB, the template's directory, the script SLURM was given (Command=
#    of a stand-in scontrol), the install layout; not found -> one error line naming where it looked;
#  - THREADX not a program, threadx not on PATH -> a clear error;
#  - the launcher: outside SLURM mpirun if on PATH, else a plain process (logged); srun inside a
#    job with THREADX_SRUN_MPI (default pmix, empty: no --mpi);
#  - HDF5_USE_FILE_LOCKING=FALSE exported unless set;
#  - robust.sbatch: sweep --blocks, then threadx robust and the report --robust under the same
#    launcher; a rerun does only the missing step; a failing robustness step fails the job;
#  - GPUs: the thread count (CPUs minus one per GPU) and each rank's share of the node's GPUs,
#    from the lib's functions under made-up SLURM_* variables, and through gpu.sbatch;
#  - behaviour (THREADX_LAUNCHER=none, the real binary): sweeps real data to the same rows as a
#    direct run; SIGUSR1 to the script stops the sweep cleanly ("stopped, resumable", exit 3); the
#    next run resumes and completes; a run on a complete file does nothing; bad input fails.
# Stand-ins for threadx, mpirun, srun and scontrol record what they were given in $FAKE_LOG.
set -euo pipefail
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
src="$(cd "$2" && pwd -P)"
lib="$src/slurm/threadx_job.sh"
work="$(mktemp -d)"
script_pid=""
cleanup() {
  if [ -n "$script_pid" ] && kill -0 "$script_pid" 2> /dev/null; then kill -TERM "$script_pid"; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$work"
# Run as if on a workstation, whatever the caller's environment (e.g. ctest inside an allocation).
unset "${!SLURM_@}" "${!OMPI_@}" CUDA_VISIBLE_DEVICES HDF5_USE_FILE_LOCKING THREADX THREADX_JOB_LIB \
  THREADX_LAUNCHER THREADX_SRUN_MPI THREADX_THREADS THREADX_GPU_BIND THREADX_REQUEUE

# ==== structure ====
lookup() { sed -n '/^# ==== find and source the ThreadX job logic/,/^# ==== end of the job logic lookup ====/p' "$1"; }
templates=("$src"/slurm/*.sbatch)
[ "${#templates[@]}" -ge 5 ] || fail "expected at least 5 templates, found ${#templates[@]}"
bash -n "$lib" || fail "threadx_job.sh does not parse"
grep -q '^threadx_sweep_job() {' "$lib" || fail "threadx_job.sh defines no threadx_sweep_job"
lookup "${templates[0]}" > ref_lookup
[ "$(wc -l < ref_lookup)" -gt 10 ] || fail "job logic lookup block not found in ${templates[0]}"
for t in "${templates[@]}"; do
  name="$(basename "$t")"
  bash -n "$t" || fail "$name does not parse"
  lookup "$t" | cmp -s - ref_lookup || fail "$name: lookup block differs from $(basename "${templates[0]}")"
  grep -q '^source "\$threadx_job_lib"$' "$t" || fail "$name does not source threadx_job.sh"
  [ "$(grep -v '^[[:space:]]*$' "$t" | tail -1)" = threadx_sweep_job ] \
    || fail "$name does not end by calling threadx_sweep_job"
  # No copy of the job logic: none of its pieces on a line that is not a comment.
  for piece in 'threadx_sweep_job()' 'on_stop' 'trap ' 'srun ' 'mpirun' 'scontrol requeue' \
    'wait "$step_pid"' '--resume' 'HDF5_USE_FILE_LOCKING' 'threadx_threads'; do
    if grep -v '^[[:space:]]*#' "$t" | grep -qF -- "$piece"; then
      fail "$name: '$piece' outside threadx_job.sh (a copy of the job logic?)"
    fi
  done
  [ "$(wc -l < "$t")" -lt 130 ] || fail "$name: $(wc -l < "$t") lines; the job logic belongs in threadx_job.sh"
  grep -q '^#SBATCH --signal=B:USR1@[0-9]' "$t" || fail "$name: no --signal=B:USR1@N"
  grep -q '^# Edit:' "$t" || fail "$name: header does not say what to edit"
done
for t in long_sweep array; do
  grep -q '^#SBATCH --requeue' "$src/slurm/$t.sbatch" || fail "$t.sbatch: no --requeue"
  grep -q '^#SBATCH --open-mode=append' "$src/slurm/$t.sbatch" || fail "$t.sbatch: log not appended"
done
echo "ok: structure (${#templates[@]} templates source threadx_job.sh, one lookup block)"

# ==== stand-ins ====
mkdir fake tools
export FAKE_LOG="$work/fake.log"
# threadx: records its arguments and the environment that matters, writes --out (complete).
cat > fake/threadx <<'EOF'
#!/bin/bash
echo "threadx $* | HDF5_USE_FILE_LOCKING=${HDF5_USE_FILE_LOCKING-unset} CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES-unset}" >> "$FAKE_LOG"
while [ $# -gt 0 ]; do
  if [ "$1" = --out ]; then : > "$2"; fi
  shift
done
EOF
# mpirun: records, drops `-x VAR`, runs the program once.
cat > fake/mpirun <<'EOF'
#!/bin/bash
echo "mpirun $*" >> "$FAKE_LOG"
while [ "$1" = -x ]; do shift 2; done
exec "$@"
EOF
# srun: records, drops its options, runs the program as two tasks of one node, one after the other.
cat > fake/srun <<'EOF'
#!/bin/bash
echo "srun $*" >> "$FAKE_LOG"
while [[ "$1" == -* ]]; do shift; done
for id in 0 1; do SLURM_LOCALID=$id SLURM_NODEID=0 SLURM_STEP_TASKS_PER_NODE=2 "$@" || exit; done
EOF
# scontrol: `show job` as SLURM prints it (the script SLURM was given, then its arguments), here
# for the last task of a job array, whose id is the array's: SLURM then lists every task.
cat > fake/scontrol <<'EOF'
#!/bin/bash
for task in 2 0 1; do
  printf 'JobId=%s ArrayTaskId=%s JobName=x\n   Command=%s\n   WorkDir=/tmp\n\n' \
    "$SLURM_JOB_ID" "$task" "$FAKE_COMMAND"
done
EOF
chmod +x fake/*
# A PATH without mpirun (or threadx): only what the templates and the stand-ins use.
for t in bash dirname basename date readlink sed grep wc hostname sleep cat rm; do
  ln -s "$(command -v "$t")" "tools/$t"
done
fakebin="$work/fake/threadx"
plain_inputs=("$src/data/BTCUSDT_15m_2024-12-01_2024-12-10.csv" "$src/data/grids/reference_24.toml")
# run_template LOG TEMPLATE OUT [sweep options]: runs it with plain_inputs, status in $rc.
run_template() {
  local log="$1" t="$2" out="$3"
  shift 3
  rm -f "$out" "$FAKE_LOG"
  set +e
  bash "$t" "${plain_inputs[@]}" "$out" "$@" > "$log" 2>&1
  rc=$?
  set -e
}

# ==== the lookup of threadx_job.sh ====
# sbatch runs a copy from its spool directory: nothing beside it.
mkdir spool
cp "$src/slurm/one_node.sbatch" spool/slurm_script
THREADX="$bin" run_template nolib.log spool/slurm_script o.h5
[ "$rc" = 1 ] || { cat nolib.log; fail "lib not found: exit $rc, want 1"; }
[ "$(wc -l < nolib.log)" = 1 ] || { cat nolib.log; fail "lib not found: want one line"; }
grep -qF "error: threadx_job.sh not found (looked in: spool, $(dirname "$bin")/../share/threadx/slurm" nolib.log \
  || { cat nolib.log; fail "lib not found: error does not name where it looked"; }
grep -qF "set THREADX_JOB_LIB=" nolib.log || fail "lib not found: no hint at THREADX_JOB_LIB"
THREADX="$bin" THREADX_JOB_LIB="$work/nowhere.sh" run_template nolib2.log spool/slurm_script o.h5
[ "$rc" = 1 ] && grep -qF "threadx_job.sh not found (looked in: THREADX_JOB_LIB=$work/nowhere.sh)" nolib2.log \
  || { cat nolib2.log; fail "THREADX_JOB_LIB missing: exit $rc"; }

# THREADX_JOB_LIB.
THREADX="$fakebin" THREADX_LAUNCHER=none THREADX_JOB_LIB="$lib" run_template envlib.log spool/slurm_script o.h5
[ "$rc" = 0 ] && grep -qF "job logic: $lib;" envlib.log || { cat envlib.log; fail "THREADX_JOB_LIB not used"; }

# Under SLURM: the directory of the script SLURM was given (scontrol's Command=, here with spaces
# in the path and arguments after it).
mkdir "my templates"
cp "$src/slurm/one_node.sbatch" "$lib" "my templates/"
SLURM_JOB_ID=42 FAKE_COMMAND="$work/my templates/one_node.sbatch data 1 grid out" \
  PATH="$work/fake:$PATH" THREADX="$fakebin" THREADX_LAUNCHER=none \
  run_template command.log spool/slurm_script o.h5
[ "$rc" = 0 ] && grep -qF "job logic: $work/my templates/threadx_job.sh;" command.log \
  || { cat command.log; fail "lib not found through scontrol's Command="; }
# ... a relative Command= is relative to the submit directory.
SLURM_JOB_ID=42 FAKE_COMMAND="my templates/one_node.sbatch" SLURM_SUBMIT_DIR="$work" \
  PATH="$work/fake:$PATH" THREADX="$fakebin" THREADX_LAUNCHER=none \
  run_template command2.log spool/slurm_script o.h5
[ "$rc" = 0 ] && grep -qF "job logic: $work/my templates/threadx_job.sh;" command2.log \
  || { cat command2.log; fail "lib not found through a relative Command="; }

# The install layout: <prefix>/bin/threadx, <prefix>/share/threadx/slurm/threadx_job.sh; found
# from THREADX, and from threadx on PATH through a symlink to it.
mkdir -p prefix/bin prefix/share/threadx/slurm links
cp "$fakebin" prefix/bin/threadx
cp "$lib" prefix/share/threadx/slurm/
THREADX="$work/prefix/bin/threadx" THREADX_LAUNCHER=none run_template inst.log spool/slurm_script o.h5
[ "$rc" = 0 ] && grep -qF "job logic: $work/prefix/share/threadx/slurm/threadx_job.sh;" inst.log \
  || { cat inst.log; fail "lib not found in the install layout"; }
ln -s "$work/prefix/bin/threadx" links/threadx
PATH="$work/links:$PATH" THREADX_LAUNCHER=none run_template inst2.log spool/slurm_script o.h5
[ "$rc" = 0 ] && grep -qF "job logic: $work/prefix/share/threadx/slurm/threadx_job.sh;" inst2.log \
  || { cat inst2.log; fail "lib not found from a symlinked threadx on PATH"; }
echo "ok: lookup (not found -> one line; THREADX_JOB_LIB, Command=, install layout)"

# ==== THREADX ====
THREADX="$work" run_template dir.log "$src/slurm/one_node.sbatch" o.h5
[ "$rc" = 1 ] && grep -qF "error: THREADX='$work' is not an executable program" dir.log \
  || { cat dir.log; fail "THREADX a directory: exit $rc"; }
THREADX="${plain_inputs[1]}" run_template nox.log "$src/slurm/one_node.sbatch" o.h5
[ "$rc" = 1 ] && grep -qF "is not an executable program (set THREADX=/path/to/threadx)" nox.log \
  || { cat nox.log; fail "THREADX not executable: exit $rc"; }
PATH="$work/tools" run_template nopath.log "$src/slurm/one_node.sbatch" o.h5
[ "$rc" = 1 ] && grep -qF "error: threadx is not on PATH and THREADX is not set" nopath.log \
  || { cat nopath.log; fail "no threadx: exit $rc"; }
[ ! -e o.h5 ] || fail "a failed lookup of threadx wrote o.h5"
echo "ok: THREADX errors"

# ==== the launcher, HDF5_USE_FILE_LOCKING ====
# Outside SLURM with mpirun on PATH: mpirun.
PATH="$work/fake:$PATH" THREADX="$fakebin" run_template mpi.log "$src/slurm/one_node.sbatch" o.h5
[ "$rc" = 0 ] || { cat mpi.log; fail "mpirun fallback: exit $rc"; }
grep -qF "launcher: mpirun -x HDF5_USE_FILE_LOCKING (not in a SLURM job; $work/fake/mpirun)" mpi.log \
  || { cat mpi.log; fail "mpirun fallback not logged"; }
grep -qF "mpirun -x HDF5_USE_FILE_LOCKING $fakebin sweep" "$FAKE_LOG" || { cat "$FAKE_LOG"; fail "mpirun not used"; }
grep -q "HDF5_USE_FILE_LOCKING=FALSE" "$FAKE_LOG" || { cat "$FAKE_LOG"; fail "HDF5_USE_FILE_LOCKING not FALSE"; }
# Outside SLURM without mpirun: one plain process.
PATH="$work/tools" THREADX="$fakebin" run_template plain.log "$src/slurm/one_node.sbatch" o.h5
[ "$rc" = 0 ] || { cat plain.log; fail "plain fallback: exit $rc"; }
grep -qF "launcher: none (one plain process) (not in a SLURM job and no mpirun on PATH)" plain.log \
  || { cat plain.log; fail "plain fallback not logged"; }
grep -q "^threadx sweep .*HDF5_USE_FILE_LOCKING=FALSE" "$FAKE_LOG" || { cat "$FAKE_LOG"; fail "plain run"; }
# The user's HDF5_USE_FILE_LOCKING is kept.
HDF5_USE_FILE_LOCKING=TRUE THREADX="$fakebin" THREADX_LAUNCHER=none \
  run_template h5.log "$src/slurm/one_node.sbatch" o.h5
grep -q "HDF5_USE_FILE_LOCKING=TRUE" "$FAKE_LOG" || { cat "$FAKE_LOG"; fail "user's HDF5_USE_FILE_LOCKING overridden"; }
# Inside a job: srun --mpi=pmix by default, THREADX_SRUN_MPI chooses, empty leaves --mpi out.
slurm_env=(SLURM_JOB_ID=42 SLURM_CPUS_ON_NODE=8 SLURM_NTASKS_PER_NODE=1 SLURM_TASKS_PER_NODE=1)
rm -f o.h5 "$FAKE_LOG"
env "${slurm_env[@]}" PATH="$work/fake:$PATH" THREADX="$fakebin" \
  bash "$src/slurm/one_node.sbatch" "${plain_inputs[@]}" o.h5 > srun.log 2>&1 || { cat srun.log; fail "srun"; }
grep -qF "launcher: srun --mpi=pmix --kill-on-bad-exit=1 --cpus-per-task=8 (SLURM job 42)" srun.log \
  || { cat srun.log; fail "srun launcher not logged"; }
grep -q "^threadx sweep .* --threads 8 .*HDF5_USE_FILE_LOCKING=FALSE" "$FAKE_LOG" \
  || { cat "$FAKE_LOG"; fail "srun: threads or HDF5_USE_FILE_LOCKING"; }
rm -f o.h5 "$FAKE_LOG"
env "${slurm_env[@]}" THREADX_SRUN_MPI= PATH="$work/fake:$PATH" THREADX="$fakebin" \
  bash "$src/slurm/one_node.sbatch" "${plain_inputs[@]}" o.h5 > srun2.log 2>&1 || { cat srun2.log; fail "srun"; }
grep -q "^srun --kill-on-bad-exit=1 --cpus-per-task=8 $fakebin" "$FAKE_LOG" \
  || { cat "$FAKE_LOG"; fail "THREADX_SRUN_MPI= still passes --mpi"; }
echo "ok: launcher (mpirun / plain fallback outside SLURM, srun --mpi), HDF5_USE_FILE_LOCKING"

# ==== robust.sbatch: sweep --blocks, then robust and the report, under the same launcher ====
PATH="$work/fake:$PATH" THREADX="$fakebin" run_template rob.log "$src/slurm/robust.sbatch" o.h5
[ "$rc" = 0 ] || { cat rob.log; fail "robust.sbatch: exit $rc"; }
grep -qF "mpirun -x HDF5_USE_FILE_LOCKING $fakebin sweep --data ${plain_inputs[0]} --grid ${plain_inputs[1]} --out o.h5 --blocks 16" "$FAKE_LOG" \
  || { cat "$FAKE_LOG"; fail "robust.sbatch: sweep without --blocks 16"; }
grep -qF "mpirun -x HDF5_USE_FILE_LOCKING $fakebin robust o.h5 --out o.robust.h5 --cscv --dsr 10 --wf-window 4" "$FAKE_LOG" \
  || { cat "$FAKE_LOG"; fail "robust.sbatch: robust step"; }
grep -qF "threadx -q report o.h5 --out o.html --robust o.robust.h5" "$FAKE_LOG" \
  || { cat "$FAKE_LOG"; fail "robust.sbatch: report without --robust"; }
grep -qF "robustness: o.robust.h5" rob.log || { cat rob.log; fail "robust.sbatch: step not logged"; }
# Started again with OUT and ROBUST in place: nothing; with only OUT: the robustness step alone.
: > o.h5; : > o.robust.h5; rm -f "$FAKE_LOG"
PATH="$work/fake:$PATH" THREADX="$fakebin" bash "$src/slurm/robust.sbatch" "${plain_inputs[@]}" o.h5 > rob2.log 2>&1 \
  || { cat rob2.log; fail "robust.sbatch on complete outputs"; }
[ ! -e "$FAKE_LOG" ] || { cat "$FAKE_LOG"; fail "robust.sbatch ran something on complete outputs"; }
rm -f o.robust.h5
PATH="$work/fake:$PATH" THREADX="$fakebin" THREADX_BLOCKS=8 THREADX_ROBUST_ARGS="--dsr 3" \
  bash "$src/slurm/robust.sbatch" "${plain_inputs[@]}" o.h5 > rob3.log 2>&1 || { cat rob3.log; fail "robust step alone"; }
! grep -q " sweep " "$FAKE_LOG" || { cat "$FAKE_LOG"; fail "complete OUT swept again"; }
grep -qF "$fakebin robust o.h5 --out o.robust.h5 --dsr 3" "$FAKE_LOG" || { cat "$FAKE_LOG"; fail "THREADX_ROBUST_ARGS"; }
# THREADX_BLOCKS, and --blocks among the sweep options wins.
PATH="$work/fake:$PATH" THREADX="$fakebin" THREADX_BLOCKS=8 run_template rob4.log "$src/slurm/robust.sbatch" o.h5
grep -q "sweep .* --blocks 8 " "$FAKE_LOG" || { cat "$FAKE_LOG"; fail "THREADX_BLOCKS=8"; }
PATH="$work/fake:$PATH" THREADX="$fakebin" run_template rob5.log "$src/slurm/robust.sbatch" o.h5 --blocks 4
[ "$(grep -o -- "--blocks [0-9]*" "$FAKE_LOG" | sort -u)" = "--blocks 4" ] || { cat "$FAKE_LOG"; fail "--blocks 4 in the options"; }
# A failing robustness step fails the job, naming it.
cat > fake/threadx_robust_fails <<'EOF2'
#!/bin/bash
if [ "$1" = robust ]; then echo "threadx: error x.h5: no /blocks" >&2; exit 1; fi
exec "$(dirname "$0")/threadx" "$@"
EOF2
chmod +x fake/threadx_robust_fails
rm -f o.robust.h5
PATH="$work/fake:$PATH" THREADX="$work/fake/threadx_robust_fails" run_template rob6.log "$src/slurm/robust.sbatch" o.h5
[ "$rc" = 1 ] && grep -qF "error: threadx robust failed (status 1); the sweep itself is complete: o.h5" rob6.log \
  || { cat rob6.log; fail "failing robust step: exit $rc"; }
rm -f o.h5 o.robust.h5 o.html
echo "ok: robust.sbatch (sweep --blocks, robust, report --robust; the missing step only on a rerun)"

# ==== GPUs ====
# threads_for VAR=VALUE... [-- SWEEP OPTIONS]: threadx_threads from the lib under that environment.
threads_for() {
  local -a vars=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do vars+=("$1"); shift; done
  [ $# = 0 ] || shift
  env "${vars[@]}" bash -c 'source "$1"; shift; extra=("$@"); threadx_threads' _ "$lib" "$@"
}
check_threads() {  # check_threads WANT VAR=VALUE... [-- OPTIONS]
  local want="$1" got
  shift
  got="$(threads_for "$@")"
  [ "$got" = "$want" ] || fail "threads with $*: got '$got', want '$want'"
}
check_threads 15 SLURM_JOB_ID=1 SLURM_CPUS_PER_TASK=16 SLURM_GPUS_PER_TASK=1
check_threads 60 SLURM_JOB_ID=1 SLURM_CPUS_ON_NODE=64 SLURM_NTASKS_PER_NODE=1 SLURM_GPUS_PER_NODE=a100:4
check_threads 15 SLURM_JOB_ID=1 SLURM_CPUS_ON_NODE=64 SLURM_NTASKS_PER_NODE=4 SLURM_GPUS_ON_NODE=4
check_threads 2 SLURM_JOB_ID=1 SLURM_CPUS_ON_NODE=8 'SLURM_TASKS_PER_NODE=2(x3)' SLURM_GPUS_ON_NODE=3
check_threads 5 SLURM_JOB_ID=1 SLURM_CPUS_PER_TASK=8 SLURM_GPUS_PER_TASK=a100:2,v100:1
check_threads 1 SLURM_JOB_ID=1 SLURM_CPUS_PER_TASK=2 SLURM_GPUS_PER_TASK=4
check_threads 4 SLURM_JOB_ID=1 SLURM_CPUS_ON_NODE=8 SLURM_TASKS_PER_NODE=2
check_threads 16 SLURM_JOB_ID=1 SLURM_CPUS_PER_TASK=16 SLURM_GPUS_PER_TASK=2 -- --devices cpu
check_threads 15 SLURM_JOB_ID=1 SLURM_CPUS_PER_TASK=16 SLURM_GPUS_PER_TASK=2 -- --devices=cpu,cuda:0
check_threads 3 SLURM_JOB_ID=1 SLURM_CPUS_PER_TASK=16 SLURM_GPUS_PER_TASK=2 THREADX_THREADS=3
check_threads "" HOME="$HOME"  # outside SLURM: threadx picks
# Each local rank's share of the node's GPUs.
check_share() {  # check_share WANT VISIBLE RANK RANKS
  local got
  got="$(bash -c 'source "$1"; threadx_gpu_share "$2" "$3" "$4"' _ "$lib" "$2" "$3" "$4")"
  [ "$got" = "$1" ] || fail "GPU share of rank $3 of $4 in '$2': got '$got', want '$1'"
}
check_share 0,1 0,1,2,3 0 2
check_share 2,3 0,1,2,3 1 2
check_share 1 0,1,2,3 1 4
check_share 0,1 0,1,2,3 0 3
check_share 3 0,1,2,3 2 3
check_share 5 4,5 3 8
check_share 0,1,2,3 0,1,2,3 0 1
# The wrapper as the launchers run it.
wrapped() { env "$@" bash "$lib" gpu-exec -- bash -c 'echo "${CUDA_VISIBLE_DEVICES-unset}"' 2> /dev/null; }
[ "$(wrapped SLURM_LOCALID=1 SLURM_STEP_TASKS_PER_NODE=2 CUDA_VISIBLE_DEVICES=4,5,6,7)" = 6,7 ] \
  || fail "srun rank 1 of 2: not bound to GPUs 6,7"
[ "$(wrapped SLURM_LOCALID=1 SLURM_NODEID=1 SLURM_STEP_TASKS_PER_NODE=4,2 CUDA_VISIBLE_DEVICES=0,1,2,3)" = 2,3 ] \
  || fail "srun rank 1 of 2 on the second node: not bound to GPUs 2,3"
[ "$(wrapped SLURM_LOCALID=1 SLURM_STEP_TASKS_PER_NODE=2 SLURM_GPUS_PER_TASK=1 CUDA_VISIBLE_DEVICES=3)" = 3 ] \
  || fail "srun --gpus-per-task: SLURM's binding changed"
[ "$(wrapped OMPI_COMM_WORLD_LOCAL_RANK=0 OMPI_COMM_WORLD_LOCAL_SIZE=2 SLURM_GPUS_PER_TASK=2 CUDA_VISIBLE_DEVICES=0,1,2,3)" = 0,1 ] \
  || fail "mpirun local rank 0 of 2: not bound to GPUs 0,1"
[ "$(wrapped SLURM_LOCALID=0 SLURM_STEP_TASKS_PER_NODE=2)" = unset ] || fail "no GPUs: CUDA_VISIBLE_DEVICES set"
# ...and tells threadx how many ranks share each of the rank's GPUs (its memory budget).
sharers() { env "$@" bash "$lib" gpu-exec -- bash -c 'echo "${THREADX_RANKS_PER_GPU-unset}"' 2> /dev/null; }
[ "$(sharers SLURM_LOCALID=1 SLURM_STEP_TASKS_PER_NODE=2 CUDA_VISIBLE_DEVICES=4,5,6,7)" = 1 ] \
  || fail "2 ranks, 4 GPUs: THREADX_RANKS_PER_GPU is not 1"
[ "$(sharers SLURM_LOCALID=5 SLURM_STEP_TASKS_PER_NODE=8 CUDA_VISIBLE_DEVICES=0,1,2)" = 3 ] \
  || fail "8 ranks, 3 GPUs: THREADX_RANKS_PER_GPU is not 3"
[ "$(sharers SLURM_LOCALID=1 SLURM_STEP_TASKS_PER_NODE=2 SLURM_GPUS_PER_TASK=1 CUDA_VISIBLE_DEVICES=3)" = 1 ] \
  || fail "srun --gpus-per-task: THREADX_RANKS_PER_GPU is not 1"
[ "$(sharers SLURM_LOCALID=0 SLURM_STEP_TASKS_PER_NODE=2)" = unset ] || fail "no GPUs: THREADX_RANKS_PER_GPU set"
# gpu.sbatch in a (made-up) job of 2 ranks on a node with 8 CPUs and 4 GPUs: srun gets the CPUs,
# threadx 4 - 2 threads per rank, each rank its own 2 GPUs.
rm -f o.h5 "$FAKE_LOG"
env SLURM_JOB_ID=43 SLURM_CPUS_ON_NODE=8 SLURM_NTASKS_PER_NODE=2 SLURM_TASKS_PER_NODE=2 \
  SLURM_GPUS_PER_NODE=4 SLURM_GPUS_ON_NODE=4 CUDA_VISIBLE_DEVICES=0,1,2,3 \
  PATH="$work/fake:$PATH" THREADX="$fakebin" \
  bash "$src/slurm/gpu.sbatch" "${plain_inputs[@]}" o.h5 > gpu.log 2>&1 || { cat gpu.log; fail "gpu.sbatch"; }
grep -qF "srun --mpi=pmix --kill-on-bad-exit=1 --cpus-per-task=4 bash $lib gpu-exec -- $fakebin sweep" "$FAKE_LOG" \
  || { cat gpu.log "$FAKE_LOG"; fail "gpu.sbatch: srun line"; }
[ "$(grep -c '^threadx sweep .* --threads 2 .*CUDA_VISIBLE_DEVICES=' "$FAKE_LOG")" = 2 ] \
  || { cat "$FAKE_LOG"; fail "gpu.sbatch: want --threads 2 on both ranks"; }
grep -q "CUDA_VISIBLE_DEVICES=0,1$" "$FAKE_LOG" && grep -q "CUDA_VISIBLE_DEVICES=2,3$" "$FAKE_LOG" \
  || { cat "$FAKE_LOG"; fail "gpu.sbatch: ranks not bound to GPUs 0,1 and 2,3"; }
grep -qF "GPUs per rank: 2; threads per rank: 2" gpu.log || { cat gpu.log; fail "gpu.sbatch: GPU plan not logged"; }
# THREADX_GPU_BIND=0: no wrapper.
rm -f o.h5 "$FAKE_LOG"
env SLURM_JOB_ID=43 SLURM_CPUS_ON_NODE=8 SLURM_NTASKS_PER_NODE=2 SLURM_GPUS_ON_NODE=4 \
  THREADX_GPU_BIND=0 PATH="$work/fake:$PATH" THREADX="$fakebin" \
  bash "$src/slurm/gpu.sbatch" "${plain_inputs[@]}" o.h5 > gpu2.log 2>&1 || { cat gpu2.log; fail "gpu.sbatch"; }
grep -q "^srun .* $fakebin sweep" "$FAKE_LOG" && ! grep -q gpu-exec "$FAKE_LOG" \
  || { cat "$FAKE_LOG"; fail "THREADX_GPU_BIND=0 still wraps"; }
echo "ok: GPUs (threads per rank, each rank's GPUs)"

# ==== behaviour, with the real binary ====
export THREADX="$bin" THREADX_LAUNCHER=none THREADX_THREADS=1
data="$src/data/BTCUSDT_15m_2023-10_2025-02.csv"
cat > grid.toml <<'TOML'
strategy = "bb_atr"
[grid]
bb_period      = [20, 30]
bb_std         = { start = 1.25, stop = 3.0, step = 0.25 }
atr_multiplier = { start = 1.0, stop = 4.5, step = 0.5 }
max_hold_bars  = { start = 25, stop = 200, step = 25 }
TOML
"$bin" sweep --data "$data" --grid grid.toml --out direct.h5 2> direct.log \
  || { cat direct.log; fail "direct run"; }

# ---- one_node.sbatch as a plain script, inputs from the environment ----
THREADX_DATA="$data" THREADX_GRID=grid.toml THREADX_OUT=one.h5 bash "$src/slurm/one_node.sbatch" \
  > one.log 2>&1 || { cat one.log; fail "one_node.sbatch"; }
grep -q "threadx-job local: complete: one.h5" one.log || fail "no complete line: $(cat one.log)"
h5diff direct.h5 one.h5 /results /results || fail "one_node.sbatch rows differ from the direct run"

# ---- long_sweep.sbatch stopped by SIGUSR1 (as --signal=B:USR1 delivers it), then resumed ----
# The scalar path on one thread: 512 combinations x 49,632 bars per unit, so the stop is mid-sweep.
bash "$src/slurm/long_sweep.sbatch" "$data" grid.toml long.h5 --isa scalar --unit-size 512 \
  > long1.log 2>&1 &
script_pid=$!
for _ in $(seq 600); do
  grep -q "running on " long1.log && break
  sleep 0.05
done
grep -q "running on " long1.log || { cat long1.log; fail "sweep did not start"; }
kill -USR1 "$script_pid"
set +e; wait "$script_pid"; rc=$?; set -e
script_pid=""
[ "$rc" = 3 ] || { cat long1.log; fail "stopped template exited $rc, want 3"; }
grep -q "SIGUSR1 received; asking the sweep" long1.log || fail "signal not forwarded"
grep -q "stopped, resumable: long.h5.partial (sweep exit status 3)" long1.log \
  || { cat long1.log; fail "no 'stopped, resumable' line"; }
[ -e long.h5.partial ] && [ ! -e long.h5 ] || fail "want only long.h5.partial after the stop"
bash "$src/slurm/long_sweep.sbatch" "$data" grid.toml long.h5 > long2.log 2>&1 \
  || { cat long2.log; fail "resumed template failed"; }
grep -q "resuming long.h5.partial" long2.log || fail "second run did not resume"
grep -q "complete: long.h5" long2.log || fail "second run did not complete"
h5diff direct.h5 long.h5 /results /results || fail "stopped and resumed rows differ"
h5diff direct.h5 long.h5 /done /done || fail "stopped and resumed done flags differ"
bash "$src/slurm/long_sweep.sbatch" "$data" grid.toml long.h5 > long3.log 2>&1 \
  || fail "run on a complete file failed"
grep -q "long.h5 is complete already; nothing to do" long3.log || fail "complete file not detected"

# ---- bad input: the sweep's one-line error, the sweep's exit status, no results file ----
printf 'strategy = "bb_atr"\n[grid]\nbb_period = [1, 20]\n' > bad.toml
set +e; bash "$src/slurm/one_node.sbatch" "$data" bad.toml bad.h5 > bad.log 2>&1; rc=$?; set -e
[ "$rc" = 1 ] || { cat bad.log; fail "bad grid: template exited $rc, want 1"; }
grep -q "bad.toml:3: key 'grid.bb_period'" bad.log || fail "bad grid error not shown: $(cat bad.log)"
grep -q "failed: sweep exit status 1" bad.log || fail "no 'failed' line"
[ ! -e bad.h5 ] && [ ! -e bad.h5.partial ] || fail "bad grid left a file"
set +e; bash "$src/slurm/one_node.sbatch" > none.log 2>&1; rc=$?; set -e
[ "$rc" = 1 ] && grep -q "DATA, GRID and OUT are required" none.log || fail "no inputs: $(cat none.log)"
echo "ok"
