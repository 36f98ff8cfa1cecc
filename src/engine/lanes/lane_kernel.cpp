// One instruction-set path of the block kernel (see lane_kernel.hpp). CMake compiles this file
// once per path with THREADX_LANES (2, 4, 8), THREADX_LANE_ENTRY (the function's name) and the
// path's -m flags; strategy/lanes.hpp then defines the vector types of that width.
#include "engine/lanes/lane_kernel.hpp"

#include <cstddef>

#if !defined(THREADX_LANES) || !defined(THREADX_LANE_ENTRY)
#error \
    "lane_kernel.cpp is compiled by CMake once per path, with THREADX_LANES and THREADX_LANE_ENTRY"
#endif

namespace threadx::lanes {

// Every member of a lane-generic struct, by name, so packing cannot miss one.
#define THREADX_LANE_PARAMS(X) \
  X(k) X(a) X(max_hold) X(spacing) X(trailing) X(risk) X(leverage) X(f) X(s) X(initial)
#define THREADX_LANE_STATE(X)                                                                     \
  X(side)                                                                                         \
  X(qty)                                                                                          \
  X(entry_price)                                                                                  \
  X(entry_bar) X(stop) X(fee_in) X(last_entry_bar) X(cash) X(trades) X(wins) X(gross_win)         \
      X(gross_loss) X(pnl_sum) X(fees) X(exposure_bars) X(prev_equity) X(peak) X(max_dd) X(sum_r) \
          X(sum_r2) X(sum_neg_r2)

#define THREADX_COUNT(m) +1
static_assert(sizeof(bb_atr::LaneParams<double>) ==
                  (0 THREADX_LANE_PARAMS(THREADX_COUNT)) * sizeof(double),
              "a LaneParams member is missing from THREADX_LANE_PARAMS");
static_assert(sizeof(bb_atr::State<double>) ==
                  (0 THREADX_LANE_STATE(THREADX_COUNT)) * sizeof(double),
              "a State member is missing from THREADX_LANE_STATE");
#undef THREADX_COUNT

void THREADX_LANE_ENTRY(const bb_atr::SeriesView& view, const bb_atr::LaneParams<double>* params,
                        const std::int32_t* cand, const std::int32_t* cand_end,
                        const BlockOutput& blocks, bb_atr::State<double>* out) {
  bb_atr::LaneParams<VecD> p;
  for (std::size_t j = 0; j < kLanes; ++j) {
#define THREADX_PACK(m) p.m[j] = params[j].m;
    THREADX_LANE_PARAMS(THREADX_PACK)
#undef THREADX_PACK
  }
  bb_atr::State<VecD> st;
  bb_atr::init(st, p);
  if (!blocks.enabled()) {
    NoBlocks none;
    bb_atr::run_bars(st, p, view, cand, cand_end, none);
  } else {
    BlockCell<VecD> cells[kMaxBlocks];
    BlockRecorder<VecD> recorder(blocks.starts, blocks.blocks, cells);
    bb_atr::run_bars(st, p, view, cand, cand_end, recorder);
    for (std::size_t j = 0; j < kLanes; ++j)
      for (int b = 0; b < blocks.blocks; ++b) {
        const BlockCell<VecD>& c = cells[b];
        blocks.cells[j * static_cast<std::size_t>(blocks.blocks) + static_cast<std::size_t>(b)] =
            BlockStats{c.sum_r[j], c.sum_r2[j], c.equity[j],
                       static_cast<std::int32_t>(c.trades[j])};
      }
  }
  for (std::size_t j = 0; j < kLanes; ++j) {
#define THREADX_UNPACK(m) out[j].m = st.m[j];
    THREADX_LANE_STATE(THREADX_UNPACK)
#undef THREADX_UNPACK
  }
}

}  // namespace threadx::lanes
