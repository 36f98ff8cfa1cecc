// The body of the block kernel (see lane_kernel.hpp), included by each strategy's lanes.cpp only:
// that file is compiled once per instruction-set path with THREADX_LANES (2, 4, 8),
// THREADX_LANE_ENTRY (run_block_<path>) and the path's -m flags, and instantiates the entry for
// its policy with THREADX_LANE_KERNEL(Policy). strategy/lanes.hpp then defines the vector types
// of that width.
#pragma once

#include <cstddef>
#include <cstring>

#include "engine/lanes/lane_kernel.hpp"
#include "strategy/block_recorder.hpp"
#include "strategy/lanes.hpp"

#if !defined(THREADX_LANES) || !defined(THREADX_LANE_ENTRY)
#error \
    "a strategy's lanes.cpp is compiled by CMake once per path, with THREADX_LANES and THREADX_LANE_ENTRY"
#endif

namespace threadx::lanes {

// A lane-generic struct is a row of members of its lane type and nothing else (checked below
// through its size), so lane j of a vector struct is packed from, and unpacked to, the j-th
// one-lane struct member by member through arrays of doubles: no member list to keep in step.
template <template <class> class S>
struct LaneRows {
  static constexpr std::size_t kMembers = sizeof(S<double>) / sizeof(double);
  static_assert(sizeof(S<double>) == kMembers * sizeof(double) &&
                    sizeof(S<VecD>) == kMembers * sizeof(VecD),
                "a lane-generic struct must hold members of its lane type only");

  THREADX_FORCEINLINE static void pack(const S<double>* one, S<VecD>& all) {
    VecD rows[kMembers];
    for (std::size_t j = 0; j < kLanes; ++j) {
      double lane[kMembers];
      std::memcpy(lane, &one[j], sizeof lane);
      for (std::size_t m = 0; m < kMembers; ++m) rows[m][j] = lane[m];
    }
    std::memcpy(&all, rows, sizeof rows);
  }

  THREADX_FORCEINLINE static void unpack(const S<VecD>& all, S<double>* one) {
    VecD rows[kMembers];
    std::memcpy(rows, &all, sizeof rows);
    for (std::size_t j = 0; j < kLanes; ++j) {
      double lane[kMembers];
      for (std::size_t m = 0; m < kMembers; ++m) lane[m] = rows[m][j];
      std::memcpy(&one[j], lane, sizeof lane);
    }
  }
};

template <class P>
void THREADX_LANE_ENTRY(const typename P::Series& view,
                        const typename P::template LaneParams<double>* params,
                        const std::int32_t* cand, const std::int32_t* cand_end,
                        const BlockOutput& blocks, typename P::template State<double>* out) {
  typename P::template LaneParams<VecD> p;
  LaneRows<P::template LaneParams>::pack(params, p);
  typename P::template State<VecD> st;
  P::init(st, p);
  if (!blocks.enabled()) {
    NoBlocks none;
    P::run_bars(st, p, view, cand, cand_end, none);
  } else {
    BlockCell<VecD> cells[kMaxBlocks];
    BlockRecorder<VecD> recorder(blocks.starts, blocks.blocks, cells);
    P::run_bars(st, p, view, cand, cand_end, recorder);
    for (std::size_t j = 0; j < kLanes; ++j)
      for (int b = 0; b < blocks.blocks; ++b) {
        const BlockCell<VecD>& c = cells[b];
        blocks.cells[j * static_cast<std::size_t>(blocks.blocks) + static_cast<std::size_t>(b)] =
            BlockStats{c.sum_r[j], c.sum_r2[j], c.equity[j],
                       static_cast<std::int32_t>(c.trades[j])};
      }
  }
  LaneRows<P::template State>::unpack(st, out);
}

}  // namespace threadx::lanes

// The explicit instantiation of this path's entry point for policy P (in the global namespace).
#define THREADX_LANE_KERNEL(P)                                                                  \
  template void threadx::lanes::THREADX_LANE_ENTRY<P>(                                          \
      const P::Series&, const P::LaneParams<double>*, const std::int32_t*, const std::int32_t*, \
      const threadx::BlockOutput&, P::State<double>*)
