// ma_cross through the engine (docs/strategies/ma_cross.md section 7 and the drivers): its grid
// files (ids in table order, the fast < slow rule and its message), every CPU path against the
// reference run_one on the real BTC bars, and the report's trace with same-bar reversals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "data/loader.hpp"
#include "engine/cpu_backtest.hpp"
#include "engine/isa.hpp"
#include "engine/replay.hpp"
#include "grid/grid.hpp"
#include "indicators/indicator_bank.hpp"
#include "report/rerun.hpp"
#include "strategies/ma_cross/policy.hpp"
#include "strategy/catalog.hpp"
#include "strategy/returns_recorder.hpp"
#include "support/paths.hpp"

namespace threadx::ma_cross {
namespace {

std::string error_of(const std::string& text) {
  try {
    parse_grid_text(text, "g.toml");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

bool same_bits(const Metrics& a, const Metrics& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

TEST(MaCrossGrid, IsRegisteredWithItsTable) {
  const StrategySpec* s = find_strategy("ma_cross");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s, &kSpec);
  EXPECT_EQ(strategy_names(), "bb_atr, ma_cross");
  EXPECT_EQ(default_strategy().name, "bb_atr");  // a file without strategy = is bb_atr
  ASSERT_EQ(s->param_count(), 11u);
  const char* names[] = {"fast_period",    "slow_period",   "ma_type",        "atr_period",
                         "atr_multiplier", "max_hold_bars", "risk_per_trade", "leverage",
                         "fee_bps",        "slippage_bps",  "initial_capital"};
  for (std::size_t p = 0; p < 11; ++p) {
    EXPECT_EQ(s->params[p].name, names[p]);
    EXPECT_EQ(s->id_order[p], p);  // the table order is the id order
    EXPECT_TRUE(in_domain(s->params[p], s->params[p].default_value)) << names[p];
  }
  EXPECT_EQ(s->key_count, 4u);
  EXPECT_FALSE(in_domain(s->params[kSlowPeriod], 1));  // slow >= 2
  EXPECT_TRUE(in_domain(s->params[kMaxHoldBars], 0));  // 0: no time exit
  EXPECT_FALSE(in_domain(s->params[kMaType], 2));
  // The defaults decode to the kernel's defaults.
  const Grid g = Grid::defaults(s);
  const Params p = decode(g.values_of(0)), d;
  EXPECT_EQ(p.fast_period, d.fast_period);
  EXPECT_EQ(p.slow_period, d.slow_period);
  EXPECT_EQ(p.ma_type, d.ma_type);
  EXPECT_EQ(p.atr_period, d.atr_period);
  EXPECT_EQ(p.atr_multiplier, d.atr_multiplier);
  EXPECT_EQ(p.max_hold_bars, d.max_hold_bars);
  EXPECT_EQ(p.initial_capital, d.initial_capital);
  // The table keeps the structural rules the registry checks at compile time; broken copies fail.
  EXPECT_TRUE(well_formed(kSpec));
  static constexpr OrderedPair kBackwards[] = {{kSlowPeriod, kFastPeriod}};
  static constexpr std::size_t kTwice[] = {0, 0, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  StrategySpec bad = kSpec;
  bad.ordered = kBackwards;  // the defaults (10, 30) break slow < fast
  EXPECT_FALSE(well_formed(bad));
  bad = kSpec;
  bad.id_order = kTwice;
  EXPECT_FALSE(well_formed(bad));
  bad = kSpec;
  bad.key_count = 12;
  EXPECT_FALSE(well_formed(bad));
  // The example grid is valid.
  EXPECT_EQ(parse_grid_text(std::string(kSpec.example_grid), "example.toml").size(), 36u);
}

TEST(MaCrossGrid, IdsAreMixedRadixInTableOrder) {
  const Grid g = parse_grid_text(
      "strategy = \"ma_cross\"\n[grid]\natr_multiplier = [2.0, 3.0, 4.0]\nfast_period = [5, 10]\n"
      "ma_type = [0, 1]\nslow_period = [20, 40]\nmax_hold_bars = [0, 10]\n",
      "g.toml");
  EXPECT_EQ(g.strategy, &kSpec);
  EXPECT_EQ(g.size(), 48u);
  EXPECT_EQ(g.group_count(), 8u);  // fast x slow x ma_type (atr_period fixed)
  EXPECT_EQ(g.group_size(), 6u);   // atr_multiplier x max_hold_bars
  // id = (((fast * 2 + slow) * 2 + ma) * 1 + atr) * 3 + mult) * 2 + hold
  const Params p = decode(g.values_of(((1 * 2 + 0) * 2 + 1) * 6 + 2 * 2 + 1));
  EXPECT_EQ(p.fast_period, 10);
  EXPECT_EQ(p.slow_period, 20);
  EXPECT_EQ(p.ma_type, 1);
  EXPECT_EQ(p.atr_multiplier, 4.0);
  EXPECT_EQ(p.max_hold_bars, 10);
  for (ComboId id = 0; id < g.size(); ++id) ASSERT_EQ(g.id_of(g.indices_of(id)), id);
  Grid::Odometer o(g, 0);
  for (ComboId id = 0; id < g.size(); ++id, o.next()) ASSERT_EQ(o.values(), g.values_of(id)) << id;
}

TEST(MaCrossGrid, FastBelowSlowIsCheckedWithTheContractsMessage) {
  const std::string head = "strategy = \"ma_cross\"\n";
  // ma_cross.md section 7's example.
  EXPECT_EQ(
      error_of(head + "# a comment\n[grid]\nfast_period = { start = 5, stop = 30, step = 5 }\n"
                      "slow_period = [20, 50, 100]\n"),
      "g.toml:5: key 'grid.slow_period': fast_period must be < slow_period in every "
      "combination, but fast_period = 30 meets slow_period = 20");
  // The later entry in checking order: [fixed] before [grid], whatever the lines.
  EXPECT_EQ(error_of(head + "[grid]\nslow_period = [20, 30]\n[fixed]\nfast_period = 25\n"),
            "g.toml:3: key 'grid.slow_period': fast_period must be < slow_period in every "
            "combination, but fast_period = 25 meets slow_period = 20");
  // Only one written: the other keeps its default (fast 10, slow 30); equality is refused.
  EXPECT_EQ(error_of(head + "[fixed]\nslow_period = 10\n"),
            "g.toml:3: key 'fixed.slow_period': fast_period must be < slow_period in every "
            "combination, but fast_period = 10 meets slow_period = 10");
  EXPECT_EQ(error_of(head + "[grid]\nfast_period = [10, 40]\n"),
            "g.toml:3: key 'grid.fast_period': fast_period must be < slow_period in every "
            "combination, but fast_period = 40 meets slow_period = 30");
  // Any other problem in the file is reported first.
  EXPECT_EQ(error_of(head + "[grid]\nfast_period = [50]\nslow_period = [20]\nma_type = [2]\n")
                .rfind("g.toml:5: key 'grid.ma_type': ma_type = 2 is outside 0/1", 0),
            0u);
  EXPECT_EQ(error_of(head + "[grid]\nfast_period = [29]\n"), "");
  // A bb_atr parameter is unknown here, with ma_cross's list.
  EXPECT_EQ(error_of(head + "[fixed]\nspacing_bars = 3\n"),
            "g.toml:3: key 'fixed.spacing_bars': unknown parameter (parameters: fast_period, "
            "slow_period, ma_type, atr_period, atr_multiplier, max_hold_bars, risk_per_trade, "
            "leverage, fee_bps, slippage_bps, initial_capital)");
  EXPECT_EQ(error_of("strategy = \"macd\"\n"),
            "g.toml:1: key 'strategy': unknown strategy 'macd' (known: bb_atr, ma_cross)");
}

// 1,152 combinations over 48 key groups on the 960 real bars.
Grid sweep_grid() {
  return parse_grid_text(
      "strategy = \"ma_cross\"\n[grid]\nfast_period = [3, 8, 20]\nslow_period = [21, 50]\n"
      "ma_type = [0, 1]\natr_period = [5, 14, 30, 60]\natr_multiplier = [0.5, 1.0, 2.0, 4.0]\n"
      "max_hold_bars = [0, 7, 40]\nslippage_bps = [0.0, 2.0]\n",
      "g.toml");
}

TEST(MaCrossSweep, EveryCpuPathEqualsRunOneWithBlocks) {
  const BarSeries bars = load_bars({testing::btc_960()});
  const Grid g = sweep_grid();
  IndicatorBank bank(bars);
  constexpr int kBlocks = 6;
  const std::vector<std::int64_t> starts =
      block_start_bars(static_cast<std::int64_t>(bars.size()), kBlocks);
  std::vector<Metrics> want(g.size());
  std::vector<BlockStats> want_cells(g.size() * kBlocks);
  for (ComboId id = 0; id < g.size(); ++id) {
    BlockCell<double> cells[kMaxBlocks];
    want[id] = ma_cross::run_one(Policy::series(bank, g.key_of_group(id / g.group_size())),
                                 decode(g.values_of(id)), bars.bars_per_year(),
                                 BlockRecorder<double>(starts.data(), kBlocks, cells));
    for (int b = 0; b < kBlocks; ++b)
      want_cells[id * kBlocks + static_cast<std::size_t>(b)] =
          BlockStats{cells[b].sum_r, cells[b].sum_r2, cells[b].equity,
                     static_cast<std::int32_t>(cells[b].trades)};
  }
  std::int64_t trades = 0;
  for (const Metrics& m : want) trades += m.trades;
  EXPECT_GT(trades, static_cast<std::int64_t>(g.size()));  // the bars do cross
  for (Isa isa : supported_isas()) {
    std::vector<Metrics> got(g.size());
    std::vector<BlockStats> cells(g.size() * kBlocks);
    // Units of 5 ids: blocks of lanes cut short and spread over two key groups' boundaries.
    for (ComboId begin = 0; begin < g.size();) {
      const ComboId group = begin / g.group_size();
      const ComboId end = std::min({begin + 5, (group + 1) * g.group_size(), g.size()});
      WorkUnit u;
      u.begin = begin, u.end = end, u.group = group;
      run_unit_cpu({g, bank}, u, got.data() + begin, isa,
                   BlockOutput{kBlocks, starts.data(), cells.data() + begin * kBlocks});
      begin = end;
    }
    for (ComboId id = 0; id < g.size(); ++id)
      ASSERT_TRUE(same_bits(got[id], want[id])) << isa_name(isa) << " id " << id;
    for (std::size_t c = 0; c < cells.size(); ++c)  // field by field: BlockStats has padding
      ASSERT_TRUE(std::memcmp(&cells[c].sum_r, &want_cells[c].sum_r, 3 * sizeof(double)) == 0 &&
                  cells[c].trades == want_cells[c].trades)
          << isa_name(isa) << " cell " << c;
  }
}

TEST(MaCrossSweep, TheReportsTraceIsTheRowWithItsReversals) {
  const BarSeries bars = load_bars({testing::btc_960()});
  const Grid g = sweep_grid();
  IndicatorBank bank(bars);
  std::size_t reversals = 0;
  for (ComboId id = 0; id < g.size(); id += 7) {
    const Params p = decode(g.values_of(id));
    const Metrics want = ma_cross::run_one(
        Policy::series(bank, g.key_of_group(id / g.group_size())), p, bars.bars_per_year());
    const report::Rerun r = report::rerun_combination({g, bank}, id);
    ASSERT_TRUE(same_bits(r.metrics, want)) << "id " << id;
    ASSERT_EQ(r.trades.size(), static_cast<std::size_t>(want.trades)) << "id " << id;
    ASSERT_EQ(r.equity.back(), want.final_equity) << "id " << id;
    double pnl = 0;
    for (std::size_t k = 0; k < r.trades.size(); ++k) {
      const Trade& t = r.trades[k];
      pnl += t.pnl;
      ASSERT_LE(t.entry_bar, t.exit_bar) << "id " << id << " trade " << k;
      if (k > 0) {
        ASSERT_LE(r.trades[k - 1].exit_bar, t.entry_bar) << "id " << id << " trade " << k;
        reversals += r.trades[k - 1].exit_bar == t.entry_bar;
      }
    }
    EXPECT_NEAR(pnl, want.final_equity - p.initial_capital, 1e-6 * p.initial_capital);
    ASSERT_EQ(r.overlays.size(), 2u);
    EXPECT_NE(r.overlays[0].name.find(p.ma_type == 0 ? "fast SMA" : "fast EMA"), std::string::npos);
    // The returns replayed for the DSR are the equity's.
    const std::vector<double> ret = replay_returns({g, bank}, id);
    ASSERT_EQ(ret.size(), bars.size() - 1);
  }
  EXPECT_GT(reversals, 0u);  // a cross while in a position reverses it on the same bar
}

}  // namespace
}  // namespace threadx::ma_cross
