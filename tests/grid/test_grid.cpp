// Grid files and combination ids (SWEEP.md): the reference grids, the id order, ranges, types and
// every error with its file, line and key.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "grid/grid.hpp"
#include "support/paths.hpp"

namespace threadx {
namespace {

using testing::shared_path;

std::vector<double> range(double start, double step, int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(start + i * step);
  return v;
}

TEST(Grid, ReferenceGrids) {
  const Grid small = parse_grid_file(shared_path("grids/reference_24.toml"));
  EXPECT_EQ(small.size(), 24u);
  EXPECT_EQ(small.group_count(), 12u);
  EXPECT_EQ(small.group_size(), 2u);
  const Grid g = parse_grid_file(shared_path("grids/reference_2p9m.toml"));
  EXPECT_EQ(g.size(), 2903040u);
  EXPECT_EQ(g.group_count(), 1440u);
  EXPECT_EQ(g.group_size(), 2016u);
  EXPECT_EQ(g.values[kBbPeriod], range(10, 2, 20));
  EXPECT_EQ(g.values[kBbStd], range(1.5, 0.25, 7));
  EXPECT_EQ(g.values[kAtrPeriod], range(7, 3, 8));
  EXPECT_EQ(g.values[kAtrMultiplier], range(1.0, 0.25, 9));
  EXPECT_EQ(g.values[kMaxHoldBars], range(25, 25, 8));
  EXPECT_EQ(g.values[kSpacingBars], range(0, 5, 4));
  EXPECT_EQ(g.values[kTrendPeriod], range(0, 25, 9));
  EXPECT_EQ(g.values[kRiskPerTrade], std::vector<double>{0.01});
  EXPECT_TRUE(g.fixed[kFeeBps]);
  EXPECT_FALSE(g.swept[kFeeBps]);
  EXPECT_TRUE(g.swept[kTrendPeriod]);
  EXPECT_EQ(g.values[kSlippageBps], std::vector<double>{0.0});  // default
}

TEST(Grid, IdsAreMixedRadixWithKeyParametersMostSignificant) {
  const Grid g = parse_grid_file(shared_path("grids/reference_24.toml"));
  // Radices in id order: bb_period 4, atr_period 3, trend 1, bb_std 2 (others 1).
  // bb_period=20 (index 1), atr_period=21 (index 2), bb_std=2.5 (index 1):
  // id = ((1*3 + 2)*1 + 0)*2 + 1 = 11.
  const StrategyParams p = g.params_of(11);
  EXPECT_EQ(p.bb_period, 20);
  EXPECT_EQ(p.atr_period, 21);
  EXPECT_EQ(p.bb_std, 2.5);
  EXPECT_EQ(p.fee_bps, 4.5);  // default
  for (ComboId id = 0; id < g.size(); ++id) EXPECT_EQ(g.id_of(g.indices_of(id)), id);

  const Grid big = parse_grid_file(shared_path("grids/reference_2p9m.toml"));
  for (ComboId id = 0; id < big.size(); id += 7919) ASSERT_EQ(big.id_of(big.indices_of(id)), id);
  const StrategyParams first = big.params_of(0), last = big.params_of(big.size() - 1);
  EXPECT_EQ(first.bb_period, 10);
  EXPECT_EQ(first.trend_period, 0);
  EXPECT_EQ(first.spacing_bars, 0);
  EXPECT_EQ(last.bb_period, 48);
  EXPECT_EQ(last.atr_multiplier, 3.0);
  EXPECT_EQ(last.trend_period, 200);
  EXPECT_EQ(last.spacing_bars, 15);
  // Each group is one contiguous range sharing its key; the key changes at group boundaries.
  for (ComboId grp : {ComboId{0}, ComboId{1}, ComboId{719}, ComboId{1439}}) {
    const Grid::Key k = big.key_of_group(grp);
    for (ComboId id = grp * 2016; id < (grp + 1) * 2016; id += 97) {
      const StrategyParams q = big.params_of(id);
      ASSERT_EQ(q.bb_period, k.bb_period);
      ASSERT_EQ(q.atr_period, k.atr_period);
      ASSERT_EQ(q.trend_period, k.trend_period);
    }
  }
  // Group 1 = the second trend value (trend_period is the fastest key digit).
  EXPECT_EQ(big.key_of_group(1).trend_period, 25);
  EXPECT_EQ(big.key_of_group(9).atr_period, 10);
}

TEST(Grid, FileOrderDoesNotChangeIds) {
  const Grid a = parse_grid_text(
      "[grid]\nbb_std = [2.5, 2.0]\natr_period = [10, 14]\nbb_period = [20, 15]\n", "a.toml");
  const Grid b = parse_grid_text(
      "[grid]\nbb_period = [15, 20]\nbb_std = [2.0, 2.5]\natr_period = [14, 10]\n", "b.toml");
  ASSERT_EQ(a.size(), 8u);
  for (ComboId id = 0; id < a.size(); ++id) {
    EXPECT_EQ(a.params_of(id).bb_period, b.params_of(id).bb_period);
    EXPECT_EQ(a.params_of(id).bb_std, b.params_of(id).bb_std);
    EXPECT_EQ(a.params_of(id).atr_period, b.params_of(id).atr_period);
  }
  EXPECT_EQ(a.values[kBbStd], (std::vector<double>{2.0, 2.5}));  // sorted ascending
}

TEST(Grid, RangesAreMultipliedNotAccumulatedAndTypesConvert) {
  const Grid g = parse_grid_text(
      "[grid]\nbb_std = { start = 0.1, stop = 0.3, step = 0.1 }\n"
      "atr_multiplier = [1, 2]\n"
      "trailing_stop = [true, false]\n",
      "r.toml");
  // 0.1 + 2*0.1 = 0.30000000000000004 > 0.3, still included by the 1e-9 tolerance.
  EXPECT_EQ(g.values[kBbStd], (std::vector<double>{0.1, 0.1 + 1 * 0.1, 0.1 + 2 * 0.1}));
  EXPECT_EQ(g.values[kAtrMultiplier], (std::vector<double>{1.0, 2.0}));
  EXPECT_EQ(g.values[kTrailingStop], (std::vector<double>{0.0, 1.0}));
  const Grid f = parse_grid_text("[fixed]\ntrailing_stop = 0\nfee_bps = 0\n", "f.toml");
  EXPECT_EQ(f.size(), 1u);
  EXPECT_EQ(f.params_of(0).trailing_stop, 0);
  EXPECT_EQ(f.params_of(0).fee_bps, 0.0);
}

// Expects parse_grid_text(text) to fail with "<name>:<line>: key '<key>'" and `what`, on one line.
void expect_error(const std::string& text, int line, const std::string& key,
                  const std::string& what) {
  try {
    parse_grid_text(text, "g.toml");
    ADD_FAILURE() << "accepted:\n" << text;
  } catch (const InputError& e) {
    const std::string m = e.what();
    std::string where = "g.toml:" + std::to_string(line) + ":";
    if (!key.empty()) where += " key '" + key + "'";
    EXPECT_NE(m.find(where), std::string::npos) << m;
    EXPECT_NE(m.find(what), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

TEST(Grid, ErrorsNameFileLineAndKey) {
  const std::string s = "strategy = \"bb_atr\"\n";
  expect_error(s + "[grid]\nbb_period = [1, 20]\n", 3, "grid.bb_period",
               "bb_period = 1 is outside int >= 2");
  expect_error(s + "[grid]\nbb_period = [20, 2.5]\n", 3, "grid.bb_period",
               "expected an integer, got 2.5");
  expect_error(s + "[grid]\nbb_periods = [20]\n", 3, "grid.bb_periods", "unknown parameter");
  expect_error(s + "[grid]\nbb_std = []\n", 3, "grid.bb_std", "empty list");
  expect_error(s + "[grid]\nbb_std = [2.0, 2.0]\n", 3, "grid.bb_std", "duplicate value 2");
  expect_error(s + "[grid]\nbb_std = \"2\"\n", 3, "grid.bb_std", "got a string");
  expect_error(s + "[grid]\nbb_std = [\"2\"]\n", 3, "grid.bb_std", "got a string");
  expect_error(s + "[grid]\nbb_std = { start = 1, stop = 2, step = 0 }\n", 3, "grid.bb_std.step",
               "step must be > 0");
  expect_error(s + "[grid]\nbb_std = { start = 1, stop = 2, step = -1 }\n", 3, "grid.bb_std.step",
               "step must be > 0");
  expect_error(s + "[grid]\nbb_std = { start = 3, stop = 2, step = 1 }\n", 3, "grid.bb_std",
               "empty range");
  expect_error(s + "[grid]\nbb_std = { start = 1, stop = 2 }\n", 3, "grid.bb_std",
               "range needs 'step'");
  expect_error(s + "[grid]\ntrailing_stop = [2]\n", 3, "grid.trailing_stop", "outside 0/1");
  expect_error(s + "[grid]\nrisk_per_trade = [0.5, 1.5]\n", 3, "grid.risk_per_trade",
               "outside double in (0,1]");
  expect_error(s + "[grid]\nfee_bps = [-1]\n", 3, "grid.fee_bps", "outside double >= 0");
  expect_error(s + "[fixed]\nbb_std = 2\n[grid]\nbb_std = [2]\n", 5, "grid.bb_std",
               "both [fixed] and [grid]");
  expect_error(s + "[fixed]\nleverage = 0\n", 3, "fixed.leverage", "outside double > 0");
  expect_error("strategy = \"macd\"\n", 1, "strategy", "unknown strategy 'macd'");
  expect_error(s + "threads = 4\n", 2, "threads", "unknown key");
  expect_error(s + "[grid]\nbb_std = = 2\n", 3, "", "invalid TOML");
  // 2^64 overflow: 12 parameters of 40 values and trailing_stop's 2: 2 * 40^12 = 3.4e19.
  std::string big = "[grid]\ntrailing_stop = [0, 1]\n";
  for (const char* p : {"bb_std", "atr_multiplier", "risk_per_trade", "leverage", "fee_bps",
                        "slippage_bps", "initial_capital"})
    big += std::string(p) + " = { start = 0.01, stop = 0.4, step = 0.01 }\n";
  for (const char* p : {"bb_period", "atr_period", "max_hold_bars", "spacing_bars", "trend_period"})
    big += std::string(p) + " = { start = 2, stop = 41, step = 1 }\n";
  try {
    parse_grid_text(big, "big.toml");
    ADD_FAILURE() << "overflow accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("2^64"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_grid_file("/no/such/grid.toml"), InputError);
}

}  // namespace
}  // namespace threadx
