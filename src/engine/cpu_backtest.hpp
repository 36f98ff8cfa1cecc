// Runs one work unit on the calling CPU thread: every combination of the unit backtested over
// the whole bar series, metrics written in id order.
#pragma once

#include "engine/plan.hpp"
#include "grid/grid.hpp"
#include "indicators/indicator_bank.hpp"
#include "strategy/metrics.hpp"

namespace threadx {

enum class LaneMode {
  Simd,   // kLanes combinations per vector, bars in the outer loop (the fast path)
  Scalar  // one combination at a time through bb_atr::run_one (the reference path, as on GPU)
};

// out must hold unit.size() rows.
void run_unit_cpu(const Grid& grid, IndicatorBank& bank, const WorkUnit& unit, Metrics* out,
                  LaneMode mode = LaneMode::Simd);

}  // namespace threadx
