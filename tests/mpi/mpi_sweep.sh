#!/usr/bin/env bash
# The MPI sweep on the real BTC bars, checked against a single-process run bit for bit (h5diff
# compares values exactly unless given a tolerance), /results and the per-block statistics /blocks:
#   - mpirun -np 1, 2, 3, 4 (oversubscribed on small machines), each with another unit size;
#   - per-rank accounting in the file: every rank's combinations add up, and with 4 ranks each
#     rank builds far fewer indicator series than the units it ran (affinity);
#   - rows written by the ranks (--write-path ranks): the same values, over part files;
#   - a worker rank SIGKILLed mid-sweep: the job fails naming the rank, --resume on 2 ranks
#     completes the file bit-identically (also with --write-path ranks);
#   - the whole job SIGKILLed: --resume without MPI completes it bit-identically.
# usage: mpi_sweep.sh THREADX SOURCE_DIR [MPIRUN]
set -euo pipefail
bin="$1"; src="$2"; mpirun="${3:-mpirun}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# In a sanitizer build: OpenMPI's own allocations left at exit (in MCA components it unloads) show
# up as leaks of unknown modules; the engine's leaks are checked by the single-process tests.
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
work="$(mktemp -d)"
job=""
cleanup() {
  # Only the processes this test started: the mpirun it launched and that mpirun's children.
  if [ -n "$job" ] && kill -0 "$job" 2>/dev/null; then
    for p in $(ps -o pid= --ppid "$job"); do kill -9 "$p" 2>/dev/null || true; done
    kill -9 "$job" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
short="$src/data/BTCUSDT_15m_2024-12-01_2024-12-10.csv"
long="$src/data/BTCUSDT_15m_2023-10_2025-02.csv"
mpi() { timeout -k 10 600 "$mpirun" --bind-to none "$@"; }

cp "$src/tests/grids/mpi_21870.toml" "$work/grid.toml"
total=21870

attr() { "$bin" info "$1" | sed -n "s/^$2: //p"; }
sum_array() { tr -d '[] ' | tr ',' '\n' | awk '{s += $1} END {print s}'; }

"$bin" -q sweep --data "$short" --grid "$work/grid.toml" --blocks 8 --out "$work/ref.h5" \
  || fail "single-process reference run"
[ "$(attr "$work/ref.h5" combinations)" = "$total" ] || fail "grid is not $total combinations"

# ---- 1..4 ranks, several unit sizes: identical rows ----
declare -A unit=([1]=4096 [2]=100 [3]=37 [4]=64)
for np in 1 2 3 4; do
  out="$work/np$np.h5"
  mpi -np "$np" "$bin" sweep --data "$short" --grid "$work/grid.toml" --blocks 8 --out "$out" \
    --unit-size "${unit[$np]}" > "$work/np$np.log" 2>&1 || { cat "$work/np$np.log"; fail "mpirun -np $np"; }
  h5diff "$work/ref.h5" "$out" /results || fail "-np $np: /results differ from the single-process run"
  h5diff "$work/ref.h5" "$out" /blocks || fail "-np $np: /blocks differ from the single-process run"
  h5diff "$work/ref.h5" "$out" /done || fail "-np $np: /done differs"
  [ "$(attr "$out" ranks)" = "$np" ] || fail "-np $np: ranks attribute is $(attr "$out" ranks)"
  [ "$(attr "$out" complete)" = 1 ] || fail "-np $np: not complete"
  got=$(attr "$out" rank_combinations | sum_array)
  [ "$got" = "$total" ] || fail "-np $np: per-rank combinations add up to $got, not $total"
  echo "ok: mpirun -np $np --unit-size ${unit[$np]} equals the single-process run"
done

# ---- rows written by the ranks (--write-path ranks): every rank stores its own chunks in a part
# file; /results and /blocks become virtual datasets over them, with the single-process values ----
out="$work/ranks3.h5"
mpi -np 3 "$bin" sweep --data "$short" --grid "$work/grid.toml" --blocks 8 --out "$out" \
  --unit-size 37 --write-path ranks > "$work/ranks3.log" 2>&1 || { cat "$work/ranks3.log"; fail "mpirun -np 3 --write-path ranks"; }
for d in /results /blocks /done; do
  h5diff "$work/ref.h5" "$out" "$d" || fail "--write-path ranks, -np 3: $d differs from the single-process run"
done
[ "$(attr "$out" write_path)" = ranks ] || fail "--write-path ranks: write_path is $(attr "$out" write_path)"
"$bin" info "$out" | grep -q "^storage: virtual, over [23] part file" || fail "--write-path ranks: $("$bin" info "$out" | grep storage)"
echo "ok: mpirun -np 3 --write-path ranks equals the single-process run ($(ls "$out.parts" | wc -l) part files)"

# ---- a slice (--ids) on 3 ranks: the single-process slice's rows and aggregates, kept whole and
# as its top rows (every rank cuts the aggregates' blocks at the slice's ends) ----
"$bin" -q sweep --data "$short" --grid "$work/grid.toml" --ids 1000:9999 --out "$work/slice1.h5" \
  || fail "single-process slice"
for keep in all top:50:sharpe; do
  out="$work/slice3_${keep%%:*}.h5"
  mpi -np 3 "$bin" sweep --data "$short" --grid "$work/grid.toml" --ids 1000:9999 --keep "$keep" \
    --unit-size 37 --out "$out" > "$work/slice.log" 2>&1 || { cat "$work/slice.log"; fail "slice, -np 3, --keep $keep"; }
  h5diff "$work/slice1.h5" "$out" /aggregates /aggregates || fail "slice, -np 3, --keep $keep: aggregates differ"
  [ "$(attr "$out" complete)" = 1 ] || fail "slice, -np 3, --keep $keep: not complete"
done
h5diff "$work/slice1.h5" "$work/slice3_all.h5" /results || fail "slice, -np 3: rows differ"
echo "ok: a slice on 3 ranks has the single-process slice's rows and aggregates"

# ---- affinity and kill tests on the 49,632-bar file (long enough to be interrupted) ----
cp "$src/tests/grids/kill_217728.toml" "$work/big.toml"
"$bin" -q sweep --data "$long" --grid "$work/big.toml" --blocks 4 --out "$work/bigref.h5" --threads 2 \
  || fail "reference run on the long file"

# ---- affinity: with 4 ranks, series built per rank << units run per rank ----
mpi -np 4 "$bin" -q sweep --data "$long" --grid "$work/big.toml" --blocks 4 --out "$work/aff.h5" \
  --threads 1 --unit-size 32 || fail "mpirun -np 4 on the long file"
h5diff "$work/bigref.h5" "$work/aff.h5" /results || fail "-np 4, long file: rows differ"
h5diff "$work/bigref.h5" "$work/aff.h5" /blocks || fail "-np 4, long file: blocks differ"
units=$(attr "$work/aff.h5" rank_units | tr -d '[] ')
built=$(attr "$work/aff.h5" rank_series_built | tr -d '[] ')
IFS=, read -r -a u <<< "$units"; IFS=, read -r -a b <<< "$built"
for i in 0 1 2 3; do
  [ "${u[$i]}" -gt 0 ] || fail "rank $i ran no unit (units: $units)"
  [ $(( b[i] * 3 )) -le "${u[$i]}" ] || fail "rank $i built ${b[$i]} series for ${u[$i]} units (units: $units, built: $built)"
done
echo "ok: affinity, units per rank [$units], series built per rank [$built]"


# Starts an mpirun job in the background ($job) and waits for its first progress line.
start_job() {  # start_job LOG NP ARGS...
  local log="$1" np="$2"; shift 2
  "$mpirun" --bind-to none -np "$np" "$bin" sweep --data "$long" --grid "$work/big.toml" --blocks 4 \
    --threads 1 --unit-size 96 --progress-interval 0.3 --flush-interval 0.2 "$@" > "$log" 2>&1 &
  job=$!
  for _ in $(seq 1 600); do
    grep -q "progress" "$log" && return 0
    kill -0 "$job" 2>/dev/null || { cat "$log"; fail "job ended before any progress"; }
    sleep 0.1
  done
  fail "no progress after 60 s"
}
rank_pid() {  # rank_pid RANK: the pid of that rank among mpirun's children
  local p
  for p in $(ps -o pid= --ppid "$job"); do
    if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1"; then
      echo "$p"; return 0
    fi
  done
  return 1
}

# A worker rank dies.
start_job "$work/kill1.log" 3 --out "$work/k1.h5"
victim=$(rank_pid 1) || fail "rank 1 not found among mpirun's children"
kill -9 "$victim"
if wait "$job"; then fail "the job succeeded although rank 1 was killed"; fi
job=""
grep -Eq "rank 1 .*(exited on signal 9|Killed)|process rank 1" "$work/kill1.log" \
  || { cat "$work/kill1.log"; fail "no message naming the lost rank"; }
[ ! -e "$work/k1.h5" ] || fail "the job completed before rank 1 was killed: the workload is too small for this machine"
[ -f "$work/k1.h5.partial" ] || fail "killed job: no k1.h5.partial left to resume"
mpi -np 2 "$bin" -q sweep --data "$long" --grid "$work/big.toml" --blocks 4 --out "$work/k1.h5" --resume \
  || fail "resume on 2 ranks"
h5diff "$work/bigref.h5" "$work/k1.h5" /results || fail "resumed after a lost rank: rows differ"
h5diff "$work/bigref.h5" "$work/k1.h5" /blocks || fail "resumed after a lost rank: blocks differ"
echo "ok: a killed worker rank stops the job ($(grep -m1 -Eo 'process rank 1[^.]*' "$work/kill1.log" || true)); --resume on 2 ranks is bit-identical"

# The same with the rows written by the ranks, the killed rank's part file lost as well: the other
# part files keep the chunks they reported (readable again once --resume clears the mark the
# killed job left); --resume on 2 ranks adds part files of its own; the file is bit-identical.
start_job "$work/kill1r.log" 3 --out "$work/k1r.h5" --write-path ranks
victim=$(rank_pid 1) || fail "rank 1 not found among mpirun's children"
kill -9 "$victim"
if wait "$job"; then fail "the job succeeded although rank 1 was killed (--write-path ranks)"; fi
job=""
[ -f "$work/k1r.h5.partial" ] || fail "killed job (--write-path ranks): no partial file left to resume"
if "$bin" top "$work/k1r.h5.partial" > "$work/top.log" 2>&1; then fail "top read the rows of a run not ended"; fi
grep -q -- "has not ended (--resume it)" "$work/top.log" || fail "top on a run not ended: $(cat "$work/top.log")"
# The killed rank's part file is lost too (a node's disk): its chunks are computed again.
rm "$work/k1r.h5.parts/"*-r1.h5
mpi -np 2 "$bin" -q sweep --data "$long" --grid "$work/big.toml" --blocks 4 --out "$work/k1r.h5" --resume \
  || fail "resume on 2 ranks (--write-path ranks)"
h5diff "$work/bigref.h5" "$work/k1r.h5" /results || fail "--write-path ranks, resumed after a lost rank: rows differ"
h5diff "$work/bigref.h5" "$work/k1r.h5" /blocks || fail "--write-path ranks, resumed after a lost rank: blocks differ"
h5diff "$work/bigref.h5" "$work/k1r.h5" /done || fail "--write-path ranks, resumed after a lost rank: /done differs"
sessions=$(ls "$work/k1r.h5.parts" | sed 's/-r[0-9]*\.h5$//' | sort -u | wc -l)
[ "$sessions" = 2 ] || fail "--write-path ranks, resumed: part files of $sessions runs, expected both runs': $(ls "$work/k1r.h5.parts")"
echo "ok: --write-path ranks, a killed worker rank; --resume on 2 ranks is bit-identical, over the part files of both runs"

# The whole job is SIGKILLed (ranks first, then mpirun, as a node loss would).
start_job "$work/kill2.log" 3 --out "$work/k2.h5"
for p in $(ps -o pid= --ppid "$job"); do kill -9 "$p" 2>/dev/null || true; done
kill -9 "$job" 2>/dev/null || true
wait "$job" 2>/dev/null || true
job=""
[ -f "$work/k2.h5.partial" ] || fail "no partial file after SIGKILL"
"$bin" -q sweep --data "$long" --grid "$work/big.toml" --blocks 4 --out "$work/k2.h5" --resume \
  || fail "resume without MPI"
h5diff "$work/bigref.h5" "$work/k2.h5" /results || fail "resumed after SIGKILL: rows differ"
h5diff "$work/bigref.h5" "$work/k2.h5" /blocks || fail "resumed after SIGKILL: blocks differ"
echo "ok: the whole job SIGKILLed; --resume without MPI is bit-identical"

# SIGUSR1 to mpirun (what a SLURM --signal forwards): every rank stops cleanly, exit 3, resumable.
start_job "$work/usr1.log" 3 --out "$work/k3.h5"
kill -USR1 "$job"
rc=0; wait "$job" || rc=$?
job=""
[ "$rc" = 3 ] || { cat "$work/usr1.log"; fail "SIGUSR1: exit status $rc, expected 3"; }
grep -q "stopped, resumable" "$work/usr1.log" || fail "SIGUSR1: no 'stopped, resumable' line"
grep -q "second signal" "$work/usr1.log" && fail "SIGUSR1: a rank was killed by a second signal"
mpi -np 2 "$bin" -q sweep --data "$long" --grid "$work/big.toml" --blocks 4 --out "$work/k3.h5" --resume \
  || fail "resume after SIGUSR1"
h5diff "$work/bigref.h5" "$work/k3.h5" /results || fail "resumed after SIGUSR1: rows differ"
h5diff "$work/bigref.h5" "$work/k3.h5" /blocks || fail "resumed after SIGUSR1: blocks differ"
echo "ok: SIGUSR1 stops every rank cleanly (exit 3); --resume is bit-identical"

# A hung rank (SIGSTOP: MPI itself never notices): rank 0 gives up after the bound, exit 4.
start_job "$work/hang.log" 3 --out "$work/k4.h5" --rank-timeout 3
victim=$(rank_pid 2) || fail "rank 2 not found among mpirun's children"
kill -STOP "$victim"
t0=$(date +%s)
rc=0; wait "$job" || rc=$?
job=""
secs=$(( $(date +%s) - t0 ))
[ "$rc" = 4 ] || { cat "$work/hang.log"; fail "hung rank: exit status $rc, expected 4"; }
grep -q "rank 2 (host .*) has sent nothing for" "$work/hang.log" \
  || { cat "$work/hang.log"; fail "hung rank: no message naming rank 2"; }
kill -9 "$victim" 2>/dev/null || true
mpi -np 2 "$bin" -q sweep --data "$long" --grid "$work/big.toml" --blocks 4 --out "$work/k4.h5" --resume \
  || fail "resume after a hung rank"
h5diff "$work/bigref.h5" "$work/k4.h5" /results || fail "resumed after a hung rank: rows differ"
h5diff "$work/bigref.h5" "$work/k4.h5" /blocks || fail "resumed after a hung rank: blocks differ"
echo "ok: a hung rank ends the job in ${secs} s (exit 4); --resume is bit-identical"
