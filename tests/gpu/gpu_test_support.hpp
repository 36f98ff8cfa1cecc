// Helpers shared by the gpu/ tests: real bars and grids, a sink that checks every id is
// written once, and the one-device reference rows (run_unit_cpu, scalar path).
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <mutex>
#include <vector>

#include "data/loader.hpp"
#include "engine/cpu_backtest.hpp"
#include "engine/cpu_sweep.hpp"
#include "engine/plan.hpp"
#include "grid/grid.hpp"
#include "indicators/indicator_bank.hpp"
#include "support/paths.hpp"

namespace threadx::gpu_testing {

inline Grid grid_2p9m() {
  return parse_grid_file(testing::repo_path("data/grids/reference_2p9m.toml"));
}

// A small grid that sweeps every kind of parameter (trend filter on and off included).
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

inline bool same_bits(const Metrics& a, const Metrics& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// Rows of every id of `units` by the one-combination reference path on one CPU thread.
inline std::vector<Metrics> reference_rows(const Grid& g, IndicatorBank& bank,
                                           const std::vector<WorkUnit>& units, ComboId n) {
  std::vector<Metrics> rows(n);
  for (const WorkUnit& u : units) run_unit_cpu(g, bank, u, rows.data() + u.begin, LaneMode::Scalar);
  return rows;
}

// Stores rows by id and counts writes per id. Written on the balancer's calling thread only.
class RowSink final : public ResultSink {
 public:
  RowSink(ComboId n, ComboId group) : rows(n), writes(n, 0), group_size(group) {}
  void write(const WorkUnit& u, std::span<const Metrics> r) override {
    EXPECT_EQ(r.size(), u.size());
    EXPECT_EQ(u.begin / group_size, (u.end - 1) / group_size) << "piece crosses a key group";
    for (std::size_t k = 0; k < r.size(); ++k) {
      rows[u.begin + k] = r[k];
      ++writes[u.begin + k];
    }
    ++pieces;
  }
  void flush() override { ++flushes; }

  std::vector<Metrics> rows;
  std::vector<int> writes;
  ComboId group_size;
  int pieces = 0, flushes = 0;
};

}  // namespace threadx::gpu_testing
