// Grids the engine and device tests share.
#pragma once

#include "grid/grid.hpp"
#include "support/paths.hpp"

namespace threadx::testing {

// The production grid: 2,903,040 combinations, 1,440 key groups of 2,016.
inline Grid grid_2p9m() {
  return parse_grid_file(repo_path("data/grids/reference_2p9m.toml"));
}

// A small grid that sweeps every kind of parameter (trend filter on and off, costs included).
inline Grid mixed_grid() {
  return parse_grid_text(R"(strategy = "bb_atr"
[grid]
bb_period = [10, 21]
bb_std = [1.5, 2.25]
atr_period = [7, 14]
atr_multiplier = [1.0, 2.5]
max_hold_bars = [5, 72]
spacing_bars = [0, 7]
trend_period = [0, 30]
trailing_stop = [0, 1]
risk_per_trade = [0.01, 0.5]
leverage = [0.5, 3.0]
fee_bps = [0, 4.5]
slippage_bps = [0, 2]
)",
                         "mixed.toml");
}

// The second strategy: 3,024 ma_cross combinations, SMA and EMA lines, time exit on and off.
inline Grid ma_cross_grid() {
  return parse_grid_file(repo_path("tests/grids/ma_cross_3024.toml"));
}

}  // namespace threadx::testing
