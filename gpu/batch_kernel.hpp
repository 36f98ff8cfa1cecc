// One batch of work for a one-combination-per-thread device: the pieces (sub-units, possibly of
// different key groups) laid end to end, thread t runs combination t of the batch. The thread
// body is a template over the strategy policy P (strategies/<name>/policy.hpp), compiled
// unchanged for the host (simulated devices, tests) and by nvcc (the CUDA kernel), and calls the
// same per-combination backtest as the CPU's reference path (the kernel's run_one, found by
// argument-dependent lookup).
#pragma once

#include <cstdint>

#include "common/hd.hpp"
#include "strategy/block_recorder.hpp"
#include "strategy/block_stats.hpp"
#include "strategy/metrics.hpp"

namespace threadx::gpu {

// Pointers are host or device pointers, whichever side runs the threads. The layout does not
// depend on P (gpu/layout.hpp).
template <class P>
struct BatchView {
  const typename P::Series* views;  // one per piece
  const std::uint64_t* piece_end;   // exclusive end offset of each piece in the batch
  std::uint32_t n_pieces;
  const typename P::Params* params;  // one per combination of the batch
  std::uint64_t n_combos;            // = piece_end[n_pieces - 1]
  double bars_per_year;
  // Per-block statistics (--blocks S): block_starts holds S + 1 bars (block_start_bars) and
  // block_out n_combos * S cells, row t at t * S. blocks == 0: none recorded.
  int blocks;
  const std::int64_t* block_starts;
  BlockStats* block_out;
};

// The piece that holds batch offset t (t < piece_end[n_pieces - 1]): the first piece whose end
// is past t.
THREADX_HD inline std::uint32_t piece_of(const std::uint64_t* piece_end, std::uint32_t n_pieces,
                                         std::uint64_t t) {
  std::uint32_t lo = 0, hi = n_pieces - 1;
  while (lo < hi) {
    const std::uint32_t mid = lo + (hi - lo) / 2;
    if (piece_end[mid] > t) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

// The body of one thread: combination t of the batch.
template <class P>
THREADX_HD inline Metrics run_batch_thread(const BatchView<P>& b, std::uint64_t t) {
  const typename P::Series& view = b.views[piece_of(b.piece_end, b.n_pieces, t)];
  if (b.blocks == 0) return run_one(view, b.params[t], b.bars_per_year);
  BlockCell<double> cells[kMaxBlocks];
  const Metrics m = run_one(view, b.params[t], b.bars_per_year,
                            BlockRecorder<double>(b.block_starts, b.blocks, cells));
  BlockStats* row = b.block_out + t * static_cast<std::uint64_t>(b.blocks);
  for (int k = 0; k < b.blocks; ++k) row[k] = to_stats(cells[k]);
  return m;
}

}  // namespace threadx::gpu
