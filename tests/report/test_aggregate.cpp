// threadx report's aggregates on a hand-checked 12-combination grid: best, quartiles and median
// per parameter value and per pair of values, ties, filters and the top list.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "common/error.hpp"
#include "grid/grid.hpp"
#include "report/aggregate.hpp"

namespace threadx::report {
namespace {

// bb_period [10, 20] x bb_std [1, 2, 3] x atr_period [5, 7]: id = (x_bb * 2 + x_atr) * 3 + x_std
// (SWEEP.md: bb_period, atr_period, then bb_std).
Grid small_grid() {
  return parse_grid_text(
      "[grid]\nbb_period = [10, 20]\nbb_std = [1.0, 2.0, 3.0]\natr_period = [5, 7]\n", "g.toml");
}

// The metric of combination id.
const std::vector<double> kValues{3, -1, 4, 1, -5, 9, 2, 6, -5, 3, 5, 8};

Aggregates run(const std::vector<double>& values, AggregateOptions o,
               const std::vector<double>& trades = {}) {
  const Grid g = small_grid();
  Aggregator a(g, {"combo_id", "bb_period", "bb_std", "atr_period", "sharpe"}, o);
  for (ComboId id = 0; id < g.size(); ++id)
    a.add(id, g.indices_of(id), values[id], trades.empty() ? 100.0 : trades[id]);
  return a.finish();
}

void expect_cell(const Cell& c, std::uint64_t count, double best, ComboId best_id, double q1,
                 double median, double q3) {
  EXPECT_EQ(c.count, count);
  EXPECT_DOUBLE_EQ(c.best, best);
  EXPECT_EQ(c.best_id, best_id);
  EXPECT_DOUBLE_EQ(c.q1, q1);
  EXPECT_DOUBLE_EQ(c.median, median);
  EXPECT_DOUBLE_EQ(c.q3, q3);
}

TEST(ReportAggregate, QuantileInterpolatesLinearly) {
  std::vector<double> v{4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(quantile_inplace(v.begin(), v.end(), 0.25), 1.75);
  EXPECT_DOUBLE_EQ(quantile_inplace(v.begin(), v.end(), 0.5), 2.5);
  EXPECT_DOUBLE_EQ(quantile_inplace(v.begin(), v.end(), 1.0), 4.0);
  std::vector<double> one{7};
  EXPECT_DOUBLE_EQ(quantile_inplace(one.begin(), one.end(), 0.75), 7.0);
}

TEST(ReportAggregate, AxesAreTheSweptParametersInTheOrderGiven) {
  const Aggregates a = run(kValues, {});
  ASSERT_EQ(a.axes.size(), 3u);
  EXPECT_EQ(a.axes[0].name, "bb_period");
  EXPECT_EQ(a.axes[1].name, "bb_std");
  EXPECT_EQ(a.axes[2].name, "atr_period");
  EXPECT_EQ(a.axes[1].values, (std::vector<double>{1, 2, 3}));
  ASSERT_EQ(a.pairs.size(), 3u);  // (bb_period, bb_std), (bb_period, atr_period), (bb_std, atr)
  EXPECT_EQ(a.pairs[0].a, 0u);
  EXPECT_EQ(a.pairs[0].b, 1u);
  EXPECT_EQ(a.pairs[2].a, 1u);
  EXPECT_EQ(a.pairs[2].b, 2u);
}

TEST(ReportAggregate, OverallAndPerValueCells) {
  const Aggregates a = run(kValues, {});
  EXPECT_EQ(a.done, 12u);
  // All: -5 -5 -1 1 2 3 3 4 5 6 8 9; q1 at 2.75 -> -1 + 0.75 * 2, median at 5.5, q3 at 8.25.
  expect_cell(a.overall, 12, 9, 5, 0.5, 3, 5.25);
  EXPECT_DOUBLE_EQ(a.overall.min, -5);
  EXPECT_DOUBLE_EQ(a.overall.max, 9);
  // bb_period = 10 is ids 0..5: -5 -1 1 3 4 9 (q1 at 1.25: -1 + 0.25 * 2; median 2; q3 3.75).
  expect_cell(a.sensitivity[0][0], 6, 9, 5, -0.5, 2, 3.75);
  // bb_period = 20 is ids 6..11: -5 2 3 5 6 8.
  expect_cell(a.sensitivity[0][1], 6, 8, 11, 2.25, 4, 5.75);
  // bb_std = 3 is ids 2, 5, 8, 11: -5 4 8 9 (q1 at 0.75: -5 + 0.75 * 9; median 6; q3 8.25).
  expect_cell(a.sensitivity[1][2], 4, 9, 5, 1.75, 6, 8.25);
}

TEST(ReportAggregate, PairCells) {
  const Aggregates a = run(kValues, {});
  const PairMap& bb_std = a.pairs[0];  // cells[i * 3 + j]: bb_period i, bb_std j
  ASSERT_EQ(bb_std.cells.size(), 6u);
  expect_cell(bb_std.cells[0], 2, 3, 0, 1.5, 2, 2.5);                // ids 0, 3: 3, 1
  expect_cell(bb_std.cells[1 * 3 + 2], 2, 8, 11, -1.75, 1.5, 4.75);  // ids 8, 11: -5, 8
  const PairMap& std_atr = a.pairs[2];  // cells[i * 2 + j]: bb_std i, atr_period j
  expect_cell(std_atr.cells[1 * 2 + 1], 2, 5, 10, -2.5, 0, 2.5);  // ids 4, 10: -5, 5
}

TEST(ReportAggregate, TopListBreaksTiesBySmallerId) {
  AggregateOptions o;
  o.top = 7;
  const Aggregates a = run(kValues, o);
  EXPECT_EQ(a.top, (std::vector<ComboId>{5, 11, 7, 10, 2, 0, 9}));  // 3 at ids 0 and 9
}

TEST(ReportAggregate, LowerIsBetterMetricsPickTheSmallest) {
  AggregateOptions o;
  o.metric = "max_drawdown";
  o.top = 2;
  const Aggregates a = run(kValues, o);
  EXPECT_FALSE(a.higher_is_better);
  EXPECT_EQ(a.top, (std::vector<ComboId>{4, 8}));  // -5 twice: the smaller id first
  EXPECT_DOUBLE_EQ(a.sensitivity[0][0].best, -5);
  EXPECT_EQ(a.sensitivity[0][0].best_id, 4u);
  EXPECT_DOUBLE_EQ(a.sensitivity[0][0].median, 2);  // quantiles do not depend on the direction
}

TEST(ReportAggregate, FiltersAndNonFiniteValuesAreCounted) {
  std::vector<double> v = kValues;
  v[7] = std::numeric_limits<double>::infinity();
  std::vector<double> trades(12);
  std::iota(trades.begin(), trades.end(), 0.0);
  AggregateOptions o;
  o.min_trades = 6;  // ids 0..5 have fewer trades
  const Aggregates a = run(v, o, trades);
  EXPECT_EQ(a.done, 12u);
  EXPECT_EQ(a.too_few_trades, 6u);
  EXPECT_EQ(a.not_finite, 1u);
  // Left: ids 6, 8, 9, 10, 11: 2 -5 3 5 8.
  expect_cell(a.overall, 5, 8, 11, 2, 3, 5);
  EXPECT_EQ(a.sensitivity[0][0].count, 0u);
  EXPECT_TRUE(std::isnan(a.sensitivity[0][0].median));
  std::uint64_t in_histogram = 0;
  for (const std::uint64_t n : a.histogram.counts) in_histogram += n;
  EXPECT_EQ(in_histogram, 5u);
}

TEST(ReportAggregate, UnknownMetricIsOneLine) {
  try {
    check_metric("sharp");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("unknown metric 'sharp' (metrics: total_return, ", 0),
              0u);
  }
}

}  // namespace
}  // namespace threadx::report
