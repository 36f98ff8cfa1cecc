// One batch of work for a one-combination-per-thread device: the pieces (parts of units, possibly
// of different key groups) laid end to end, thread t runs combination t of the batch. The thread
// body is a template over the strategy policy P (strategies/<name>/policy.hpp), compiled
// unchanged for the host (simulated devices, tests) and by nvcc (the CUDA kernel).
//
// A thread steps only the bars the CPU's lane blocks step: the strategy's run_bars (found by
// argument-dependent lookup, like lane_params, init and metrics_of) skips every bar at which the
// combination is flat and that is not in its candidate list, which leaves every state bit as
// run_one's full loop would (the CPU's reference path; the tests compare them bit for bit). The
// lists (strategy/candidates.hpp) are built on the host once per key group and candidate key and
// shared by every thread with that key; ids run through a key group's candidate key first (bb_atr:
// bb_std right after the key), so the threads of a warp mostly share a list and trade in step.
#pragma once

#include <cstdint>

#include "common/hd.hpp"
#include "grid/id_digits.hpp"
#include "strategy/block_recorder.hpp"
#include "strategy/block_stats.hpp"
#include "strategy/metrics.hpp"
#include "strategy/spec.hpp"

namespace threadx::gpu {

// Pointers are host or device pointers, whichever side runs the threads. The layout does not
// depend on P (gpu/layout.hpp).
// A thread decodes its own combination from its id (digits: the grid's, as plain data), so a
// batch carries no parameters: the pieces, the candidate lists and one list number per
// combination go to the device, the rows come back.
template <class P>
struct BatchView {
  const typename P::Series* views;   // one per piece
  const std::uint64_t* piece_end;    // exclusive end offset of each piece in the batch
  const std::uint64_t* piece_first;  // the first combination id of each piece
  std::uint32_t n_pieces;
  std::uint64_t n_combos;  // = piece_end[n_pieces - 1]
  double bars_per_year;
  // Per-block statistics (--blocks S): block_starts holds S + 1 bars (block_start_bars) and
  // block_out n_combos * S cells, row t at t * S. blocks == 0: none recorded.
  int blocks;
  const std::int64_t* block_starts;
  BlockStats* block_out;
  // Candidate lists laid end to end: list k is cand[list_end[k - 1] (0 for k = 0), list_end[k]);
  // combination t reads list list_of[t].
  const std::int32_t* cand;
  const std::uint64_t* list_end;
  const std::uint32_t* list_of;
  IdDigits digits;
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

// One combination through run_bars over its candidate bars [cand, cand_end): run_one's rows.
template <class P, class Blocks>
THREADX_HD THREADX_FORCEINLINE Metrics run_skipping(const typename P::Series& view,
                                                    const typename P::Params& sp,
                                                    const std::int32_t* cand,
                                                    const std::int32_t* cand_end,
                                                    double bars_per_year, Blocks& blocks) {
  using LaneParams = typename P::template LaneParams<double>;
  using State = typename P::template State<double>;
  const LaneParams p = lane_params<double>(sp);
  State st;
  init(st, p);
  run_bars(st, p, view, cand, cand_end, blocks);
  return metrics_of(st, P::initial_capital(sp), static_cast<double>(view.n_bars), bars_per_year);
}

// The parameters of combination t of the batch, decoded from its id.
template <class P>
THREADX_HD inline typename P::Params params_of(const BatchView<P>& b, std::uint32_t piece,
                                               std::uint64_t t) {
  const std::uint64_t start = piece == 0 ? 0 : b.piece_end[piece - 1];
  ParamValues v{};
  b.digits.values_of(b.piece_first[piece] + (t - start), v.data());
  return P::decode(v);
}

// The body of one thread: combination t of the batch.
template <class P>
THREADX_HD inline Metrics run_batch_thread(const BatchView<P>& b, std::uint64_t t) {
  const std::uint32_t piece = piece_of(b.piece_end, b.n_pieces, t);
  const typename P::Series& view = b.views[piece];
  const typename P::Params sp = params_of(b, piece, t);
  const std::uint32_t list = b.list_of[t];
  const std::int32_t* cand = b.cand + (list == 0 ? 0 : b.list_end[list - 1]);
  const std::int32_t* cand_end = b.cand + b.list_end[list];
  if (b.blocks == 0) {
    NoBlocks none;
    return run_skipping<P>(view, sp, cand, cand_end, b.bars_per_year, none);
  }
  BlockCell<double> cells[kMaxBlocks];
  BlockRecorder<double> recorder(b.block_starts, b.blocks, cells);
  const Metrics m = run_skipping<P>(view, sp, cand, cand_end, b.bars_per_year, recorder);
  BlockStats* row = b.block_out + t * static_cast<std::uint64_t>(b.blocks);
  for (int k = 0; k < b.blocks; ++k) row[k] = to_stats(cells[k]);
  return m;
}

}  // namespace threadx::gpu
