// Real rows for the results-side tests: the first key groups of the production grid
// (reference_2p9m) backtested on the 960 bundled BTC bars.
#pragma once

#include <vector>

#include "data/loader.hpp"
#include "engine/cpu_backtest.hpp"
#include "engine/plan.hpp"
#include "indicators/indicator_bank.hpp"
#include "support/grids.hpp"
#include "support/paths.hpp"

namespace threadx::testing {

struct RealRows {
  Grid grid = grid_2p9m();
  BarSeries bars = load_bars({btc_960()});
  IndicatorBank bank{bars};
  ComboId n;
  std::vector<Metrics> rows;
  explicit RealRows(ComboId groups = 5) : n(groups * grid.group_size()), rows(n) {
    for (const WorkUnit& u : plan_units(grid, 4096))
      if (u.begin < n) run_unit_cpu({grid, bank}, u, rows.data() + u.begin);
  }
};

// Five key groups (10,080 combinations), built once per test binary.
inline const RealRows& real_rows() {
  static const RealRows r;
  return r;
}

}  // namespace threadx::testing
