// The per-combination ma_cross backtest of docs/strategies/ma_cross.md: a small state struct and a
// per-bar step, O(1) memory per combination, no allocation, no branches on per-combination data.
//
// The same shape as strategies/bb_atr/bb_atr.hpp: compiled for the CPU and by nvcc (THREADX_HD),
// generic over the lane type V (double: one combination; a SIMD vector of doubles: several
// combinations of one indicator-key group in lock-step). Every per-lane decision is a select, so
// all lane types execute the same IEEE operations in the same order and give bit-identical results.
// The only branches are on values shared by every lane (the cross of the key group) and on "does
// any lane need this?" (a position to manage, an exit, an entry, a changed equity): skipped work is
// work that would have left every lane's state bit for bit unchanged.
//
// Sizing, fees, the exit, the equity, the forced exit, the returns and the metrics are the shared
// bookkeeping of strategy/account.hpp (ma_cross.md section 1).
#pragma once

#include <cstdint>

#include "common/hd.hpp"
#include "strategy/account.hpp"
#include "strategy/block_recorder.hpp"
#include "strategy/lanes.hpp"
#include "strategy/metrics.hpp"

namespace threadx::ma_cross {

// One combination's parameter values (ma_cross.md section 2, table order), as the kernel consumes
// them. The defaults are the table's.
struct Params {
  int fast_period = 10;
  int slow_period = 30;
  int ma_type = 0;  // 0: SMA, 1: EMA
  int atr_period = 14;
  double atr_multiplier = 3.0;
  int max_hold_bars = 0;  // 0: no time exit
  double risk_per_trade = 0.01;
  double leverage = 1.0;
  double fee_bps = 4.5;
  double slippage_bps = 0.0;
  double initial_capital = 10000.0;
};

// warmup = max(slow_period, atr_period): the first bar at which a combination may trade.
THREADX_HD inline int warmup_of(const Params& sp) {
  return sp.slow_period > sp.atr_period ? sp.slow_period : sp.atr_period;
}

// Per-lane parameters (one combination per lane). The indicator key (fast_period, slow_period,
// ma_type, atr_period) is not here: it selects the series.
template <class V>
struct LaneParams {
  V a;         // atr_multiplier
  V max_hold;  // max_hold_bars (0: off)
  V risk;      // risk_per_trade
  V leverage;
  V f;        // fee_bps / 1e4
  V s;        // slippage_bps / 1e4
  V initial;  // initial_capital
};

// Everything a combination carries from bar to bar (strategy/account.hpp's members; ma_cross has
// nothing of its own: no last_entry_bar).
template <class V>
struct State {
  // position
  V side;  // +1 long, -1 short, 0 flat
  V qty;
  V entry_price;
  V entry_bar;
  V stop;
  V fee_in;
  V cash;
  // trade statistics
  V trades;
  V wins;
  V gross_win;   // sum of positive pnl
  V gross_loss;  // sum of negative pnl (<= 0)
  V pnl_sum;
  V fees;
  V exposure_bars;
  // equity curve statistics
  V prev_equity;
  V peak;
  V max_dd;
  V sum_r;
  V sum_r2;
  V sum_neg_r2;
};

// Indicator series of one key group, read-only, each n_bars long: the closes, the fast and slow
// lines (both SMAs or both EMAs) and the ATR. Values outside a series' defined range are never
// read (ma_cross.md section 3, "Why the warm-up is enough").
struct Series {
  const double* close;
  const double* fast;
  const double* slow;
  const double* atr;
  std::int64_t n_bars;
  int warmup;  // max(slow_period, atr_period)
};

// What one bar gives every combination of the key group. bull and bear are false before the
// warm-up, where nothing else is read either.
struct BarInputs {
  double c;    // close[i]
  double atr;  // atr[i] (read only when a lane holds a position or the bar is a cross bar)
  bool bull;   // cross above at i: long signal
  bool bear;   // cross below at i: short signal
};

// The cross of ma_cross.md section 4 at bar i: strictly on the new side now, on or on the old side
// at the previous bar. One definition for the step and for the candidate lists (cross_bar).
THREADX_HD THREADX_FORCEINLINE void cross_at(const Series& s, std::int64_t i, bool& bull,
                                             bool& bear) {
  bull = false;
  bear = false;
  if (i < s.warmup) return;
  const double f = s.fast[i], sl = s.slow[i];
  const double f_prev = s.fast[i - 1], sl_prev = s.slow[i - 1];
  bull = f > sl && f_prev <= sl_prev;
  bear = f < sl && f_prev >= sl_prev;
}

THREADX_HD THREADX_FORCEINLINE BarInputs bar_inputs(const Series& s, std::int64_t i) {
  BarInputs b{};
  b.c = s.close[i];
  b.atr = s.atr[i];
  cross_at(s, i, b.bull, b.bear);
  return b;
}

// True when bar i is a cross bar (bull or bear at i >= warmup): the only bars at which a flat
// combination can open a position. A function of the key group only: every combination of the
// group has the same cross bars, so one list serves every lane of every block of the group.
THREADX_HD inline bool cross_bar(const Series& s, std::int64_t i) {
  bool bull = false, bear = false;
  cross_at(s, i, bull, bear);
  return bull || bear;
}

// The zero vector of the selects (strategy/account.hpp): risk_per_trade is in (0, 1], so this is
// +0.0.
template <class V>
THREADX_HD THREADX_FORCEINLINE V lane_zero(const LaneParams<V>& p) {
  return p.risk * 0.0;
}

template <class V>
THREADX_HD THREADX_FORCEINLINE void init(State<V>& st, const LaneParams<V>& p) {
  account::init(st, p);
}

// Steps 1-3 of ma_cross.md section 5 for bar i; returns E[i].
template <class V>
THREADX_HD THREADX_FORCEINLINE V step(State<V>& st, const LaneParams<V>& p, const BarInputs& b,
                                      double i) {
  using M = decltype(st.side != 0.0);
  const double c = b.c;
  const V move = p.a * b.atr;

  // 1. A position held at the start of the bar (opened at an earlier bar): exit at c on a stop
  //    hit (against the stop left by bar i-1, non-strict), the opposite cross, or the time limit
  //    (max_hold > 0 only); otherwise the stop trails, always. Skipped when no lane holds a
  //    position (no lane would exit or trail).
  const M in_pos = st.side != 0.0;
  if (any(in_pos)) {
    const M is_long = st.side > 0.0;
    const M is_short = st.side < 0.0;
    const M stop_hit = (is_long && c <= st.stop) || (is_short && c >= st.stop);
    const M cross_exit = mask_and(is_long, b.bear) || mask_and(is_short, b.bull);
    const M time_hit = in_pos && p.max_hold > 0.0 && (i - st.entry_bar >= p.max_hold);
    const M do_exit = in_pos && (stop_hit || cross_exit || time_hit);
    if (any(do_exit)) account::close_position(st, p, do_exit, c);

    const M trail = in_pos && !do_exit;
    const V trailed = select(is_long, lane_max(st.stop, c - move), lane_min(st.stop, c + move));
    st.stop = select(trail, trailed, st.stop);
  }

  // 2. Flat after step 1 (flat at the start of the bar, or just closed: a reversal) on a cross
  //    bar: enter in the cross's direction if d = a * atr[i] > 0 and cash > 0. bull and bear are
  //    false before the warm-up. A position opened here is not managed until the next bar.
  if (b.bull || b.bear) {
    const V d = move;
    const M enter = st.side == 0.0 && d > 0.0 && st.cash > 0.0;
    if (any(enter)) account::open_position(st, p, enter, mask_and(enter, b.bull), c, d, i);
  }

  // 3. Equity at the close, and the exposure count.
  return account::equity_at_close(st, c);
}

// After the last bar: an open position exits at c[N-1]; E[N-1] is restated as the final cash.
template <class V>
THREADX_HD THREADX_FORCEINLINE V finish(State<V>& st, const LaneParams<V>& p, double c_last) {
  return account::finish(st, p, c_last);
}

// Folds E[i] into the return and drawdown sums (and Blocks'); see account::observe.
template <class V, class Blocks>
THREADX_HD THREADX_FORCEINLINE void observe(State<V>& st, V equity, bool has_return,
                                            Blocks& blocks) {
  account::observe(st, equity, has_return, blocks);
}

// Final metrics of one lane from its state. n_bars = N, bars_per_year = P.
THREADX_HD inline Metrics metrics_of(const State<double>& st, double initial, double n_bars,
                                     double bars_per_year) {
  return account::metrics_of(st, initial, n_bars, bars_per_year);
}

// f = fee_bps / 1e4 and s = slippage_bps / 1e4 are divisions (ma_cross.md section 2).
template <class V>
THREADX_HD THREADX_FORCEINLINE LaneParams<V> lane_params(const Params& sp) {
  LaneParams<V> p;
  p.a = sp.atr_multiplier;
  p.max_hold = sp.max_hold_bars;
  p.risk = sp.risk_per_trade;
  p.leverage = sp.leverage;
  p.f = sp.fee_bps / 1e4;
  p.s = sp.slippage_bps / 1e4;
  p.initial = sp.initial_capital;
  return p;
}

// Bars before the warm-up cannot open a position, so E stays at initial_capital and observe()
// would change nothing: the loop may start at the warm-up (at the last bar at the latest).
THREADX_HD THREADX_FORCEINLINE std::int64_t first_bar(const Series& s) {
  const std::int64_t w = s.warmup;
  return w < s.n_bars - 1 ? w : s.n_bars - 1;
}

// One combination over the whole series: the reference path, and the body of a CUDA thread.
// blocks: NoBlocks, or a BlockRecorder<double> for per-block statistics.
template <class Blocks = NoBlocks>
THREADX_HD inline Metrics run_one(const Series& s, const Params& sp, double bars_per_year,
                                  Blocks&& blocks = Blocks{}) {
  const LaneParams<double> p = lane_params<double>(sp);
  State<double> st;
  init(st, p);
  for (std::int64_t i = first_bar(s); i < s.n_bars; ++i) {
    blocks.at_bar(i, st.prev_equity, st.trades);
    const BarInputs b = bar_inputs(s, i);
    double e = step(st, p, b, static_cast<double>(i));
    if (i == s.n_bars - 1) e = finish(st, p, b.c);
    observe(st, e, i > 0, blocks);
  }
  blocks.finish(st.prev_equity, st.trades);
  return metrics_of(st, sp.initial_capital, static_cast<double>(s.n_bars), bars_per_year);
}

// run_one's bar loop for a state of one or more lanes, with the bars skipped at whose start every
// lane is flat and that are not in [cand, cand_end): the cross bars of the key group (cross_bar),
// in increasing order (a superset is fine).
//
// Why skipping such a bar cannot change a bit. Invariant: at the start of a bar, a flat lane has
// prev_equity == cash, bit for bit. It holds at init (both initial_capital); cash changes only in
// step 1's exit and step 2's entry, and a lane flat at the end of a stepped bar gets E = cash from
// step 3 (a select of cash itself), which observe stores in prev_equity unless it equals it
// already; a lane holding a position at the end of a bar is not flat at the start of the next one.
// Now take a bar at whose start every lane is flat and which is not a cross bar. Step 1 does
// nothing (no lane in a position: it is skipped even in the full loop). Step 2 does nothing (no
// bull, no bear). Step 3 leaves exposure_bars and returns E = cash = prev_equity in every lane, so
// observe returns at its first test (it adds no return, not even +0, to any sum or to Blocks). On
// the last bar, finish closes no lane (do_exit is false everywhere, every select keeps its value)
// and returns cash = prev_equity again. So the state after such a bar is the state before it, bit
// for bit. Blocks: at_bar closes every block that ended before the bar it is given and finish every
// block still open, with prev_equity and trades, which skipped bars do not change, so the cells are
// those of the full loop too. The same holds with a superset of the cross bars in the list: a bar
// stepped without need leaves the state as it was. (The argument needs cash == cash: a NaN cash,
// which only an intermediate overflow from prices or parameters of extreme magnitude can produce
// (ma_cross.md section 8), is outside it, as for bb_atr::run_bars; the full loop would then keep
// folding NaN returns, e.g. into the sums of later blocks, where skipping leaves +0.)
// blocks: NoBlocks, or a BlockRecorder<V>.
template <class V, class Blocks>
THREADX_HD THREADX_FORCEINLINE void run_bars(State<V>& st, const LaneParams<V>& p, const Series& s,
                                             const std::int32_t* cand, const std::int32_t* cand_end,
                                             Blocks& blocks) {
  const std::int64_t n = s.n_bars;
  std::int64_t i = first_bar(s);
  while (i < n) {
    if (!any(st.side != 0.0)) {
      while (cand != cand_end && *cand < i) ++cand;
      if (cand == cand_end) break;
      i = *cand;
    }
    blocks.at_bar(i, st.prev_equity, st.trades);
    const BarInputs b = bar_inputs(s, i);
    V e = step(st, p, b, static_cast<double>(i));
    if (i == n - 1) e = finish(st, p, b.c);
    observe(st, e, i > 0, blocks);
    ++i;
  }
  blocks.finish(st.prev_equity, st.trades);
}

}  // namespace threadx::ma_cross
