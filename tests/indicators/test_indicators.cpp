// Indicator series: hand-checked small cases, the independent TA-Lib/TTR values of
// data/README.md on the real 960-bar file, and the IndicatorBank's build-once accounting.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "data/loader.hpp"
#include "grid/grid.hpp"
#include "indicators/indicator_bank.hpp"
#include "indicators/indicators.hpp"
#include "strategies/bb_atr/policy.hpp"
#include "support/paths.hpp"

namespace threadx {
namespace {

void expect_rel(double got, double want, double rel = 1e-9) {
  EXPECT_NEAR(got, want, rel * std::fabs(want)) << "got " << got << " want " << want;
}

TEST(Indicators, HandCheckedSmallSeries) {
  const std::vector<double> c{1, 2, 3, 4, 6};
  const auto mid = rolling_mean(c, 3);
  EXPECT_TRUE(std::isnan(mid[0]) && std::isnan(mid[1]));
  EXPECT_DOUBLE_EQ(mid[2], 2.0);
  EXPECT_DOUBLE_EQ(mid[4], 13.0 / 3);
  const auto sd = rolling_pstd(c, mid, 3);
  EXPECT_DOUBLE_EQ(sd[2], std::sqrt(2.0 / 3));  // population: ((1)^2+0+(1)^2)/3
  // True range: tr[0] = h-l; later bars take the previous close into account.
  const std::vector<double> h{10, 12, 11}, l{8, 11, 7}, cl{9, 11.5, 8};
  const auto tr = true_range(h, l, cl);
  EXPECT_EQ(tr, (std::vector<double>{2, 3, 4.5}));  // |12-9| = 3; max(4, |11-11.5|, |7-11.5|)
  // Wilder ATR(2): atr[2] = mean(tr[1..2]) = 3.75; atr[3] = (3.75*1 + tr[3]) / 2.
  const auto atr = atr_wilder({2, 3, 4.5, 1.25}, 2);
  EXPECT_TRUE(std::isnan(atr[1]));
  EXPECT_DOUBLE_EQ(atr[2], 3.75);
  EXPECT_DOUBLE_EQ(atr[3], 2.5);
  // EMA(3): seed mean(c[0..2]) = 2 at i=2, alpha = 0.5: 2 + 0.5*(4-2) = 3, 3 + 0.5*(6-3) = 4.5.
  const auto e = ema(c, 3);
  EXPECT_TRUE(std::isnan(e[1]));
  EXPECT_EQ(e[2], 2.0);
  EXPECT_EQ(e[3], 3.0);
  EXPECT_EQ(e[4], 4.5);
  // Windows longer than the series: undefined everywhere.
  for (double v : rolling_mean(c, 6)) EXPECT_TRUE(std::isnan(v));
  for (double v : atr_wilder(tr, 3)) EXPECT_TRUE(std::isnan(v));
}

TEST(Indicators, MatchTaLibOnRealBtcFile) {
  const BarSeries bars = load_bars({testing::btc_960()});
  ASSERT_EQ(bars.size(), 960u);
  const auto mid = rolling_mean(bars.close, 20);
  const auto sd = rolling_pstd(bars.close, mid, 20);
  const auto atr = atr_wilder(true_range(bars.high, bars.low, bars.close), 14);
  const double want_mid[3] = {96360.121000, 96426.631500, 96499.680000};
  const double want_upper[3] = {97456.950858, 97424.771366, 97302.970698};
  const double want_atr[3] = {488.347569, 487.789171, 475.610659};
  for (std::size_t k = 0; k < 3; ++k) {
    const std::size_t i = 957 + k;
    // The README prints 6 decimals: agreement to its last digit is ~1e-11 relative.
    EXPECT_NEAR(mid[i], want_mid[k], 5e-7);
    EXPECT_NEAR(mid[i] + 2 * sd[i], want_upper[k], 5e-7);
    EXPECT_NEAR(atr[i], want_atr[k], 5e-7);
    expect_rel(atr[i], want_atr[k]);
  }
}

TEST(IndicatorBank, BuildsEachSeriesOnceForTheProductionGrid) {
  const BarSeries bars = load_bars({testing::btc_960()});
  const Grid grid = parse_grid_file(testing::repo_path("data/grids/reference_2p9m.toml"));
  IndicatorBank bank(bars);
  // Every group, from two threads at once: 20 windows of SMA and std, 8 ATR, 8 EMA (trend 0
  // needs none).
  auto visit = [&](ComboId from, ComboId step) {
    for (ComboId g = from; g < grid.group_count(); g += step) {
      const bb_atr::Params k = bb_atr::decode(grid.key_of_group(g));
      const bb_atr::SeriesView v = bb_atr::Policy::series(bank, grid.key_of_group(g));
      ASSERT_EQ(v.ema == nullptr, k.trend_period == 0);
      ASSERT_EQ(v.warmup, std::max({k.bb_period, k.atr_period, k.trend_period}));
    }
  };
  std::thread a(visit, 0, 1), b(visit, 0, 1);
  a.join();
  b.join();
  const IndicatorBank::Stats s = bank.stats();
  auto built = [&](Indicator kind) { return s.built_of[static_cast<std::size_t>(kind)]; };
  EXPECT_EQ(built(Indicator::Sma), 20);
  EXPECT_EQ(built(Indicator::Pstd), 20);
  EXPECT_EQ(built(Indicator::Atr), 8);
  EXPECT_EQ(built(Indicator::Ema), 8);
  EXPECT_EQ(s.built, 56);
  EXPECT_EQ(s.by_kind(), "20 SMA, 20 std, 8 EMA, 8 ATR");
  // Two passes over 1,440 groups, each asking for a mean, a std, an ATR and (8 of 9 trend
  // values) an EMA.
  EXPECT_EQ(s.requested, 2 * (1440 * 3 + 1440 * 8 / 9));
  // The same (kind, window) is the same series; the std's mean is the bank's SMA.
  EXPECT_EQ(bank.series(Indicator::Sma, 20), bank.series(Indicator::Sma, 20));
  EXPECT_NE(bank.series(Indicator::Atr, 13), bank.series(Indicator::Atr, 16));
  EXPECT_NE(bank.series(Indicator::Sma, 25), bank.series(Indicator::Ema, 25));
  const double* mean = bank.series(Indicator::Sma, 20);
  const double* sd = bank.series(Indicator::Pstd, 20);
  const std::vector<double> want =
      rolling_pstd(bars.close, std::vector<double>(mean, mean + bars.size()), 20);
  for (std::size_t i = 19; i < bars.size(); ++i) ASSERT_EQ(sd[i], want[i]) << i;
  EXPECT_THROW(bank.series(Indicator::Sma, 0), std::invalid_argument);
}

}  // namespace
}  // namespace threadx
