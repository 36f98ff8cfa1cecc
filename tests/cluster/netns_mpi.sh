#!/usr/bin/env bash
# An MPI sweep over TCP across three "nodes" (network namespaces, scripts/netns_cluster.sh; mpirun
# in the root namespace starts one rank per node through the launcher agent, no sshd):
#   - the results file is bit-identical (/results, /done) to a single-process run;
#   - the ranks ran on three different hosts, thxtest-node1..3 (the file's rank_hosts and the
#     end-of-run table) and each rank computed combinations;
#   - the same with the rows written by the ranks (--write-path ranks), one part file per node.
# Everything started is torn down on exit (tests/cluster/lib.sh).
# usage: netns_mpi.sh THREADX SOURCE_DIR [MPIRUN]
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "$0")/lib.sh"

reference_run long_23328.toml

cluster_up
all="$(hostfile 1 2 3)"

# The agent alone: a command on each node sees its own hostname, address and scratch TMPDIR.
for k in 1 2 3; do
  # shellcheck disable=SC2016  # expanded on the node, like a command sent over ssh
  got="$("$state/agent" "10.77.0.1$k" 'echo $(hostname) $TMPDIR; ip -4 -o addr show eth0')"
  [[ "$got" == "thxtest-node$k $state/node$k/tmp"*"10.77.0.1$k/24"* ]] \
    || fail "agent on node $k: got '$got'"
done
[ "$(hostname)" != thxtest-node1 ] || fail "the machine's own hostname was changed"
note "agent: each node has its own hostname, address and TMPDIR; the machine's hostname is $(hostname)"

t0="$(date +%s.%N)"
mpi 300 "$all" 3 "$bin" sweep --data "$long" --grid grid.toml --out n3.h5 --threads 1 \
  --unit-size 96 > n3.log 2>&1 || fail "mpirun -np 3 over the three nodes"
note "3-node sweep (mpirun wall time, with start-up): $(elapsed "$t0") s; sweep: $(attr n3.h5 wall_seconds) s"
check_same n3.h5 ref.h5
[ "$(attr n3.h5 ranks)" = 3 ] || fail "ranks attribute is $(attr n3.h5 ranks), not 3"
hosts="$(attr n3.h5 rank_hosts)"
[ "$hosts" = "thxtest-node1,thxtest-node2,thxtest-node3" ] \
  || fail "rank_hosts is '$hosts', want one rank on each of thxtest-node1..3"
combos="$(attr n3.h5 rank_combinations | tr -d '[] ')"
IFS=, read -r -a c <<< "$combos"
sum=0
for r in 0 1 2; do
  [ "${c[$r]:-0}" -gt 0 ] || fail "rank $r computed no combination (rank_combinations [$combos])"
  sum=$((sum + c[r]))
done
[ "$sum" = "$total" ] || fail "per-rank combinations add up to $sum, not $total"
# The end-of-run table names the same hosts, one per rank.
table="$(sed 's/\x1b\[[0-9;]*m//g' n3.log | grep -E '^ +[0-9]+ thxtest-node[0-9] ')" \
  || fail "no per-rank table with node hostnames in the log"
[ "$(awk '{print $1 ":" $2}' <<< "$table" | paste -sd' ')" = "0:thxtest-node1 1:thxtest-node2 2:thxtest-node3" ] \
  || fail "per-rank table: $table"
note "ok: 3 ranks on 3 nodes ($hosts), combinations per rank [$combos]; /results and /done equal the single-process run"

# Rows written by the ranks: each node's rank stores its chunks in its own part file (the nodes
# share this directory, as cluster nodes share a file system); the joined file is the same.
mpi 300 "$all" 3 "$bin" sweep --data "$long" --grid grid.toml --out r3.h5 --threads 1 \
  --unit-size 96 --write-path ranks > r3.log 2>&1 || fail "mpirun -np 3 --write-path ranks over the three nodes"
check_same r3.h5 ref.h5
[ "$(attr r3.h5 rank_hosts)" = "thxtest-node1,thxtest-node2,thxtest-node3" ] || fail "r3.h5: rank_hosts $(attr r3.h5 rank_hosts)"
parts="$(find r3.h5.parts -name '*-r[0-9]*.h5' | wc -l)"
[ "$parts" = 3 ] || fail "--write-path ranks: $parts part files, want one per node's rank"
note "ok: --write-path ranks on 3 nodes: $parts part files, /results and /done equal the single-process run"
echo "ok: netns_mpi"
