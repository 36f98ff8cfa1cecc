#!/usr/bin/env bash
# Fails when a file of the engine (src/) includes MPI or CUDA headers: those belong to mpi/ and gpu/.
set -euo pipefail
src=${1:?usage: check_core_includes.sh SRC_DIR}
if hits=$(grep -rnE '#\s*include\s*[<"](mpi\.h|cuda[a-z_]*\.h|cuda_runtime[a-z_]*\.h)' "$src"); then
  echo "engine includes MPI/CUDA headers:"; echo "$hits"; exit 1
fi
echo "ok: no MPI or CUDA header under $src"
