// Per-block statistics (docs/ROBUST.md "Returns and blocks") recorded by the kernel in its single
// pass: block boundaries by hand, every block of real runs against the naive reference's equity
// curve and trade list, and every lane path (with its bar skipping) against the scalar path bit
// for bit, with the metrics unchanged by recording.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "data/loader.hpp"
#include "engine/cpu_backtest.hpp"
#include "indicators/indicator_bank.hpp"
#include "strategies/bb_atr/spec.hpp"
#include "strategy/block_stats.hpp"
#include "support/grids.hpp"
#include "support/paths.hpp"
#include "support/reference_backtest.hpp"
#include "support/same_bits.hpp"

namespace threadx {
namespace {

using testing::same_bits;

TEST(Blocks, BoundariesByHand) {
  // 11 bars: returns 1..10 in 4 blocks of floor((i-1)*4/10): i=1..3 -> 0, 4..5 -> 1, 6..8 -> 2,
  // 9..10 -> 3.
  EXPECT_EQ(block_start_bars(11, 4), (std::vector<std::int64_t>{1, 4, 6, 9, 11}));
  EXPECT_EQ(returns_per_block(11, 4), (std::vector<std::int64_t>{3, 2, 3, 2}));
  for (std::int64_t i = 1; i <= 10; ++i) {
    const std::vector<std::int64_t> s = block_start_bars(11, 4);
    const int b = block_of_return(i, 10, 4);
    EXPECT_LE(s[static_cast<std::size_t>(b)], i);
    EXPECT_LT(i, s[static_cast<std::size_t>(b) + 1]);
  }
  // S = T: one return per block.
  EXPECT_EQ(block_start_bars(4, 3), (std::vector<std::int64_t>{1, 2, 3, 4}));
  // 960 bars, 16 blocks: 959 returns, sizes 59 or 60, all of them counted once.
  const std::vector<std::int64_t> n = returns_per_block(960, 16);
  std::int64_t sum = 0;
  for (std::int64_t x : n) {
    EXPECT_TRUE(x == 59 || x == 60) << x;
    sum += x;
  }
  EXPECT_EQ(sum, 959);
}

// The reference's blocks: r[i] from its equity curve (r = 0 when E[i-1] <= 0, as the metrics),
// sums in increasing i, equity at each block's last bar, trades by exit bar.
std::vector<BlockStats> reference_blocks(const testing::RefResult& ref, int blocks) {
  const auto bars = static_cast<std::int64_t>(ref.equity.size());
  const std::vector<std::int64_t> starts = block_start_bars(bars, blocks);
  std::vector<BlockStats> out(static_cast<std::size_t>(blocks));
  for (int b = 0; b < blocks; ++b) {
    BlockStats& c = out[static_cast<std::size_t>(b)];
    for (std::int64_t i = starts[static_cast<std::size_t>(b)];
         i < starts[static_cast<std::size_t>(b) + 1]; ++i) {
      const double prev = ref.equity[static_cast<std::size_t>(i - 1)];
      const double r = prev > 0 ? ref.equity[static_cast<std::size_t>(i)] / prev - 1.0 : 0.0;
      c.sum_r += r;
      c.sum_r2 += r * r;
    }
    c.equity = ref.equity[static_cast<std::size_t>(starts[static_cast<std::size_t>(b) + 1] - 1)];
    for (const testing::RefTrade& t : ref.trades)
      if (t.exit_bar >= starts[static_cast<std::size_t>(b)] &&
          t.exit_bar < starts[static_cast<std::size_t>(b) + 1])
        ++c.trades;
  }
  return out;
}

void expect_near(double got, double want, const char* what, ComboId id, int b) {
  EXPECT_NEAR(got, want, 1e-9 * std::max(1.0, std::fabs(want)))
      << what << " id " << id << " block " << b;
}

TEST(Blocks, ScalarPathMatchesTheReferenceOnRealBars) {
  const BarSeries bars = load_bars({testing::btc_960()});
  IndicatorBank bank(bars);
  const Grid g = testing::mixed_grid();
  for (int blocks : {2, 7, 16, 64}) {
    const std::vector<std::int64_t> starts = block_start_bars(960, blocks);
    std::int64_t block_trades = 0;
    for (ComboId id = 3; id < g.size(); id += 37) {
      std::vector<BlockStats> got(static_cast<std::size_t>(blocks));
      Metrics m{};
      run_unit_cpu({g, bank}, {id, id + 1, id / g.group_size()}, &m, Isa::Scalar,
                   {blocks, starts.data(), got.data()});
      const bb_atr::Params p = bb_atr::decode(g.values_of(id));
      const auto ind = testing::reference_indicators(bars.high, bars.low, bars.close, p.bb_period,
                                                     p.atr_period, p.trend_period);
      const auto ref = testing::reference_backtest(bars.close, ind, p, bars.bars_per_year());
      const std::vector<BlockStats> want = reference_blocks(ref, blocks);
      std::int64_t trades = 0;
      for (int b = 0; b < blocks; ++b) {
        const BlockStats& x = got[static_cast<std::size_t>(b)];
        const BlockStats& w = want[static_cast<std::size_t>(b)];
        ASSERT_EQ(x.trades, w.trades) << "id " << id << " block " << b;
        expect_near(x.sum_r, w.sum_r, "sum_r", id, b);
        expect_near(x.sum_r2, w.sum_r2, "sum_r2", id, b);
        expect_near(x.equity, w.equity, "equity", id, b);
        trades += x.trades;
      }
      // Whole-run figures the metrics also hold, exactly.
      EXPECT_EQ(trades, m.trades) << "id " << id;
      EXPECT_EQ(got.back().equity, m.final_equity) << "id " << id;
      block_trades += trades;
    }
    EXPECT_GT(block_trades, 100) << "the sample should trade";
  }
}

// Every lane path against scalar, bit for bit, blocks and metrics, on the long file (lanes fall
// in and out of step, long flat stretches are skipped across many block boundaries) and with a
// ragged last vector.
TEST(Blocks, EveryLanePathEqualsScalarBitForBit) {
  const BarSeries bars = load_bars({testing::btc_49632()});
  IndicatorBank bank(bars);
  const Grid g = testing::grid_2p9m();
  for (int blocks : {3, 16, 64}) {
    const std::vector<std::int64_t> starts = block_start_bars(49632, blocks);
    for (ComboId group : {ComboId{0}, ComboId{901}}) {
      const WorkUnit u{group * g.group_size() + 5, group * g.group_size() + 5 + 43, group};
      const std::size_t cells = u.size() * static_cast<std::size_t>(blocks);
      std::vector<Metrics> scalar(u.size()), plain(u.size());
      std::vector<BlockStats> scalar_blocks(cells);
      run_unit_cpu({g, bank}, u, scalar.data(), Isa::Scalar,
                   {blocks, starts.data(), scalar_blocks.data()});
      run_unit_cpu({g, bank}, u, plain.data(), Isa::Scalar);
      for (std::size_t k = 0; k < u.size(); ++k)
        ASSERT_TRUE(same_bits(scalar[k], plain[k])) << "recording changed id " << u.begin + k;
      for (Isa isa : supported_isas()) {
        if (isa == Isa::Scalar) continue;
        std::vector<Metrics> rows(u.size());
        std::vector<BlockStats> got(cells);
        run_unit_cpu({g, bank}, u, rows.data(), isa, {blocks, starts.data(), got.data()});
        for (std::size_t k = 0; k < u.size(); ++k)
          ASSERT_TRUE(same_bits(rows[k], scalar[k])) << isa_name(isa) << " id " << u.begin + k;
        for (std::size_t c = 0; c < cells; ++c)
          ASSERT_TRUE(same_bits(got[c], scalar_blocks[c]))
              << isa_name(isa) << " id " << u.begin + c / static_cast<std::size_t>(blocks)
              << " block " << c % static_cast<std::size_t>(blocks);
      }
    }
  }
}

// Wide bands on the short file with 64 blocks of 15 bars: entries are rare, so the lane paths jump
// over several block boundaries at once; each jump must close every block it passes.
TEST(Blocks, SkipsAcrossSeveralBlocksCloseEachOne) {
  const BarSeries bars = load_bars({testing::btc_960()});
  IndicatorBank bank(bars);
  const Grid g = parse_grid_text(R"(strategy = "bb_atr"
[grid]
bb_period = [20, 60]
bb_std = [2.5, 3.0, 3.5]
atr_multiplier = [0.5, 3.0]
max_hold_bars = [3, 40]
)",
                                 "wide.toml");
  const int blocks = 64;
  const std::vector<std::int64_t> starts = block_start_bars(960, blocks);
  std::int64_t trades = 0, empty_blocks = 0;
  for (ComboId group = 0; group < g.group_count(); ++group) {
    const WorkUnit u{group * g.group_size(), (group + 1) * g.group_size(), group};
    const std::size_t cells = u.size() * static_cast<std::size_t>(blocks);
    std::vector<Metrics> scalar(u.size());
    std::vector<BlockStats> want(cells);
    run_unit_cpu({g, bank}, u, scalar.data(), Isa::Scalar, {blocks, starts.data(), want.data()});
    for (const BlockStats& c : want) {
      trades += c.trades;
      empty_blocks += c.sum_r2 == 0.0;
    }
    for (Isa isa : supported_isas()) {
      if (isa == Isa::Scalar) continue;
      std::vector<Metrics> rows(u.size());
      std::vector<BlockStats> got(cells);
      run_unit_cpu({g, bank}, u, rows.data(), isa, {blocks, starts.data(), got.data()});
      for (std::size_t c = 0; c < cells; ++c)
        ASSERT_TRUE(same_bits(got[c], want[c]))
            << isa_name(isa) << " id " << u.begin + c / 64 << " block " << c % 64;
    }
  }
  EXPECT_GT(trades, 50) << "the grid should trade";
  EXPECT_GT(empty_blocks, static_cast<std::int64_t>(g.size()) * 32) << "mostly flat blocks";
}

}  // namespace
}  // namespace threadx
