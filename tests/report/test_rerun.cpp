// The report's re-run of one combination: the sweep's metrics bit for bit, and the trades and
// equity of the independent reference backtest (tests/support/reference_backtest.hpp).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "data/loader.hpp"
#include "grid/grid.hpp"
#include "indicators/indicator_bank.hpp"
#include "report/rerun.hpp"
#include "strategies/bb_atr/policy.hpp"
#include "support/paths.hpp"
#include "support/reference_backtest.hpp"

namespace threadx::report {
namespace {

TEST(ReportRerun, MatchesTheSweepAndTheReferenceTrades) {
  const BarSeries bars = load_bars({testing::btc_960()});
  const Grid g = parse_grid_text(
      "[grid]\nbb_period = [15, 30]\nbb_std = [1.5, 2.5]\natr_period = [10, 21]\n"
      "trend_period = [0, 50]\nmax_hold_bars = [10, 72]\n",
      "g.toml");
  IndicatorBank bank(bars);
  std::size_t traded = 0;
  for (ComboId id = 0; id < g.size(); ++id) {
    const Rerun r = rerun_combination({g, bank}, id);
    const Metrics want =
        bb_atr::run_one(bb_atr::Policy::series(bank, g.key_of_group(id / g.group_size())),
                        bb_atr::decode(g.values_of(id)), bars.bars_per_year());
    EXPECT_EQ(std::memcmp(&r.metrics, &want, sizeof want), 0) << "id " << id;

    const bb_atr::Params p = bb_atr::decode(g.values_of(id));
    const auto ind = testing::reference_indicators(bars.high, bars.low, bars.close, p.bb_period,
                                                   p.atr_period, p.trend_period);
    const auto ref = testing::reference_backtest(bars.close, ind, p, bars.bars_per_year());
    ASSERT_EQ(r.trades.size(), ref.trades.size()) << "id " << id;
    ASSERT_EQ(r.equity.size(), bars.size());
    for (std::size_t k = 0; k < r.trades.size(); ++k) {
      EXPECT_EQ(r.trades[k].side, ref.trades[k].side) << "id " << id << " trade " << k;
      EXPECT_EQ(r.trades[k].entry_bar, ref.trades[k].entry_bar) << "id " << id << " trade " << k;
      EXPECT_EQ(r.trades[k].exit_bar, ref.trades[k].exit_bar) << "id " << id << " trade " << k;
      EXPECT_NEAR(r.trades[k].pnl, ref.trades[k].pnl, 1e-9 * p.initial_capital);
    }
    for (std::size_t i = 0; i + 1 < bars.size(); ++i)
      EXPECT_NEAR(r.equity[i], ref.equity[i], 1e-9 * p.initial_capital)
          << "id " << id << " bar " << i;
    EXPECT_EQ(r.equity.back(), r.metrics.final_equity);
    // Bands: mid +- bb_std * sd, from bar bb_period - 1 on.
    ASSERT_EQ(r.overlays.size(), 3u);
    EXPECT_TRUE(std::isnan(r.overlays[0].value[static_cast<std::size_t>(p.bb_period) - 2]));
    EXPECT_GT(r.overlays[0].value[200], r.overlays[2].value[200]);
    traded += !r.trades.empty();
  }
  EXPECT_GT(traded, g.size() / 2);
}

}  // namespace
}  // namespace threadx::report
