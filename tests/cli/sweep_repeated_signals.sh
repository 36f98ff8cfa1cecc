#!/usr/bin/env bash
# Stop signals as a batch system delivers them: SLURM signals every process of a job and srun or
# mpirun forward the signal again, so a sweep often gets SIGTERM/SIGUSR1 more than once. Repeated
# SIGTERM/SIGUSR1 must still give a clean stop (exit 3, resumable); only SIGINT twice exits at
# once — and even then the .partial file resumes to a complete file.
set -euo pipefail
bin="$1"; src="$2"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
data="$src/data/BTCUSDT_15m_2023-10_2025-02.csv"
fail() { echo "FAIL: $*" >&2; exit 1; }

# Two key groups of 4,096 combinations, scalar lanes on one thread: ~3.5 s of work over 49,632
# bars, in batches of 0.1-0.5 s, so the signals land while a batch is in flight.
cat > "$work/g.toml" <<'TOML'
strategy = "bb_atr"
[grid]
bb_period      = [20, 30]
bb_std         = { start = 1.25, stop = 3.0, step = 0.25 }
atr_multiplier = { start = 1.0, stop = 4.5, step = 0.5 }
max_hold_bars  = { start = 25, stop = 200, step = 25 }
spacing_bars   = { start = 0, stop = 14, step = 2 }
TOML

start_sweep() {  # start_sweep NAME: a slow sweep in the background, pid in $pid, once it runs units
  "$bin" sweep --data "$data" --grid "$work/g.toml" --out "$work/$1.h5" --threads 1 \
    --isa scalar 2> "$work/$1.log" &
  pid=$!
  for _ in $(seq 600); do
    grep -q "running on 1 rank" "$work/$1.log" && return 0
    kill -0 "$pid" 2> /dev/null || { cat "$work/$1.log"; fail "$1: sweep ended early"; }
    sleep 0.05
  done
  fail "$1: sweep did not start"
}

resume_to_complete() {  # resume_to_complete NAME
  "$bin" sweep --data "$data" --grid "$work/g.toml" --out "$work/$1.h5" --resume \
    2> "$work/$1.resume.log" || { cat "$work/$1.resume.log"; fail "$1: resume failed"; }
  "$bin" info "$work/$1.h5" | grep -q "^complete: 1$" || fail "$1: resumed file not complete"
  "$bin" info "$work/$1.h5" | grep -q "^rows: 8192 (8192 done)$" || fail "$1: rows after resume"
}

# signal_run NAME SIG...: starts a sweep and sends the signals 20 ms apart while it runs units.
# Returns 1 when the sweep ended before the last signal (a batch in flight finished within the
# gap; batches last ~0.1-0.5 s, so rarely): that attempt says nothing, the caller tries again.
signal_run() {
  local name="$1"; shift
  rm -f "$work/$name.h5" "$work/$name.h5.partial"
  start_sweep "$name"
  sleep 0.3  # past the first (calibration) batches: later ones last ~0.5 s
  local first=1
  for sig in "$@"; do
    [ "$first" = 1 ] || sleep 0.02
    first=0
    if ! kill "-$sig" "$pid" 2> /dev/null; then
      wait "$pid" || true
      echo "note: $name: sweep ended before SIG$sig, trying again" >&2
      return 1
    fi
  done
}
attempts() {  # attempts NAME SIG...: signal_run until one attempt delivers every signal
  for _ in 1 2 3 4 5; do signal_run "$@" && return 0; done
  fail "$1: the sweep ended before the signals five times"
}

# ---- SIGTERM, SIGUSR1, SIGTERM: one clean stop ----
attempts term TERM USR1 TERM
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" = 3 ] || { cat "$work/term.log"; fail "repeated SIGTERM/SIGUSR1: exit $rc, want 3"; }
grep -q "second signal" "$work/term.log" && fail "repeated SIGTERM/SIGUSR1 treated as 'out now'"
grep -q "with --resume to finish" "$work/term.log" || fail "no resume hint"
[ -e "$work/term.h5.partial" ] && [ ! -e "$work/term.h5" ] || fail "want only term.h5.partial"
resume_to_complete term

# ---- SIGINT twice: out at once, still resumable ----
attempts int INT INT
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" = 130 ] || { cat "$work/int.log"; fail "SIGINT twice: exit $rc, want 130"; }
grep -q "second signal, exiting immediately" "$work/int.log" || fail "no 'second signal' line"
[ -e "$work/int.h5.partial" ] || fail "SIGINT twice left no .partial file"
resume_to_complete int
h5diff "$work/term.h5" "$work/int.h5" /results /results || fail "the two resumed files differ"
echo "ok"
