#!/usr/bin/env bash
# A short run of scripts/kill_test.sh for ctest: 5 seeded trials of SIGKILL at random moments,
# --resume, and a bit-for-bit comparison with an uninterrupted run (see that script); then 3 more
# with --blocks 16, /blocks compared too; 4 with chunks of 512 rows (68 chunk writes and flushes
# to land in); then 3 with --compress 0 (rows written uncompressed, unit by unit); then 3 with
# --keep top:... and 2 with --keep none (no rows: resumed from the last summary checkpoint; the
# aggregates and kept rows compared); then 4 with --write-path ranks and --blocks 4 (rows in part
# files, joined by virtual datasets: compared with rank 0's file).
#   bash tests/cli/kill_test_short.sh <threadx binary> <source dir>
set -euo pipefail
bash "$2/scripts/kill_test.sh" --bin "$1" --trials 5 --seed 1
bash "$2/scripts/kill_test.sh" --bin "$1" --trials 3 --seed 2 --blocks 16
bash "$2/scripts/kill_test.sh" --bin "$1" --trials 4 --seed 4 --chunk-rows 512
bash "$2/scripts/kill_test.sh" --bin "$1" --trials 3 --seed 3 --compress 0
bash "$2/scripts/kill_test.sh" --bin "$1" --trials 3 --seed 5 --keep-rows top:100:sharpe,top:20:trades
bash "$2/scripts/kill_test.sh" --bin "$1" --trials 2 --seed 6 --keep-rows none
bash "$2/scripts/kill_test.sh" --bin "$1" --trials 4 --seed 7 --write-path ranks --blocks 4
