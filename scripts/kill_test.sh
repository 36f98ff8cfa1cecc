#!/usr/bin/env bash
# Kill test: a sweep SIGKILLed at random moments loses nothing and corrupts nothing.
#
# Runs one uninterrupted reference sweep, then for each trial: starts the same sweep, SIGKILLs it
# (by pid) after a random delay, in half of the trials also SIGKILLs the --resume that follows,
# then finishes the run (--resume, or a fresh start if the kill came before the results file
# existed) and checks that
#   - /results and /done equal the reference bit for bit (raw bytes dumped with `h5dump -b`
#     compared with cmp, and h5diff without tolerance), and so do /aggregates (and /kept),
#   - `threadx info` says complete: 1 with every row done,
#   - nothing else is left in the output directory (no .partial, no .creating).
# Delays are drawn from a seeded generator (bash RANDOM), uniform over 0..1.2 x the reference's
# wall time, so a given --seed kills at the same offsets (the program's progress at those offsets
# still depends on machine load).
#
#   bash scripts/kill_test.sh [--trials N] [--seed S] [--bin build/threadx] [--keep DIR]
#                             [--threads T] [--unit-size U] [--mpi N] [--grid FILE] [--blocks S]
#                             [--compress L] [--chunk-rows R] [--keep-rows SPEC]
#                             [--write-path ranks]
#   --grid FILE: the grid swept on the 49,632-bar file (default tests/grids/mid_34560.toml:
#            34,560 combinations, about 1.3 s of one core with SIMD lanes, 270 units of 128).
#   --mpi N: run every sweep as `mpirun --allow-run-as-root --oversubscribe -np N threadx ...` and
#            kill one non-zero rank (a child of mpirun found through /proc by its
#            OMPI_COMM_WORLD_RANK) instead of the whole program; the reference is a plain
#            single-process run (rows must not depend on the rank count).
#   --blocks S: every sweep records S per-block statistics; /blocks is compared like /results.
#   --compress L: the sweeps' --compress (default: the sweep's own, deflate level 1; 0 = rows
#            written uncompressed, unit by unit).
#   --chunk-rows R: the sweeps' --chunk-rows (small chunks: many chunk writes and flushes to kill).
#   --keep-rows SPEC: the sweeps' --keep (none or top:K:METRIC...): no /results or /done; the run
#            is checkpointed at each flush and resumed from its last checkpoint.
#   --write-path ranks: the killed sweeps store their rows in part files (OUT.parts/, joined by
#            virtual datasets at the end); the reference is rank 0's path: the values must agree.
# Prints one line per trial and "kill test: P/N trials passed"; exit status 0 only if all passed.
set -euo pipefail
cd "$(dirname "$0")/.."
src="$PWD"

trials=20 seed=1 bin=build/threadx keep="" threads=1 unit_size=128 mpi=0 blocks=0 compress= chunk_rows=
keep_rows=all write_path=
grid="$src/tests/grids/mid_34560.toml"
while [ $# -gt 0 ]; do
  case "$1" in
    --trials) trials="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --unit-size) unit_size="$2"; shift 2 ;;
    --mpi) mpi="$2"; shift 2 ;;
    --grid) grid="$(realpath "$2")"; shift 2 ;;
    --blocks) blocks="$2"; shift 2 ;;
    --compress) compress="$2"; shift 2 ;;
    --chunk-rows) chunk_rows="$2"; shift 2 ;;
    --keep-rows) keep_rows="$2"; shift 2 ;;
    --write-path) write_path="$2"; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "kill_test.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
bin="$(realpath "$bin")"
[ -x "$bin" ] || { echo "kill_test.sh: no threadx binary at $bin (build first)" >&2; exit 2; }
[ -f "$grid" ] || { echo "kill_test.sh: no grid file at $grid" >&2; exit 2; }
if [ -n "$keep" ]; then work="$keep"; rm -rf "$work"; mkdir -p "$work"; work="$(realpath "$work")"
else work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT; fi
cd "$work"

data="$src/data/BTCUSDT_15m_2023-10_2025-02.csv"
cp "$grid" grid.toml
args=(--data "$data" --grid grid.toml --threads "$threads" --unit-size "$unit_size" --flush-interval 0.05)
if [ "$blocks" -gt 0 ]; then args+=(--blocks "$blocks"); fi
if [ -n "$compress" ]; then args+=(--compress "$compress"); fi
if [ -n "$chunk_rows" ]; then args+=(--chunk-rows "$chunk_rows"); fi
args+=(--keep "$keep_rows")
# The reference stores its rows the default way; the runs killed, as asked.
ref_args=("${args[@]}")
if [ -n "$write_path" ]; then args+=(--write-path "$write_path"); fi
launcher=()
if [ "$mpi" -gt 0 ]; then launcher=(mpirun --allow-run-as-root --oversubscribe -np "$mpi"); fi

now_ms() { date +%s%3N; }
# raw <file> <dataset>: the dataset's bytes (native layout) on stdout.
raw() { local t; t="$(mktemp -p "$work")"; h5dump -b NATIVE -o "$t" -d "$2" "$1" > /dev/null; cat "$t"; rm -f "$t"; }

t0="$(now_ms)"
"$bin" -q sweep "${ref_args[@]}" --out reference.h5
ref_ms=$(( $(now_ms) - t0 ))
if [ "$keep_rows" = all ]; then
  raw reference.h5 /results > reference.results.bin
  raw reference.h5 /done > reference.done.bin
fi
if [ "$blocks" -gt 0 ]; then raw reference.h5 /blocks > reference.blocks.bin; fi
combos="$("$bin" info reference.h5 | sed -n 's/^combinations: //p')"
if [ "$mpi" -gt 0 ]; then
  # Kill delays span the mpirun run, start-up included (rank start and MPI init take ~0.3-1 s).
  t0="$(now_ms)"
  "${launcher[@]}" "$bin" -q sweep "${args[@]}" --out timing.h5
  ref_ms=$(( $(now_ms) - t0 ))
  rm -f timing.h5
fi
echo "reference: $combos combinations$( [ "$blocks" -gt 0 ] && echo " with $blocks blocks"), --keep $keep_rows$( [ -n "$write_path" ] && echo ", killed runs with --write-path $write_path"), in ${ref_ms} ms ($( [ "$mpi" -gt 0 ] && echo "under mpirun -np $mpi" || echo "threads $threads"), unit size $unit_size)"

RANDOM="$seed"
rand_ms() { echo $(( (RANDOM * 32768 + RANDOM) % ($1 + 1) )); }  # uniform 0..$1

# The pid to SIGKILL for a run started as $1: itself, or under --mpi one rank != 0 (a child of
# mpirun whose environment says OMPI_COMM_WORLD_RANK=k, k > 0). Empty if none is running yet.
victim() {
  local top="$1"
  if [ "$mpi" -eq 0 ]; then echo "$top"; return; fi
  local level=("$top") next parent p rank
  for _ in 1 2 3 4; do  # descendants of mpirun, breadth first
    next=()
    for parent in "${level[@]}"; do
      for p in $(ps -o pid= --ppid "$parent" 2> /dev/null); do
        rank="$(tr '\0' '\n' < "/proc/$p/environ" 2> /dev/null | sed -n 's/^OMPI_COMM_WORLD_RANK=//p')"
        if [ -n "$rank" ] && [ "$rank" != 0 ]; then echo "$p"; return; fi
        next+=("$p")
      done
    done
    [ ${#next[@]} -gt 0 ] || return 0
    level=("${next[@]}")
  done
}

# run_and_kill <delay ms> <sweep args...>: starts the sweep, SIGKILLs it (or one rank) after the
# delay unless it has finished; prints what happened.
run_and_kill() {
  local delay="$1"; shift
  "${launcher[@]}" "$bin" -q sweep "$@" > /dev/null 2>> trial.log &
  local top=$!
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  local v; v="$(victim "$top")"
  if [ -n "$v" ] && kill -0 "$v" 2> /dev/null && kill -KILL "$v" 2> /dev/null; then
    wait "$top" 2> /dev/null || true
    echo "killed"
  else
    wait "$top" 2> /dev/null || true
    echo "finished"
  fi
}

# done_count <file>: "N" done rows of a results file, or "-" if there is none ("?" with --keep
# none or top, whose checkpoints only threadx reads).
done_count() {
  [ -e "$1" ] || { echo "-"; return; }
  [ "$keep_rows" = all ] || { echo "?"; return; }
  "$bin" info "$1" 2> /dev/null | sed -n 's/^rows: [0-9]* (\([0-9]*\) done).*/\1/p' | grep . || echo "unreadable"
}

passed=0
for trial in $(seq 1 "$trials"); do
  rm -rf out trial.log; mkdir out
  d1="$(rand_ms $((ref_ms * 12 / 10)))"
  again=$((RANDOM % 2))
  d2="$(rand_ms $((ref_ms * 6 / 10)))"
  what="kill after ${d1} ms: $(run_and_kill "$d1" "${args[@]}" --out out/r.h5)"
  what+=", saved $(done_count out/r.h5.partial)"
  if [ "$again" = 1 ] && [ -e out/r.h5.partial ]; then
    what+="; resume killed after ${d2} ms: $(run_and_kill "$d2" "${args[@]}" --out out/r.h5 --resume)"
    what+=", saved $(done_count out/r.h5.partial)"
  fi
  ok=1
  if [ -e out/r.h5 ] && [ ! -e out/r.h5.partial ]; then
    # Finished before the kill, or killed between storing r.h5 and exiting: such a kill leaves the
    # run's lock file behind (unlocked and harmless: the next run takes it and removes it), the
    # only file a killed run may leave.
    case "$what" in *": killed"*) rm -f out/r.h5.lock ;; esac
  elif [ -e out/r.h5.partial ]; then
    "${launcher[@]}" "$bin" -q sweep "${args[@]}" --out out/r.h5 --resume 2>> trial.log || { ok=0; what+="; RESUME FAILED"; }
  else
    # Killed before the results file existed (loading, or while it was being created).
    "${launcher[@]}" "$bin" -q sweep "${args[@]}" --out out/r.h5 2>> trial.log || { ok=0; what+="; FRESH START FAILED"; }
  fi
  if [ "$ok" = 1 ]; then
    if ! h5dump -a /complete out/r.h5 2> /dev/null | grep -q '(0): 1$'; then ok=0; what+="; NOT COMPLETE"; fi
    if [ "$keep_rows" = all ]; then
      if ! "$bin" info out/r.h5 2> /dev/null | grep -qx "rows: $combos ($combos done)"; then ok=0; what+="; NOT ALL DONE"; fi
      if ! cmp -s <(raw out/r.h5 /results) reference.results.bin; then ok=0; what+="; /results BYTES DIFFER"; fi
      if ! cmp -s <(raw out/r.h5 /done) reference.done.bin; then ok=0; what+="; /done BYTES DIFFER"; fi
      if ! h5diff -q reference.h5 out/r.h5 /results /results; then ok=0; what+="; H5DIFF /results"; fi
    elif [[ "$keep_rows" == top* ]] && ! h5diff -q reference.h5 out/r.h5 /kept /kept; then
      ok=0; what+="; H5DIFF /kept"
    fi
    if ! h5diff -q reference.h5 out/r.h5 /aggregates /aggregates; then ok=0; what+="; H5DIFF /aggregates"; fi
    if [ "$blocks" -gt 0 ] && ! cmp -s <(raw out/r.h5 /blocks) reference.blocks.bin; then
      ok=0; what+="; /blocks BYTES DIFFER"
    fi
    left="$(find out -mindepth 1 -maxdepth 1 ! -name r.h5 ! -name r.h5.parts -printf '%f ' || true)"
    if [ -n "$left" ]; then ok=0; what+="; LEFT $left"; fi
  fi
  if [ "$ok" = 1 ]; then passed=$((passed + 1)); echo "trial $trial: ok ($what)"
  else echo "trial $trial: FAILED ($what)"; sed 's/^/    /' trial.log | tail -5; fi
done
echo "kill test: $passed/$trials trials passed (seed $seed$( [ "$mpi" -gt 0 ] && echo ", mpirun -np $mpi, one rank killed"))"
[ "$passed" = "$trials" ]
