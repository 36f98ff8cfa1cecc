#!/usr/bin/env bash
# A short run of scripts/kill_test.sh for ctest: 5 seeded trials of SIGKILL at random moments,
# --resume, and a bit-for-bit comparison with an uninterrupted run (see that script); then 3 more
# with --blocks 16, /blocks compared too.
#   bash tests/cli/kill_test_short.sh <threadx binary> <source dir>
set -euo pipefail
bash "$2/scripts/kill_test.sh" --bin "$1" --trials 5 --seed 1
bash "$2/scripts/kill_test.sh" --bin "$1" --trials 3 --seed 2 --blocks 16
