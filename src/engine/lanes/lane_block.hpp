// The body of the block kernel (see lane_kernel.hpp), included by each strategy's lanes.cpp only:
// that file is compiled once per instruction-set path with THREADX_LANES (2, 4, 8),
// THREADX_LANE_ENTRY (run_block_<path>) and the path's -m flags, and instantiates the entry for
// its policy with THREADX_LANE_KERNEL(Policy). strategy/lanes.hpp then defines the vector types
// of that width.
#pragma once

#include <cstddef>

#include "engine/lanes/lane_kernel.hpp"
#include "strategy/block_recorder.hpp"
#include "strategy/lanes.hpp"

#if !defined(THREADX_LANES) || !defined(THREADX_LANE_ENTRY)
#error \
    "a strategy's lanes.cpp is compiled by CMake once per path, with THREADX_LANES and THREADX_LANE_ENTRY"
#endif

namespace threadx::lanes {

// How many members P's each_param / each_state visit, checked against the struct's size (every
// member is one lane value): a forgotten member fails the build (one listed twice in place of
// another would not: the lists are short and written next to the structs).
template <class P, class S, bool kParams>
constexpr std::size_t visited() {
  S a{}, b{};
  std::size_t n = 0;
  auto count = [&](double&, double&) { ++n; };
  if constexpr (kParams) {
    P::each_param(a, b, count);
  } else {
    P::each_state(a, b, count);
  }
  return n;
}

template <class P>
void THREADX_LANE_ENTRY(const typename P::Series& view,
                        const typename P::template LaneParams<double>* params,
                        const std::int32_t* cand, const std::int32_t* cand_end,
                        const BlockOutput& blocks, typename P::template State<double>* out) {
  using One = typename P::template LaneParams<double>;
  using Lanes = typename P::template LaneParams<VecD>;
  using OneState = typename P::template State<double>;
  static_assert(visited<P, One, true>() * sizeof(double) == sizeof(One) &&
                    sizeof(Lanes) == sizeof(One) / sizeof(double) * sizeof(VecD),
                "P::each_param visits fewer or more members than LaneParams has");
  static_assert(visited<P, OneState, false>() * sizeof(double) == sizeof(OneState),
                "P::each_state visits fewer or more members than State has");
  Lanes p;
  for (std::size_t j = 0; j < kLanes; ++j)
    P::each_param(p, params[j], [j](VecD& all, const double& one) { all[j] = one; });
  typename P::template State<VecD> st;
  init(st, p);
  if (!blocks.enabled()) {
    NoBlocks none;
    run_bars(st, p, view, cand, cand_end, none);
  } else {
    BlockCell<VecD> cells[kMaxBlocks];
    BlockRecorder<VecD> recorder(blocks.starts, blocks.blocks, cells);
    run_bars(st, p, view, cand, cand_end, recorder);
    for (std::size_t j = 0; j < kLanes; ++j)
      for (int b = 0; b < blocks.blocks; ++b) {
        const BlockCell<VecD>& c = cells[b];
        blocks.cells[j * static_cast<std::size_t>(blocks.blocks) + static_cast<std::size_t>(b)] =
            BlockStats{c.sum_r[j], c.sum_r2[j], c.equity[j],
                       static_cast<std::int32_t>(c.trades[j])};
      }
  }
  for (std::size_t j = 0; j < kLanes; ++j)
    P::each_state(st, out[j], [j](const VecD& all, double& one) { one = all[j]; });
}

}  // namespace threadx::lanes

// The explicit instantiation of this path's entry point for policy P (in the global namespace).
#define THREADX_LANE_KERNEL(P)                                                                  \
  template void threadx::lanes::THREADX_LANE_ENTRY<P>(                                          \
      const P::Series&, const P::LaneParams<double>*, const std::int32_t*, const std::int32_t*, \
      const threadx::BlockOutput&, P::State<double>*)
