// The bb_atr rules of STRATEGY.md on hand-made bar series whose outcome is worked out by hand in
// the comments, then the kernel against the naive reference implementation on real BTC data.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "strategies/bb_atr/spec.hpp"
#include "support/reference_backtest.hpp"

namespace threadx {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kP = 35040.0;  // 15m bars per year

// Hand-set indicator series: mid and sd constant (bands at mid +- k*sd), atr constant.
struct Hand {
  std::vector<double> close, mid, sd, atr, ema;
  int warmup = 2;

  Hand(std::vector<double> c, double mid_v, double sd_v, double atr_v) : close(std::move(c)) {
    mid.assign(close.size(), mid_v);
    sd.assign(close.size(), sd_v);
    atr.assign(close.size(), atr_v);
  }
  bb_atr::SeriesView view() const {
    return {close.data(),
            mid.data(),
            sd.data(),
            atr.data(),
            ema.empty() ? nullptr : ema.data(),
            static_cast<std::int64_t>(close.size()),
            warmup};
  }
};

// Defaults except the costs, which the hand cases set explicitly.
bb_atr::Params base() {
  bb_atr::Params p;
  p.bb_period = 2;
  p.atr_period = 1;
  p.fee_bps = 0;
  p.slippage_bps = 0;
  p.spacing_bars = 0;
  return p;
}

// Mid 100, sd 2, k 2 -> lower 96, upper 104. atr 5, a 1.5 -> stop distance d = 7.5.
TEST(BbAtrRules, LongEntryOnLowerCrossThenTakeProfitAtMid) {
  Hand h({100, 100, 100, 90, 95, 101, 101}, 100, 2, 5);
  const bb_atr::Params p = base();
  const Metrics m = bb_atr::run_one(h.view(), p, kP);
  // i=3: 90 < 96 and 100 >= 96 -> long at 90, qty = min(10000*0.01/7.5, 10000/90) = 13.333...
  const double qty = 10000 * 0.01 / 7.5;
  // i=4: 95 above the stop (82.5), below mid: hold; trailing stop -> max(82.5, 87.5) = 87.5.
  // i=5: 101 >= mid 100 -> take profit at 101, pnl = qty * 11.
  EXPECT_EQ(m.trades, 1);
  EXPECT_DOUBLE_EQ(m.final_equity, 10000 + qty * 11);
  EXPECT_NEAR(m.total_return, qty * 11 / 10000, 1e-14);
  EXPECT_EQ(m.win_rate, 1.0);
  EXPECT_EQ(m.profit_factor, std::numeric_limits<double>::infinity());
  EXPECT_DOUBLE_EQ(m.expectancy, qty * 11);
  EXPECT_DOUBLE_EQ(m.exposure, 2.0 / 7.0);  // open at the close of bars 3 and 4
  EXPECT_EQ(m.fees, 0.0);
  EXPECT_EQ(m.max_drawdown, 0.0);  // equity 10000, ..., 10066.67, 10146.67: never falls
}

TEST(BbAtrRules, ShortEntryWithSlippageAndFeesStoppedOut) {
  Hand h({100, 100, 100, 105, 113, 113}, 100, 2, 5);
  bb_atr::Params p = base();
  p.fee_bps = 4.5;
  p.slippage_bps = 10;
  const double f = 4.5e-4, s = 1e-3;
  const Metrics m = bb_atr::run_one(h.view(), p, kP);
  // i=3: 105 > 104, 100 <= 104 -> short; sell fill 105*(1-s); stop = p_in + 7.5.
  const double p_in = 105 * (1 - s);
  const double qty = std::min(10000 * 0.01 / 7.5, 10000 * 1.0 / p_in);
  const double fee_in = qty * p_in * f;
  // i=4: 113 >= stop 112.395 -> exit, buy fill 113*(1+s).
  const double p_out = 113 * (1 + s);
  const double fee_out = qty * p_out * f;
  const double pnl = -qty * (p_out - p_in) - fee_in - fee_out;
  EXPECT_EQ(m.trades, 1);
  EXPECT_DOUBLE_EQ(m.expectancy, pnl);
  EXPECT_DOUBLE_EQ(m.fees, fee_in + fee_out);
  EXPECT_DOUBLE_EQ(m.final_equity, 10000 + pnl);
  EXPECT_EQ(m.win_rate, 0.0);
  EXPECT_EQ(m.profit_factor, 0.0);  // a loss and no win
  // Equity: 10000 x3, 10000 - fee_in - qty*(105 - p_in) at bar 3, 10000 + pnl from bar 4.
  const double e3 = 10000 - fee_in - qty * (105 - p_in);
  EXPECT_NEAR(m.max_drawdown, 1 - (10000 + pnl) / 10000, 1e-14);
  EXPECT_LT(e3, 10000);
}

TEST(BbAtrRules, TimeExitAfterMaxHoldBars) {
  Hand h({100, 100, 100, 90, 92, 92, 92, 92}, 100, 2, 5);
  bb_atr::Params p = base();
  p.max_hold_bars = 2;
  p.trailing_stop = 0;
  const Metrics m = bb_atr::run_one(h.view(), p, kP);
  // Long at i=3 (90); i=4: 1 bar held; i=5: 5-3 >= 2 -> exit at 92. Then flat: 92 is below the
  // lower band but the previous close (92) is too, so there is no fresh cross.
  const double qty = 10000 * 0.01 / 7.5;
  EXPECT_EQ(m.trades, 1);
  EXPECT_DOUBLE_EQ(m.final_equity, 10000 + qty * 2);
  EXPECT_DOUBLE_EQ(m.exposure, 2.0 / 8.0);
}

TEST(BbAtrRules, TrailingStopRatchetsAndExits) {
  // Long at 90 (stop 82.5); 95 -> stop 87.5; 88 -> stop stays 87.5 (88-7.5 = 80.5 is lower);
  // 87 <= 87.5 -> stopped out at 87.
  const std::vector<double> c{100, 100, 100, 90, 95, 88, 87, 87};
  Hand h(c, 100, 2, 5);
  bb_atr::Params p = base();
  const double qty = 10000 * 0.01 / 7.5;
  Metrics m = bb_atr::run_one(h.view(), p, kP);
  EXPECT_EQ(m.trades, 1);
  EXPECT_DOUBLE_EQ(m.final_equity, 10000 + qty * (87 - 90));
  EXPECT_DOUBLE_EQ(m.exposure, 3.0 / 8.0);
  // Without trailing the stop stays at 82.5: no stop exit, forced exit at the last close (87),
  // so the same pnl but the position stays open to the end.
  p.trailing_stop = 0;
  m = bb_atr::run_one(h.view(), p, kP);
  EXPECT_EQ(m.trades, 1);
  EXPECT_DOUBLE_EQ(m.final_equity, 10000 + qty * (87 - 90));
  EXPECT_DOUBLE_EQ(m.exposure, 5.0 / 8.0);  // bars 3..7, the last one counted before the exit
}

TEST(BbAtrRules, NoEntryOnExitBarAndSpacingBetweenEntries) {
  // i=3 long at 90; i=4: 101 >= mid exits; i=5: 90 crosses the lower band again -> long;
  // i=6: 101 exits.  Spacing 0 allows the second entry (5-3 >= 0)...
  const std::vector<double> c{100, 100, 100, 90, 101, 90, 101, 101};
  Hand h(c, 100, 2, 5);
  bb_atr::Params p = base();
  EXPECT_EQ(bb_atr::run_one(h.view(), p, kP).trades, 2);
  // ...spacing 3 blocks it (5-3 = 2 < 3), spacing 2 does not.
  p.spacing_bars = 3;
  EXPECT_EQ(bb_atr::run_one(h.view(), p, kP).trades, 1);
  p.spacing_bars = 2;
  EXPECT_EQ(bb_atr::run_one(h.view(), p, kP).trades, 2);
  // An exit bar that is also a fresh short signal does not enter: 110 at i=4 exits the long
  // (above mid) and crosses the upper band, but no short is opened on that bar.
  Hand h2({100, 100, 100, 90, 110, 110, 110}, 100, 2, 5);
  p.spacing_bars = 0;
  const Metrics m = bb_atr::run_one(h2.view(), p, kP);
  EXPECT_EQ(m.trades, 1);
  EXPECT_DOUBLE_EQ(m.exposure, 1.0 / 7.0);
}

TEST(BbAtrRules, NoSignalBeforeWarmup) {
  Hand h({100, 90, 100, 100, 100}, 100, 2, 5);
  h.warmup = 2;
  EXPECT_EQ(bb_atr::run_one(h.view(), base(), kP).trades, 0);  // the cross is at i=1 < warmup
  h.warmup = 1;
  EXPECT_EQ(bb_atr::run_one(h.view(), base(), kP).trades, 1);
}

TEST(BbAtrRules, TrendFilterGatesEachSide) {
  // Long cross at i=3 (90): taken only when 90 > ema.
  Hand h({100, 100, 100, 90, 101, 101}, 100, 2, 5);
  h.ema.assign(h.close.size(), 80.0);
  EXPECT_EQ(bb_atr::run_one(h.view(), base(), kP).trades, 1);
  h.ema.assign(h.close.size(), 95.0);
  EXPECT_EQ(bb_atr::run_one(h.view(), base(), kP).trades, 0);
  // Short cross at i=3 (110): taken only when 110 < ema.
  Hand s({100, 100, 100, 110, 99, 99}, 100, 2, 5);
  s.ema.assign(s.close.size(), 120.0);
  EXPECT_EQ(bb_atr::run_one(s.view(), base(), kP).trades, 1);
  s.ema.assign(s.close.size(), 105.0);
  EXPECT_EQ(bb_atr::run_one(s.view(), base(), kP).trades, 0);
}

TEST(BbAtrRules, LeverageCapBindsTheSize) {
  Hand h({100, 100, 100, 90, 101, 101}, 100, 2, 5);
  bb_atr::Params p = base();
  p.risk_per_trade = 1.0;  // risk sizing: 10000/7.5 = 1333 units, notional far above equity
  p.leverage = 2.0;        // cap: 10000*2/90 = 222.2 units
  const Metrics m = bb_atr::run_one(h.view(), p, kP);
  EXPECT_DOUBLE_EQ(m.final_equity, 10000 + 10000 * 2.0 / 90 * 11);
}

TEST(BbAtrRules, ZeroAtrMeansNoEntry) {
  Hand h({100, 100, 100, 90, 101, 101}, 100, 2, 0);
  EXPECT_EQ(bb_atr::run_one(h.view(), base(), kP).trades, 0);
}

TEST(BbAtrRules, NoTradeLeavesEquityFlat) {
  // Closes inside the bands throughout: no signal, every metric at its no-trade value.
  Hand h({100, 99, 101, 100, 97, 103, 100}, 100, 2, 5);
  const Metrics m = bb_atr::run_one(h.view(), base(), kP);
  EXPECT_EQ(m.trades, 0);
  EXPECT_EQ(m.final_equity, 10000.0);
  EXPECT_EQ(m.total_return, 0.0);
  EXPECT_EQ(m.sharpe, 0.0);
  EXPECT_EQ(m.sortino, 0.0);
  EXPECT_EQ(m.max_drawdown, 0.0);
  EXPECT_EQ(m.win_rate, 0.0);
  EXPECT_EQ(m.profit_factor, 0.0);
  EXPECT_EQ(m.expectancy, 0.0);
  EXPECT_EQ(m.exposure, 0.0);
  EXPECT_EQ(m.fees, 0.0);
}

TEST(BbAtrRules, ForcedExitAtTheLastBar) {
  // Long at 90 and never exits by rule: closed at the last close 93, counted as a trade.
  Hand h({100, 100, 100, 90, 91, 93}, 100, 2, 5);
  bb_atr::Params p = base();
  p.fee_bps = 10;
  const Metrics m = bb_atr::run_one(h.view(), p, kP);
  const double qty = std::min(10000 * 0.01 / 7.5, 10000 / 90.0);
  const double fee_in = qty * 90 * 1e-3, fee_out = qty * 93 * 1e-3;
  EXPECT_EQ(m.trades, 1);
  EXPECT_DOUBLE_EQ(m.final_equity, 10000 - fee_in + qty * 3 - fee_out);
  EXPECT_DOUBLE_EQ(m.fees, fee_in + fee_out);
}

TEST(BbAtrMetrics, SharpeSortinoDrawdownMatchTwoPassOnTheEquityCurve) {
  // Two winning longs with a dip in between (85, 80 under the entry at 90): ups and downs.
  Hand h({100, 100, 100, 90, 85, 80, 100, 100, 90, 95, 102, 102}, 100, 2, 5);
  bb_atr::Params p = base();
  p.trailing_stop = 0;
  p.atr_multiplier = 3;  // stop 75: the first long survives 80 and exits at 100 (tp)
  const Metrics m = bb_atr::run_one(h.view(), p, kP);
  testing::RefSeries ind{h.mid, h.sd, h.atr, {}};
  const testing::RefResult ref = testing::reference_backtest(h.close, ind, p, kP);
  ASSERT_EQ(ref.trades.size(), 2u);
  EXPECT_EQ(m.trades, 2);
  EXPECT_NEAR(m.sharpe, ref.metrics.sharpe, 1e-9 * std::fabs(ref.metrics.sharpe));
  EXPECT_NEAR(m.sortino, ref.metrics.sortino, 1e-9 * std::fabs(ref.metrics.sortino));
  EXPECT_DOUBLE_EQ(m.max_drawdown, ref.metrics.max_drawdown);
  EXPECT_GT(m.max_drawdown, 0.0);
  EXPECT_NE(m.sharpe, 0.0);
  (void)kNan;
}

}  // namespace
}  // namespace threadx
