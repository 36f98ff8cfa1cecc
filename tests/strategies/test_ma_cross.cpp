// The ma_cross rules of docs/strategies/ma_cross.md: the worked example of section 9 bit for bit
// (indicators, bar loop, trades, metrics, variants), one hand-worked case per rule, then the SIMD
// lanes against the one-combination reference and the candidate-bar skipping against the full bar
// loop, on real BTC data.
//
// This file runs the kernel with the 2-lane vector type of strategy/lanes.hpp (what the baseline
// SIMD path, engine/lanes/lane_kernel.cpp with THREADX_LANES=2, runs), so it defines THREADX_LANES
// before any include. Nothing else in this file depends on it.
#define THREADX_LANES 2

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "data/loader.hpp"
#include "indicators/indicators.hpp"
#include "strategies/ma_cross/ma_cross.hpp"
#include "strategy/block_stats.hpp"
#include "support/paths.hpp"
#include "support/same_bits.hpp"

namespace threadx {
namespace {

using ma_cross::LaneParams;
using ma_cross::Params;
using ma_cross::Series;
using ma_cross::State;

constexpr double kP = 35040.0;  // 15m bars per year

bool same_double(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}
#define EXPECT_BITS(a, b) EXPECT_PRED2(same_double, a, b)

// ---- indicator series of one key group, computed with the project's own indicator functions ----

struct KeySeries {
  std::vector<double> close, fast, slow, atr;
  int warmup = 0;

  KeySeries(const std::vector<double>& c, const std::vector<double>& h,
            const std::vector<double>& l, const Params& p)
      : close(c) {
    fast = p.ma_type == 0 ? rolling_mean(c, p.fast_period) : ema(c, p.fast_period);
    slow = p.ma_type == 0 ? rolling_mean(c, p.slow_period) : ema(c, p.slow_period);
    atr = atr_wilder(true_range(h, l, c), p.atr_period);
    warmup = ma_cross::warmup_of(p);
  }
  [[nodiscard]] Series view() const {
    return {
        close.data(), fast.data(), slow.data(), atr.data(), static_cast<std::int64_t>(close.size()),
        warmup};
  }
};

// The cross bars of a key group (the candidate list of run_bars).
std::vector<std::int32_t> cross_bars(const Series& s) {
  std::vector<std::int32_t> out;
  for (std::int64_t i = 0; i < s.n_bars; ++i)
    if (ma_cross::cross_bar(s, i)) out.push_back(static_cast<std::int32_t>(i));
  return out;
}

// run_one's loop from bar 0, keeping the state after every bar and E[i] (the restated E[N-1] at
// the end): what the tables of section 9 show.
struct Trace {
  std::vector<State<double>> after;  // state after bar i (steps 1-3; finish at the last bar)
  std::vector<double> equity;        // E[i] as observed
  State<double> final_state;
};

Trace trace(const Series& s, const Params& sp) {
  const LaneParams<double> p = ma_cross::lane_params<double>(sp);
  State<double> st;
  ma_cross::init(st, p);
  NoBlocks none;
  Trace t;
  for (std::int64_t i = 0; i < s.n_bars; ++i) {
    const ma_cross::BarInputs b = ma_cross::bar_inputs(s, i);
    double e = ma_cross::step(st, p, b, static_cast<double>(i));
    if (i == s.n_bars - 1) e = ma_cross::finish(st, p, b.c);
    ma_cross::observe(st, e, i > 0, none);
    t.after.push_back(st);
    t.equity.push_back(e);
  }
  t.final_state = st;
  return t;
}

// ---- 9. Worked example
// ----------------------------------------------------------------------------

const char* const kExampleCsv =
    "timestamp,open,high,low,close,volume\n"
    "0,100,101,99,100,1\n"
    "900000,99,100,98,99,1\n"
    "1800000,98,99,97,98,1\n"
    "2700000,97,98,96,97,1\n"
    "3600000,99,100,98,99,1\n"
    "4500000,102,103,101,102,1\n"
    "5400000,104,105,103,104,1\n"
    "6300000,105,106,104,105,1\n"
    "7200000,101,102,100,101,1\n"
    "8100000,99,100,98,99,1\n"
    "9000000,95,96,94,95,1\n"
    "9900000,93,94,92,93,1\n"
    "10800000,94,95,93,94,1\n"
    "11700000,97,98,96,97,1\n"
    "12600000,99,100,98,99,1\n"
    "13500000,98,99,97,98,1\n";

// The example's bars, read by the project's loader from the bar file of section 9.
const BarSeries& example_bars() {
  static const BarSeries bars = [] {
    // ctest runs each test in its own process, several at once: one file per process.
    const std::string path =
        ::testing::TempDir() + "ma_cross_worked_example." + std::to_string(::getpid()) + ".csv";
    std::ofstream(path) << kExampleCsv;
    BarSeries loaded = load_bars({path});
    std::remove(path.c_str());
    return loaded;
  }();
  return bars;
}

Params example_params() {
  Params p;
  p.fast_period = 2;
  p.slow_period = 4;
  p.ma_type = 0;
  p.atr_period = 2;
  p.atr_multiplier = 1.5;
  p.max_hold_bars = 0;
  p.risk_per_trade = 0.05;
  p.leverage = 1.0;
  p.fee_bps = 10;
  p.slippage_bps = 0;
  p.initial_capital = 10000;
  return p;
}

KeySeries example_series(const Params& p) {
  const BarSeries& b = example_bars();
  return KeySeries(b.close, b.high, b.low, p);
}

TEST(MaCrossWorkedExample, BarsAndBarsPerYear) {
  const BarSeries& b = example_bars();
  ASSERT_EQ(b.size(), 16u);
  EXPECT_EQ(b.bar_ms, 900000);
  EXPECT_BITS(b.bars_per_year(), 35040.0);
  for (std::size_t i = 0; i < b.size(); ++i) {
    EXPECT_EQ(b.high[i], b.close[i] + 1);
    EXPECT_EQ(b.low[i], b.close[i] - 1);
  }
}

TEST(MaCrossWorkedExample, IndicatorsAndCrosses) {
  const Params p = example_params();
  const KeySeries k = example_series(p);
  const BarSeries& b = example_bars();
  const std::vector<double> tr = true_range(b.high, b.low, b.close);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // The table of section 9, "Indicators and crosses" (– is NaN: not defined).
  const std::vector<double> want_tr{2, 2, 2, 2, 3, 4, 3, 2, 5, 3, 5, 3, 2, 4, 3, 2};
  const std::vector<double> want_fast{nan, 99.5, 98.5, 97.5, 98,   100.5, 103, 104.5,
                                      103, 100,  97,   94,   93.5, 95.5,  98,  98.5};
  const std::vector<double> want_slow{nan, nan,    nan, 98.5, 98.25, 99,    100.5, 102.5,
                                      103, 102.25, 100, 97,   95.25, 94.75, 95.75, 97};
  const std::vector<double> want_atr{
      nan,           nan,           2,        2,         2.5,        3.25,        3.125,
      2.5625,        3.78125,       3.390625, 4.1953125, 3.59765625, 2.798828125, 3.3994140625,
      3.19970703125, 2.599853515625};
  for (std::size_t i = 0; i < 16; ++i) {
    SCOPED_TRACE(i);
    EXPECT_BITS(tr[i], want_tr[i]);
    if (std::isnan(want_fast[i])) {
      EXPECT_TRUE(std::isnan(k.fast[i]));
    } else {
      EXPECT_BITS(k.fast[i], want_fast[i]);
    }
    if (std::isnan(want_slow[i])) {
      EXPECT_TRUE(std::isnan(k.slow[i]));
    } else {
      EXPECT_BITS(k.slow[i], want_slow[i]);
    }
    if (std::isnan(want_atr[i])) {
      EXPECT_TRUE(std::isnan(k.atr[i]));
    } else {
      EXPECT_BITS(k.atr[i], want_atr[i]);
    }
  }
  EXPECT_EQ(k.warmup, 4);
  // Signals: bull at 5 and 13, bear at 9 (bar 8 is a tie, never a cross); none before bar 4.
  const Series s = k.view();
  for (std::int64_t i = 0; i < 16; ++i) {
    SCOPED_TRACE(i);
    const ma_cross::BarInputs in = ma_cross::bar_inputs(s, i);
    EXPECT_EQ(in.bull, i == 5 || i == 13);
    EXPECT_EQ(in.bear, i == 9);
    EXPECT_EQ(ma_cross::cross_bar(s, i), i == 5 || i == 9 || i == 13);
  }
  EXPECT_EQ(cross_bars(s), (std::vector<std::int32_t>{5, 9, 13}));
}

TEST(MaCrossWorkedExample, BarLoopTable) {
  const Params p = example_params();
  const KeySeries k = example_series(p);
  const Trace t = trace(k.view(), p);
  // "The bar loop" table: side, stop and cash after the bar, E[i].
  struct Row {
    double side, stop, cash, e;
  };
  const double no = 0;  // stop not shown (flat)
  const std::vector<Row> want{
      {0, no, 10000.0, 10000.0},
      {0, no, 10000.0, 10000.0},
      {0, no, 10000.0, 10000.0},
      {0, no, 10000.0, 10000.0},
      {0, no, 10000.0, 10000.0},
      {+1, 97.125, 9990.0, 9990.0},
      {+1, 99.3125, 9990.0, 10186.078431372549},
      {+1, 101.15625, 9990.0, 10284.117647058823},
      {0, no, 9882.058823529413, 9882.058823529413},
      {-1, 104.0859375, 9872.440893467065, 9872.440893467065},
      {-1, 101.29296875, 9872.440893467065, 10261.044128309388},
      {-1, 98.396484375, 9872.440893467065, 10455.34574573055},
      {-1, 98.1982421875, 9872.440893467065, 10358.194937019969},
      {+1, 91.90087890625, 10047.752920842655, 10047.752920842655},
      {+1, 94.200439453125, 10047.752920842655, 10244.989242505433},
      // bar 15: the stop does not move, and the forced exit restates E[15] as the final cash.
      {0, 94.200439453125, 10136.706501912568, 10136.706501912568},
  };
  for (std::size_t i = 0; i < 16; ++i) {
    SCOPED_TRACE(i);
    EXPECT_BITS(t.after[i].side, want[i].side);
    if (want[i].side != 0 || i == 15) {
      EXPECT_BITS(t.after[i].stop, want[i].stop);
    }
    EXPECT_BITS(t.after[i].cash, want[i].cash);
    EXPECT_BITS(t.equity[i], want[i].e);
  }
  // The returns r[1..15] of the table, from E (bars 1-4: +0).
  const std::vector<double> want_r{0.0,
                                   0.0,
                                   0.0,
                                   0.0,
                                   -0.0010000000000000009,
                                   0.01962747060786274,
                                   0.009624824346955663,
                                   -0.03909512097466106,
                                   -0.0009732718894009951,
                                   0.039362427087254126,
                                   0.018935852432901967,
                                   -0.00929197475370458,
                                   -0.029970667482594027,
                                   0.01962989369032342,
                                   -0.010569336680570807};
  for (std::size_t i = 1; i < 16; ++i) {
    SCOPED_TRACE(i);
    EXPECT_BITS(t.equity[i] / t.equity[i - 1] - 1.0, want_r[i - 1]);
  }
  // After the table: at bar 15 step 3 marks the long at 10047.752920842655 + qty * (98 - 97)
  // before the forced exit replaces E[15].
  const State<double>& s14 = t.after[14];
  const double e15_marked = s14.cash + s14.side * s14.qty * (98.0 - s14.entry_price);
  EXPECT_BITS(e15_marked, 10146.371081674044);
  EXPECT_BITS(10047.752920842655 + 98.61816083138888 * (98.0 - 97.0), 10146.371081674044);
  // Bar 13: the cash after the exit of the short, before the long's fee_in (10057.3188824433).
  const State<double>& s12 = t.after[12];
  const double p_out = 97.0;
  const double fee_out = s12.qty * p_out * 0.001;
  const double gross = s12.side * s12.qty * (p_out - s12.entry_price);
  EXPECT_BITS(s12.cash + (gross - fee_out), 10057.3188824433);
}

TEST(MaCrossWorkedExample, Trades) {
  const Params p = example_params();
  const KeySeries k = example_series(p);
  const Trace t = trace(k.view(), p);
  // The positions as opened (state after the entry bar): entry_price, qty, fee_in, entry_bar.
  struct Entry {
    std::size_t bar;
    double side, entry_price, qty, fee_in;
  };
  const std::vector<Entry> entries{
      {5, +1, 102.0, 98.03921568627452, 10.0},
      {9, -1, 99.0, 97.15080871058102, 9.61793006234752},
      {13, +1, 97.0, 98.61816083138888, 9.565961600644721},
  };
  for (const Entry& e : entries) {
    SCOPED_TRACE(e.bar);
    const State<double>& s = t.after[e.bar];
    EXPECT_BITS(s.side, e.side);
    EXPECT_BITS(s.entry_price, e.entry_price);
    EXPECT_BITS(s.qty, e.qty);
    EXPECT_BITS(s.fee_in, e.fee_in);
    EXPECT_BITS(s.entry_bar, static_cast<double>(e.bar));
  }
  // The sizes of the bar loop table: min(risk sizing, leverage cap).
  EXPECT_BITS(10000.0 * 0.05 / 4.875, 102.56410256410257);
  EXPECT_BITS(10000.0 * 1.0 / 102.0, 98.03921568627452);
  EXPECT_BITS(9882.058823529413 * 0.05 / 5.0859375, 97.15080871058102);
  EXPECT_BITS(9882.058823529413 * 1.0 / 99.0, 99.8187759952466);
  EXPECT_BITS(10057.3188824433 * 0.05 / 5.09912109375, 98.61816083138888);
  EXPECT_BITS(10057.3188824433 * 1.0 / 97.0, 103.6836998190031);
  // The exits: p_out, fee_out, gross, pnl of the trades table, by the close formulas.
  struct Exit {
    double qty, entry_price, side, fee_in, p_out, fee_out, gross, pnl;
  };
  const std::vector<Exit> exits{
      {98.03921568627452, 102.0, +1, 10.0, 101.0, 9.901960784313726, -98.03921568627452,
       -117.94117647058825},
      {97.15080871058102, 99.0, -1, 9.61793006234752, 97.0, 9.423628444926358, 194.30161742116204,
       175.26005891388817},
      {98.61816083138888, 97.0, +1, 9.565961600644721, 98.0, 9.66457976147611, 98.61816083138888,
       79.38761946926805},
  };
  for (const Exit& x : exits) {
    const double fee_out = x.qty * x.p_out * 0.001;
    const double gross = x.side * x.qty * (x.p_out - x.entry_price);
    EXPECT_BITS(fee_out, x.fee_out);
    EXPECT_BITS(gross, x.gross);
    EXPECT_BITS(gross - x.fee_in - fee_out, x.pnl);
  }
  // Trade statistics as the kernel accumulated them, in trade order.
  const State<double>& f = t.final_state;
  EXPECT_BITS(f.trades, 3.0);
  EXPECT_BITS(f.wins, 2.0);
  EXPECT_BITS(f.gross_loss, 0.0 + -117.94117647058825);
  EXPECT_BITS(f.gross_win, (0.0 + 175.26005891388817) + 79.38761946926805);
  EXPECT_BITS(f.pnl_sum, ((0.0 + -117.94117647058825) + 175.26005891388817) + 79.38761946926805);
  EXPECT_BITS(t.after[8].gross_loss, -117.94117647058825);
  // Fees in the order paid: fee_in 1, fee_out 1, fee_in 2, fee_out 2, fee_in 3, fee_out 3.
  const double fees =
      ((((((0.0 + 10.0) + 9.901960784313726) + 9.61793006234752) + 9.423628444926358) +
        9.565961600644721) +
       9.66457976147611);
  EXPECT_BITS(f.fees, fees);
  EXPECT_BITS(f.exposure_bars, 10.0);
}

TEST(MaCrossWorkedExample, Metrics) {
  const Params p = example_params();
  const KeySeries k = example_series(p);
  const Metrics m = ma_cross::run_one(k.view(), p, example_bars().bars_per_year());
  // The intermediate sums and the formulas of STRATEGY.md section 6 on them.
  const Trace t = trace(k.view(), p);
  const State<double>& f = t.final_state;
  EXPECT_BITS(f.sum_r, 0.01628009638436645);
  EXPECT_BITS(f.sum_r2, 0.005397843070262745);
  EXPECT_BITS(f.sum_neg_r2, 0.0026266683242370426);
  const double n_r = 15;
  const double var =
      (0.005397843070262745 - 0.01628009638436645 * 0.01628009638436645 / n_r) / (n_r - 1);
  const double down = std::sqrt(0.0026266683242370426 / n_r);
  EXPECT_BITS(var, 0.0003842981167412234);
  EXPECT_BITS(down, 0.013232959669544938);
  EXPECT_BITS(0.01628009638436645 / n_r / std::sqrt(var) * std::sqrt(kP), 10.363671374811126);
  EXPECT_BITS(0.01628009638436645 / n_r / down * std::sqrt(kP), 15.352912421373931);
  EXPECT_BITS(1.0 - 9872.440893467065 / 10284.117647058823, 0.04003034268180461);
  EXPECT_BITS(f.peak, 10455.34574573055);  // the largest E (bar 11), after the drawdown's trough
  // The metrics table.
  EXPECT_BITS(m.total_return, 0.013670650191256684);
  EXPECT_BITS(m.sharpe, 10.363671374811126);
  EXPECT_BITS(m.sortino, 15.352912421373931);
  EXPECT_BITS(m.max_drawdown, 0.04003034268180461);
  EXPECT_EQ(m.trades, 3);
  EXPECT_BITS(m.win_rate, 0.6666666666666666);
  EXPECT_BITS(m.profit_factor, 2.159107497513045);
  EXPECT_BITS(m.expectancy, 45.56883397085599);
  EXPECT_BITS(m.exposure, 0.625);
  EXPECT_BITS(m.fees, 58.17406065370844);
  EXPECT_BITS(m.final_equity, 10136.706501912568);
  // The traced loop (from bar 0) gives the same metrics as run_one (from the warm-up).
  EXPECT_TRUE(testing::same_bits(ma_cross::metrics_of(f, 10000, 16, kP), m));
}

struct Variant {
  const char* name;
  void (*change)(Params&);
  std::int64_t trades;
  double exposure, fees, final_equity, sharpe;
};

TEST(MaCrossWorkedExample, Variants) {
  const std::vector<Variant> variants{
      {"max_hold_bars = 3", [](Params& p) { p.max_hold_bars = 3; }, 3, 0.5625, 58.44045001317888,
       10430.753265790492, 31.32299114478956},
      {"ma_type = 1", [](Params& p) { p.ma_type = 1; }, 3, 0.6875, 57.3012018277083,
       9917.486041534448, -3.786997274722309},
      {"slippage_bps = 5", [](Params& p) { p.slippage_bps = 5; }, 3, 0.625, 58.107539464288266,
       10107.381867479946, 8.465246552476296},
  };
  for (const Variant& v : variants) {
    SCOPED_TRACE(v.name);
    Params p = example_params();
    v.change(p);
    const KeySeries k = example_series(p);
    const Metrics m = ma_cross::run_one(k.view(), p, kP);
    EXPECT_EQ(m.trades, v.trades);
    EXPECT_BITS(m.exposure, v.exposure);
    EXPECT_BITS(m.fees, v.fees);
    EXPECT_BITS(m.final_equity, v.final_equity);
    EXPECT_BITS(m.sharpe, v.sharpe);
  }
}

TEST(MaCrossWorkedExample, MaxHoldVariantEvents) {
  Params p = example_params();
  p.max_hold_bars = 3;
  const KeySeries k = example_series(p);
  const Trace t = trace(k.view(), p);
  // Bar 8: stop and time exit together (8 - 5 = 3), one trade; bar 9: short; bar 12: time exit
  // of the short (12 - 9 = 3); bar 13: a long entered from flat; the forced exit at 15.
  EXPECT_BITS(t.after[8].side, 0.0);
  EXPECT_BITS(t.after[8].trades, 1.0);
  EXPECT_BITS(t.after[9].side, -1.0);
  EXPECT_BITS(t.after[11].side, -1.0);
  EXPECT_BITS(t.after[12].side, 0.0);
  EXPECT_BITS(t.after[12].trades, 2.0);
  EXPECT_BITS(t.after[13].side, 1.0);
  EXPECT_BITS(t.after[13].entry_bar, 13.0);
  EXPECT_BITS(t.after[14].side, 1.0);
  EXPECT_BITS(t.final_state.trades, 3.0);
}

TEST(MaCrossWorkedExample, EmaVariantSeriesAndEvents) {
  Params p = example_params();
  p.ma_type = 1;
  const KeySeries k = example_series(p);
  // alpha 2/3 and 0.4, seeded at bars 1 and 3 by the SMAs.
  EXPECT_BITS(k.fast[1], 99.5);
  EXPECT_BITS(k.slow[3], 98.5);
  EXPECT_BITS(k.fast[8], 102.10493827160494);
  EXPECT_BITS(k.slow[8], 102.18032);
  const Series s = k.view();
  EXPECT_EQ(cross_bars(s), (std::vector<std::int32_t>{5, 8, 14}));
  EXPECT_TRUE(ma_cross::bar_inputs(s, 5).bull);
  EXPECT_TRUE(ma_cross::bar_inputs(s, 8).bear);
  EXPECT_TRUE(ma_cross::bar_inputs(s, 14).bull);
  const Trace t = trace(s, p);
  // Bar 8: stop and cross exit, reversal to a short; bar 14: reversal to a long.
  EXPECT_BITS(t.after[7].side, 1.0);
  EXPECT_BITS(t.after[8].side, -1.0);
  EXPECT_BITS(t.after[8].trades, 1.0);
  EXPECT_BITS(t.after[13].side, -1.0);
  EXPECT_BITS(t.after[14].side, 1.0);
  EXPECT_BITS(t.after[14].trades, 2.0);
  EXPECT_BITS(t.final_state.trades, 3.0);
}

TEST(MaCrossWorkedExample, SlippageVariantFills) {
  Params p = example_params();
  p.slippage_bps = 5;
  const KeySeries k = example_series(p);
  const Trace t = trace(k.view(), p);
  const double s = 5 / 1e4;
  EXPECT_BITS(t.after[5].entry_price, 102.05099999999999);
  EXPECT_BITS(t.after[9].entry_price, 98.9505);
  EXPECT_BITS(t.after[13].entry_price, 97.04849999999999);
  // Exits: trade 1 sells at 101, trade 2 buys at 97, trade 3 sells at 98.
  EXPECT_BITS(101.0 * (1.0 - s), 100.9495);
  EXPECT_BITS(97.0 * (1.0 + s), 97.04849999999999);
  EXPECT_BITS(98.0 * (1.0 - s), 97.95100000000001);
  EXPECT_BITS(t.final_state.trades, 3.0);
}

// ---- hand-worked cases, one rule each ---------------------------------------------------------
// The lines are given as relations: '>' fast above slow, '=' equal, '<' below (slow = 100,
// fast = 100 +- 1). warmup = 1, so a relation at bar i-1 and bar i decides the cross at i >= 1.
// atr = 2 and a = 1: the stop distance d = 2. Costs 0, risk 0.01, initial 10000: at a close of
// 100 the risk sizing 10000 * 0.01 / 2 = 50 units binds (the leverage cap is 100).

struct Hand {
  std::vector<double> close, fast, slow, atr;
  int warmup = 1;

  Hand(const char* rel, std::vector<double> c) : close(std::move(c)) {
    const std::string r(rel);
    EXPECT_EQ(r.size(), close.size());
    for (char ch : r) {
      slow.push_back(100.0);
      fast.push_back(ch == '>' ? 101.0 : ch == '<' ? 99.0 : 100.0);
    }
    atr.assign(close.size(), 2.0);
  }
  [[nodiscard]] Series view() const {
    return {
        close.data(), fast.data(), slow.data(), atr.data(), static_cast<std::int64_t>(close.size()),
        warmup};
  }
};

Params hand_params() {
  Params p;
  p.atr_multiplier = 1.0;
  p.max_hold_bars = 0;
  p.risk_per_trade = 0.01;
  p.leverage = 1.0;
  p.fee_bps = 0;
  p.slippage_bps = 0;
  p.initial_capital = 10000;
  return p;
}

TEST(MaCrossRules, StopHitIsNonStrict) {
  // Long at bar 1 (100, stop 98); bar 2: 101, stop trails to max(98, 99) = 99; bar 3: 99 <= 99,
  // stopped out at 99: pnl 50 * (99 - 100) = -50. Bar 4 is no cross: flat to the end.
  Hand h("<>>>>", {100, 100, 101, 99, 99});
  Metrics m = ma_cross::run_one(h.view(), hand_params(), kP);
  EXPECT_EQ(m.trades, 1);
  EXPECT_EQ(m.final_equity, 9950.0);
  EXPECT_EQ(m.exposure, 2.0 / 5.0);
  // 99.25 > 99: held (the stop stays 99, 99.25 - 2 is lower), closed by the forced exit.
  Hand h2("<>>>>", {100, 100, 101, 99.25, 99.25});
  m = ma_cross::run_one(h2.view(), hand_params(), kP);
  EXPECT_EQ(m.trades, 1);
  EXPECT_EQ(m.final_equity, 10000.0 + 50 * (99.25 - 100));
  EXPECT_EQ(m.exposure, 4.0 / 5.0);
  // Short at 100 (stop 102); bar 2: 99, stop trails to min(102, 101) = 101; bar 3: 101 >= 101.
  Hand s("><<<<", {100, 100, 99, 101, 101});
  m = ma_cross::run_one(s.view(), hand_params(), kP);
  EXPECT_EQ(m.trades, 1);
  EXPECT_EQ(m.final_equity, 9950.0);
  EXPECT_EQ(m.exposure, 2.0 / 5.0);
  const Trace t = trace(s.view(), hand_params());
  EXPECT_EQ(t.after[1].stop, 102.0);
  EXPECT_EQ(t.after[2].stop, 101.0);
  EXPECT_EQ(t.after[3].side, 0.0);
}

TEST(MaCrossRules, TrailingStopKeepsItsValueOnATie) {
  // Long at 100 (stop 98); bar 2: 100 - 2 == 98: the stop keeps the same value; bar 3: 103 trails
  // to 101; bar 4: 102 - 2 = 100 < 101, the stop only moves towards the price.
  Hand h("<>>>>", {100, 100, 100, 103, 102});
  const Trace t = trace(h.view(), hand_params());
  EXPECT_EQ(t.after[1].stop, 98.0);
  EXPECT_EQ(t.after[2].stop, 98.0);
  EXPECT_EQ(t.after[3].stop, 101.0);
  EXPECT_EQ(t.after[4].stop, 101.0);
}

TEST(MaCrossRules, OppositeCrossReversesOnTheSameBar) {
  // Long at bar 1 (100, stop 98); bars 2, 3 trail the stop to 100, 101; bar 4: bear, 104 > 101:
  // the cross exits at 104 (pnl 50 * 4 = 200, cash 10200) and a short opens at 104, sized from
  // that cash: min(10200 * 0.01 / 2, 10200 / 104) = 51, stop 106 (not updated on its entry bar).
  // Bar 5: 100, stop trails to 102; forced exit at 100: pnl 51 * 4 = 204.
  Hand h("<>>><<", {100, 100, 102, 103, 104, 100});
  const Trace t = trace(h.view(), hand_params());
  const State<double>& s4 = t.after[4];
  EXPECT_EQ(s4.side, -1.0);
  EXPECT_EQ(s4.qty, 51.0);
  EXPECT_EQ(s4.entry_price, 104.0);
  EXPECT_EQ(s4.entry_bar, 4.0);
  EXPECT_EQ(s4.stop, 106.0);
  EXPECT_EQ(s4.cash, 10200.0);
  EXPECT_EQ(s4.trades, 1.0);
  EXPECT_EQ(t.equity[4], 10200.0);  // the new short marked at its own entry price: + 0
  EXPECT_EQ(t.after[5].stop, 102.0);
  const Metrics m = ma_cross::run_one(h.view(), hand_params(), kP);
  EXPECT_EQ(m.trades, 2);
  EXPECT_EQ(m.final_equity, 10404.0);
  EXPECT_EQ(m.win_rate, 1.0);
  EXPECT_EQ(m.exposure, 5.0 / 6.0);
  // A short on a bull bar likewise becomes a long.
  Hand s("><<<>>", {100, 100, 98, 97, 96, 100});
  const Trace ts = trace(s.view(), hand_params());
  EXPECT_EQ(ts.after[4].side, 1.0);
  EXPECT_EQ(ts.after[4].trades, 1.0);
  EXPECT_EQ(ts.after[4].cash, 10200.0);
  EXPECT_EQ(ts.after[4].stop, 94.0);
}

TEST(MaCrossRules, StopOrTimeExitOnACrossBarStillReverses) {
  // Long at 100 (stop 98); bar 2: 101, stop 99; bar 3: bear and 97 <= 99: one exit at 97
  // (pnl -150, cash 9850), then a short at 97: qty min(98.5 / 2, 9850 / 97) = 49.25, stop 99.
  // Bar 4: 95, stop trails to 97; forced exit at 95: pnl 49.25 * 2 = 98.5.
  Hand h("<>><<", {100, 100, 101, 97, 95});
  for (int max_hold : {0, 2}) {  // with max_hold 2 the time limit holds at bar 3 too (3 - 1 = 2)
    SCOPED_TRACE(max_hold);
    Params p = hand_params();
    p.max_hold_bars = max_hold;
    const Trace t = trace(h.view(), p);
    EXPECT_EQ(t.after[3].side, -1.0);
    EXPECT_EQ(t.after[3].trades, 1.0);
    EXPECT_EQ(t.after[3].qty, 49.25);
    EXPECT_EQ(t.after[3].stop, 99.0);
    const Metrics m = ma_cross::run_one(h.view(), p, kP);
    EXPECT_EQ(m.trades, 2);
    EXPECT_EQ(m.final_equity, 9850.0 + 98.5);
  }
}

TEST(MaCrossRules, ZeroAtrOnAReversalBarLeavesTheCombinationFlat) {
  // Long at 100; bar 3 is a bear bar with atr 0: the exit happens (102, pnl +100), the short
  // is not taken (d = 0) and not retried at bar 4 (no cross there).
  Hand h("<>><<<", {100, 100, 101, 102, 101, 103});
  h.atr[3] = 0.0;
  const Metrics m = ma_cross::run_one(h.view(), hand_params(), kP);
  EXPECT_EQ(m.trades, 1);
  EXPECT_EQ(m.final_equity, 10100.0);
  EXPECT_EQ(m.exposure, 2.0 / 6.0);
  // The same with atr 0 on the first cross: no entry at all.
  Hand z("<>>><<", {100, 100, 101, 102, 101, 103});
  z.atr[1] = 0.0;
  const Trace t = trace(z.view(), hand_params());
  EXPECT_EQ(t.after[1].side, 0.0);
  EXPECT_EQ(t.after[4].side, -1.0);  // the bear at bar 4 opens a short from flat
}

TEST(MaCrossRules, NoEntryWithoutCash) {
  // cash <= 0 after an exit: the signal is ignored. A long with leverage 10 and risk 1 on a close
  // falling through the stop: 100 -> 1 loses more than the cash.
  Hand h("<>><>", {100, 100, 100, 1, 50});
  Params p = hand_params();
  p.risk_per_trade = 1.0;
  p.leverage = 10.0;
  const Trace t = trace(h.view(), p);
  EXPECT_EQ(t.after[1].qty, 1000.0);  // min(10000 / 2, 10000 * 10 / 100)
  EXPECT_LT(t.after[3].cash, 0.0);    // the bear exit at 1 (stop): 10000 - 1000 * 99
  EXPECT_EQ(t.after[3].side, 0.0);    // and no short: cash <= 0
  EXPECT_EQ(t.after[4].side, 0.0);    // nor a long at the bull of bar 4
  EXPECT_EQ(t.final_state.trades, 1.0);
}

TEST(MaCrossRules, TimeExitAtMaxHoldAndZeroMeansOff) {
  // Long at bar 1 (100); closes rise, the stop never hits.
  Hand h("<>>>>>", {100, 100, 101, 102, 103, 104});
  Params p = hand_params();
  p.max_hold_bars = 2;  // bar 3: 3 - 1 = 2 >= 2 -> exit at 102
  Metrics m = ma_cross::run_one(h.view(), p, kP);
  EXPECT_EQ(m.trades, 1);
  EXPECT_EQ(m.final_equity, 10100.0);
  EXPECT_EQ(m.exposure, 2.0 / 6.0);
  p.max_hold_bars = 1;  // closed at the bar after the entry at the latest: bar 2, 101
  m = ma_cross::run_one(h.view(), p, kP);
  EXPECT_EQ(m.final_equity, 10050.0);
  EXPECT_EQ(m.exposure, 1.0 / 6.0);
  p.max_hold_bars = 4;  // bar 5: 5 - 1 = 4, exit at step 1 (not the forced exit): bar 5 not open
  m = ma_cross::run_one(h.view(), p, kP);
  EXPECT_EQ(m.trades, 1);
  EXPECT_EQ(m.final_equity, 10200.0);
  EXPECT_EQ(m.exposure, 4.0 / 6.0);
  p.max_hold_bars = 0;  // off: held to the forced exit, bar 5 open at step 3
  m = ma_cross::run_one(h.view(), p, kP);
  EXPECT_EQ(m.trades, 1);
  EXPECT_EQ(m.final_equity, 10200.0);
  EXPECT_EQ(m.exposure, 5.0 / 6.0);
  // A long position never ends by time with max_hold 0, however long: 200 bars.
  std::string rel = "<";
  std::vector<double> c{100};
  for (int i = 1; i < 200; ++i) {
    rel += '>';
    c.push_back(100.0 + i);
  }
  Hand long_h(rel.c_str(), c);
  m = ma_cross::run_one(long_h.view(), hand_params(), kP);
  EXPECT_EQ(m.trades, 1);
  EXPECT_EQ(m.exposure, 199.0 / 200.0);
}

TEST(MaCrossRules, CrossTiesAndRuns) {
  struct Case {
    const char* rel;
    int bull_at, bear_at;  // -1: none
  };
  const std::vector<Case> cases{
      {">=<", -1, 2},    // >, =, <: bear at the first bar strictly apart
      {"<=>", 2, -1},    // <, =, >: bull
      {">=>", 2, -1},    // a touch that returns to its side: bull
      {"<=<", -1, 2},    // and bear below
      {"<==>", 3, -1},   // a run of equal bars delays the cross to the first bar after it
      {">===<", -1, 4},  //
      {"<>", 1, -1},     // the plain crosses
      {"><", -1, 1},     //
      {"===", -1, -1},   // a tie is never a cross bar
      {"<<>=", 2, -1},   // the tie after a cross is nothing
      {">>>", -1, -1},   // a state, not an event
  };
  for (const Case& cs : cases) {
    SCOPED_TRACE(cs.rel);
    const std::string rel(cs.rel);
    Hand h(cs.rel, std::vector<double>(rel.size(), 100.0));
    const Series s = h.view();
    for (std::int64_t i = 0; i < s.n_bars; ++i) {
      SCOPED_TRACE(i);
      const ma_cross::BarInputs b = ma_cross::bar_inputs(s, i);
      EXPECT_EQ(b.bull, i == cs.bull_at);
      EXPECT_EQ(b.bear, i == cs.bear_at);
      EXPECT_EQ(ma_cross::cross_bar(s, i), i == cs.bull_at || i == cs.bear_at);
    }
  }
  // The entry happens at the cross bar found after a tie: ">=<" shorts at bar 2.
  Hand h(">=<<", {100, 100, 100, 99});
  const Trace t = trace(h.view(), hand_params());
  EXPECT_EQ(t.after[1].side, 0.0);
  EXPECT_EQ(t.after[2].side, -1.0);
  EXPECT_EQ(t.after[2].entry_bar, 2.0);
}

TEST(MaCrossRules, NoSignalBeforeTheWarmup) {
  // The cross at bar 1 is before warmup = 2: ignored and not remembered.
  Hand h("<>>>>", {100, 100, 101, 102, 103});
  h.warmup = 2;
  EXPECT_EQ(ma_cross::run_one(h.view(), hand_params(), kP).trades, 0);
  EXPECT_TRUE(cross_bars(h.view()).empty());
  // A cross on the first tradable bar (i = warmup) compares bar warmup - 1: taken.
  Hand w("<<>>>", {100, 100, 101, 102, 103});
  w.warmup = 2;
  EXPECT_EQ(cross_bars(w.view()), (std::vector<std::int32_t>{2}));
  EXPECT_EQ(ma_cross::run_one(w.view(), hand_params(), kP).trades, 1);
  // warmup >= N: never trades, every metric 0 but final_equity.
  w.warmup = 5;
  const Metrics m = ma_cross::run_one(w.view(), hand_params(), kP);
  EXPECT_EQ(m.trades, 0);
  EXPECT_EQ(m.final_equity, 10000.0);
  EXPECT_EQ(m.exposure, 0.0);
  EXPECT_EQ(m.sharpe, 0.0);
  EXPECT_EQ(m.max_drawdown, 0.0);
}

TEST(MaCrossRules, NoExitAndNoStopUpdateOnTheEntryBar) {
  // Slippage 1% with d = 0.25: a long at c = 100 fills at p_in = 100 * 1.01 and its stop,
  // p_in - 0.25, lies above the close. Step 1 does not see the position on its entry bar, so it
  // is not stopped out there (and its stop is the entry stop); the next bar's close (100) is
  // below the stop: exit at bar 2.
  Hand h("<>>>", {100, 100, 100, 100});
  h.atr.assign(4, 0.25);
  Params p = hand_params();
  p.slippage_bps = 100;
  const double s = 100 / 1e4;
  const double p_in = 100 * (1 + s);
  const Trace t = trace(h.view(), p);
  EXPECT_GT(p_in - 0.25, 100.0);
  EXPECT_EQ(t.after[1].side, 1.0);
  EXPECT_EQ(t.after[1].trades, 0.0);
  EXPECT_BITS(t.after[1].entry_price, p_in);
  EXPECT_BITS(t.after[1].stop, p_in - 0.25);
  EXPECT_EQ(t.after[2].side, 0.0);
  EXPECT_EQ(t.after[2].trades, 1.0);
  // And a short: p_in = 100 * 0.99, stop p_in + 0.25 below the close.
  Hand sh("><<<", {100, 100, 100, 100});
  sh.atr.assign(4, 0.25);
  const Trace ts = trace(sh.view(), p);
  EXPECT_EQ(ts.after[1].side, -1.0);
  EXPECT_BITS(ts.after[1].stop, 100 * (1 - s) + 0.25);
  EXPECT_EQ(ts.after[2].side, 0.0);
}

TEST(MaCrossRules, SameDirectionReentryAfterAStopOnATieBar) {
  // Long at bar 1 (100, stop 98); bar 2: a tie, 99 holds (the stop stays 98); bar 3: '>' after
  // '=' is a bull bar and 97 <= 98 stops the long out: step 2 opens a new long at 97.
  Hand h("<>=>>", {100, 100, 99, 97, 97});
  const Trace t = trace(h.view(), hand_params());
  EXPECT_EQ(t.after[3].trades, 1.0);
  EXPECT_EQ(t.after[3].side, 1.0);
  EXPECT_EQ(t.after[3].entry_bar, 3.0);
  EXPECT_EQ(t.after[3].qty, 49.25);  // sized from the cash after the exit: 9850 * 0.01 / 2
  EXPECT_EQ(t.after[3].stop, 95.0);
  EXPECT_EQ(t.final_state.trades, 2.0);  // the new long closed by the forced exit at bar 4
}

TEST(MaCrossRules, CrossOnTheLastBar) {
  // A flat combination enters at c[N-1]; the forced exit closes it at the same close: one trade,
  // pnl exactly 0 without costs, counted in trades and exposure.
  Hand h("<<<>", {100, 100, 100, 100});
  Metrics m = ma_cross::run_one(h.view(), hand_params(), kP);
  EXPECT_EQ(m.trades, 1);
  EXPECT_EQ(m.final_equity, 10000.0);
  EXPECT_EQ(m.exposure, 1.0 / 4.0);
  EXPECT_EQ(m.win_rate, 0.0);
  EXPECT_EQ(m.profit_factor, 0.0);
  EXPECT_EQ(m.expectancy, 0.0);
  // With fees the pnl is both fees: 50 * 100 * 0.001 each.
  Params p = hand_params();
  p.fee_bps = 10;
  m = ma_cross::run_one(h.view(), p, kP);
  const double f = 10 / 1e4;
  const double fee = 50.0 * 100.0 * f;
  EXPECT_EQ(m.trades, 1);
  EXPECT_BITS(m.fees, (0.0 + fee) + fee);
  EXPECT_BITS(m.final_equity, (10000.0 - fee) + ((1.0 * 50.0 * (100.0 - 100.0)) - fee));
  // A reversal on the last bar closes two trades there, both in the last block.
  Hand r("<>><", {100, 100, 101, 102});
  m = ma_cross::run_one(r.view(), hand_params(), kP);
  EXPECT_EQ(m.trades, 2);
  EXPECT_EQ(m.final_equity, 10100.0);
  EXPECT_EQ(m.exposure, 3.0 / 4.0);
  const std::vector<std::int64_t> starts = block_start_bars(4, 2);  // bars 1-2 | 3
  BlockCell<double> cells[2];
  ma_cross::run_one(r.view(), hand_params(), kP, BlockRecorder<double>(starts.data(), 2, cells));
  EXPECT_EQ(cells[0].trades, 0.0);
  EXPECT_EQ(cells[1].trades, 2.0);
  EXPECT_EQ(cells[1].equity, 10100.0);
}

TEST(MaCrossRules, FeesInTheOrderPaidOnAReversal) {
  // The reversal of OppositeCrossReversesOnTheSameBar with fees of 10 bps: fee_in 1, then on
  // bar 4 the long's fee_out before the short's fee_in, then the forced exit's fee_out.
  Hand h("<>>><<", {100, 100, 102, 103, 104, 100});
  Params p = hand_params();
  p.fee_bps = 10;
  const double f = 10 / 1e4;
  const Trace t = trace(h.view(), p);
  const double q1 = std::min(10000.0 * 0.01 / 2.0, 10000.0 * 1.0 / 100.0);
  const double fee_in1 = q1 * 100.0 * f;
  const double cash1 = 10000.0 - fee_in1;
  const double fee_out1 = q1 * 104.0 * f;
  const double cash2 = cash1 + (1.0 * q1 * (104.0 - 100.0) - fee_out1);
  const double q2 = std::min(cash2 * 0.01 / 2.0, cash2 * 1.0 / 104.0);
  const double fee_in2 = q2 * 104.0 * f;
  const double cash3 = cash2 - fee_in2;
  const double fee_out2 = q2 * 100.0 * f;
  const double cash4 = cash3 + (-1.0 * q2 * (100.0 - 104.0) - fee_out2);
  EXPECT_BITS(t.after[4].fees, ((0.0 + fee_in1) + fee_out1) + fee_in2);
  EXPECT_BITS(t.after[4].cash, cash3);
  EXPECT_BITS(t.after[4].qty, q2);
  EXPECT_BITS(t.final_state.fees, (((0.0 + fee_in1) + fee_out1) + fee_in2) + fee_out2);
  EXPECT_BITS(t.final_state.cash, cash4);
  const Metrics m = ma_cross::run_one(h.view(), p, kP);
  EXPECT_BITS(m.fees, t.final_state.fees);
  EXPECT_BITS(m.final_equity, cash4);
}

TEST(MaCrossRules, EmaMode) {
  // ma_type = 1: both lines are EMAs of the project's ema(), seeded by the SMA of the first n
  // closes at bar n-1, alpha = 2 / (n + 1); ema_1 is the close itself. fast_period 1, slow 3
  // (alpha 0.5), atr_period 2, highs and lows at close +- 0.5: warmup 3.
  const std::vector<double> c{10, 10, 10, 10, 13, 13, 13, 7, 7};
  std::vector<double> hi, lo;
  for (double x : c) {
    hi.push_back(x + 0.5);
    lo.push_back(x - 0.5);
  }
  Params p = hand_params();
  p.fast_period = 1;
  p.slow_period = 3;
  p.ma_type = 1;
  p.atr_period = 2;
  const KeySeries k(c, hi, lo, p);
  for (std::size_t i = 0; i < c.size(); ++i) EXPECT_BITS(k.fast[i], c[i]);
  // slow: 10 at bars 2, 3, then 11.5, 12.25, 12.625, 9.8125, 8.40625 (all exact).
  const std::vector<double> slow{10, 10, 11.5, 12.25, 12.625, 9.8125, 8.40625};
  for (std::size_t i = 2; i < c.size(); ++i) EXPECT_BITS(k.slow[i], slow[i - 2]);
  // atr: 1, 1, then (1 + 3.5) / 2 = 2.25 at bar 4, 1.625, 1.3125, (1.3125 + 6.5) / 2 = 3.90625.
  EXPECT_BITS(k.atr[4], 2.25);
  EXPECT_BITS(k.atr[6], 1.3125);
  EXPECT_BITS(k.atr[7], 3.90625);
  // Close vs slow: = at bar 3, > at 4 (bull after a tie), > at 5 and 6, < at 7 (bear).
  const Series s = k.view();
  EXPECT_EQ(cross_bars(s), (std::vector<std::int32_t>{4, 7}));
  EXPECT_TRUE(ma_cross::bar_inputs(s, 4).bull);
  EXPECT_TRUE(ma_cross::bar_inputs(s, 7).bear);
  // Long at 13 with d = 2.25 (qty 100 / 2.25, stop 10.75); the stop trails to 11.375, 11.6875;
  // bar 7: 7 <= 11.6875 and the bear cross: exit at 7 and a short at 7 (d = 3.90625), closed by
  // the forced exit at the same close.
  const Trace t = trace(s, p);
  EXPECT_BITS(t.after[4].stop, 13 - 2.25);
  EXPECT_BITS(t.after[5].stop, 13 - 1.625);
  EXPECT_BITS(t.after[6].stop, 13 - 1.3125);
  EXPECT_EQ(t.after[7].side, -1.0);
  EXPECT_BITS(t.after[7].stop, 7 + 3.90625);
  const double qty = std::min(10000 * 0.01 / 2.25, 10000 * 1.0 / 13);
  const double cash = 10000 + (1 * qty * (7.0 - 13.0) - 0.0);
  const Metrics m = ma_cross::run_one(s, p, kP);
  EXPECT_EQ(m.trades, 2);
  EXPECT_BITS(m.final_equity, cash);
  EXPECT_BITS(m.exposure, 5.0 / 9.0);  // bars 4-6 long, 7-8 short (8: before the forced exit)
}

// ---- SIMD lanes, candidate lists: real BTC bars ------------------------------------------------

// Every member of the lane-generic structs, by name (as engine/lanes/lane_kernel.cpp).
// clang-format off
#define MA_LANE_PARAMS(X) X(a) X(max_hold) X(risk) X(leverage) X(f) X(s) X(initial)
#define MA_LANE_STATE(X)                                                                  \
  X(side) X(qty) X(entry_price) X(entry_bar) X(stop) X(fee_in) X(cash) X(trades) X(wins) \
  X(gross_win) X(gross_loss) X(pnl_sum) X(fees) X(exposure_bars) X(prev_equity) X(peak)  \
  X(max_dd) X(sum_r) X(sum_r2) X(sum_neg_r2)
// clang-format on
#define MA_COUNT(m) +1
static_assert(sizeof(LaneParams<double>) == (0 MA_LANE_PARAMS(MA_COUNT)) * sizeof(double));
static_assert(sizeof(State<double>) == (0 MA_LANE_STATE(MA_COUNT)) * sizeof(double));
#undef MA_COUNT

static_assert(kLanes == 2);

struct BtcBars {
  BarSeries bars;
  BtcBars() : bars(load_bars({testing::btc_49632()})) {}
};
const BarSeries& btc() {
  static const BtcBars b;
  return b.bars;
}

// A few key groups (SMA and EMA, fast_period = 1 included) and, per group, lanes that differ in
// every lane parameter, so that the two lanes of a vector enter, exit and reverse apart.
std::vector<Params> key_groups() {
  std::vector<Params> keys;
  const int k[][4] = {{5, 20, 0, 14}, {10, 30, 1, 14},  {2, 4, 0, 2},
                      {1, 8, 1, 3},   {20, 100, 0, 50}, {12, 26, 1, 7}};
  for (const auto& x : k) {
    Params p;
    p.fast_period = x[0];
    p.slow_period = x[1];
    p.ma_type = x[2];
    p.atr_period = x[3];
    keys.push_back(p);
  }
  return keys;
}

std::vector<Params> lanes_of(const Params& key) {
  std::vector<Params> out;
  const double a[] = {0.5, 3.0, 1.5, 8.0};
  const int hold[] = {0, 5, 48, 1};
  const double risk[] = {0.01, 0.5, 1.0, 0.02};
  const double lev[] = {1.0, 3.0, 0.5, 20.0};
  const double fee[] = {4.5, 0.0, 10.0, 2.0};
  const double slip[] = {0.0, 2.0, 0.0, 25.0};
  const double init[] = {10000.0, 1e6, 123.45, 10000.0};
  for (int j = 0; j < 4; ++j) {
    Params p = key;
    p.atr_multiplier = a[j];
    p.max_hold_bars = hold[j];
    p.risk_per_trade = risk[j];
    p.leverage = lev[j];
    p.fee_bps = fee[j];
    p.slippage_bps = slip[j];
    p.initial_capital = init[j];
    out.push_back(p);
  }
  // And the same lanes paired the other way round (lane 0 and lane 1 swap roles).
  const std::size_t n = out.size();
  for (std::size_t j = 0; j < n; ++j) out.push_back(out[(j + 1) % n]);
  return out;
}

LaneParams<VecD> pack(const Params* sp) {
  LaneParams<VecD> p;
  for (std::size_t j = 0; j < kLanes; ++j) {
    const LaneParams<double> one = ma_cross::lane_params<double>(sp[j]);
#define MA_PACK(m) p.m[j] = one.m;
    MA_LANE_PARAMS(MA_PACK)
#undef MA_PACK
  }
  return p;
}

State<double> unpack(const State<VecD>& st, std::size_t j) {
  State<double> out;
#define MA_UNPACK(m) out.m = st.m[j];
  MA_LANE_STATE(MA_UNPACK)
#undef MA_UNPACK
  return out;
}

bool same_state(const State<double>& a, const State<double>& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

constexpr int kBlocks = 16;

TEST(MaCrossLanes, VectorLanesEqualRunOneBitForBit) {
  const BarSeries& bars = btc();
  const double n = static_cast<double>(bars.size());
  const std::vector<std::int64_t> starts =
      block_start_bars(static_cast<std::int64_t>(bars.size()), kBlocks);
  std::int64_t trades = 0;
  for (const Params& key : key_groups()) {
    const KeySeries k(bars.close, bars.high, bars.low, key);
    const Series s = k.view();
    const std::vector<std::int32_t> cand = cross_bars(s);
    ASSERT_FALSE(cand.empty());
    const std::vector<Params> combos = lanes_of(key);
    for (std::size_t b = 0; b + kLanes <= combos.size(); b += kLanes) {
      SCOPED_TRACE(::testing::Message()
                   << "key " << key.fast_period << "/" << key.slow_period << "/" << key.ma_type
                   << "/" << key.atr_period << " lanes " << b);
      const LaneParams<VecD> p = pack(&combos[b]);
      // Without blocks.
      State<VecD> st;
      ma_cross::init(st, p);
      NoBlocks none;
      ma_cross::run_bars(st, p, s, cand.data(), cand.data() + cand.size(), none);
      // With blocks.
      State<VecD> st_b;
      ma_cross::init(st_b, p);
      BlockCell<VecD> cells[kBlocks];
      BlockRecorder<VecD> recorder(starts.data(), kBlocks, cells);
      ma_cross::run_bars(st_b, p, s, cand.data(), cand.data() + cand.size(), recorder);
      for (std::size_t j = 0; j < kLanes; ++j) {
        const Params& sp = combos[b + j];
        SCOPED_TRACE(j);
        BlockCell<double> want[kBlocks];
        const Metrics ref = ma_cross::run_one(s, sp, kP);
        const Metrics ref_b =
            ma_cross::run_one(s, sp, kP, BlockRecorder<double>(starts.data(), kBlocks, want));
        EXPECT_TRUE(testing::same_bits(ref, ref_b));
        const State<double> lane = unpack(st, j);
        EXPECT_TRUE(same_state(lane, unpack(st_b, j)));
        const Metrics got = ma_cross::metrics_of(lane, sp.initial_capital, n, kP);
        EXPECT_TRUE(testing::same_bits(got, ref)) << got.final_equity << " vs " << ref.final_equity;
        for (int c = 0; c < kBlocks; ++c) {
          SCOPED_TRACE(c);
          EXPECT_BITS(cells[c].sum_r[j], want[c].sum_r);
          EXPECT_BITS(cells[c].sum_r2[j], want[c].sum_r2);
          EXPECT_BITS(cells[c].equity[j], want[c].equity);
          EXPECT_BITS(cells[c].trades[j], want[c].trades);
        }
        trades += ref.trades;
      }
    }
  }
  EXPECT_GT(trades, 10000);  // the combinations do trade, a lot
}

TEST(MaCrossLanes, CandidateListEqualsTheFullBarLoop) {
  const BarSeries& bars = btc();
  const std::int64_t n = static_cast<std::int64_t>(bars.size());
  const std::vector<std::int64_t> starts = block_start_bars(n, kBlocks);
  std::vector<std::int32_t> all;  // every bar: run_bars then steps every bar from the warm-up
  for (std::int64_t i = 0; i < n; ++i) all.push_back(static_cast<std::int32_t>(i));
  std::int64_t skipped = 0;
  for (const Params& key : key_groups()) {
    const KeySeries k(bars.close, bars.high, bars.low, key);
    const Series s = k.view();
    const std::vector<std::int32_t> cand = cross_bars(s);
    skipped += n - static_cast<std::int64_t>(cand.size());
    const std::vector<Params> combos = lanes_of(key);
    for (const Params& sp : combos) {
      // One lane: run_bars over the cross bars == run_bars over every bar (== run_one's loop).
      const LaneParams<double> p = ma_cross::lane_params<double>(sp);
      State<double> a, full;
      ma_cross::init(a, p);
      ma_cross::init(full, p);
      BlockCell<double> ca[kBlocks], cf[kBlocks];
      BlockRecorder<double> ra(starts.data(), kBlocks, ca), rf(starts.data(), kBlocks, cf);
      ma_cross::run_bars(a, p, s, cand.data(), cand.data() + cand.size(), ra);
      ma_cross::run_bars(full, p, s, all.data(), all.data() + all.size(), rf);
      EXPECT_TRUE(same_state(a, full));
      EXPECT_EQ(std::memcmp(ca, cf, sizeof ca), 0);
      EXPECT_TRUE(testing::same_bits(
          ma_cross::metrics_of(a, sp.initial_capital, static_cast<double>(n), kP),
          ma_cross::run_one(s, sp, kP)));
    }
    for (std::size_t b = 0; b + kLanes <= combos.size(); b += kLanes) {
      // Two lanes: the same.
      const LaneParams<VecD> p = pack(&combos[b]);
      State<VecD> a, full;
      ma_cross::init(a, p);
      ma_cross::init(full, p);
      NoBlocks none;
      ma_cross::run_bars(a, p, s, cand.data(), cand.data() + cand.size(), none);
      ma_cross::run_bars(full, p, s, all.data(), all.data() + all.size(), none);
      for (std::size_t j = 0; j < kLanes; ++j)
        EXPECT_TRUE(same_state(unpack(a, j), unpack(full, j)));
    }
  }
  EXPECT_GT(skipped, 0);
}

}  // namespace
}  // namespace threadx
