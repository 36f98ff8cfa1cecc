// The per-combination bb_atr backtest of STRATEGY.md: a small state struct and a per-bar step,
// O(1) memory per combination, no allocation, no branches on per-combination data.
//
// The same code is compiled for the CPU and by nvcc for CUDA kernels (THREADX_HD). It is generic
// over the lane type V: V = double runs one combination (GPU thread, reference path); a SIMD
// vector of doubles runs several combinations of one indicator-key group in lock-step (CPU).
// Every decision is a select, so all lane types execute the same IEEE operations in the same
// order and give bit-identical results. The only branches are on "does any lane need this?"
// (an exit, an entry, a changed equity): skipped work is work that would have left every lane's
// state bit for bit unchanged, so skipping it cannot change a result.
//
// Sizing, fees, the exit, the equity, the forced exit, the returns and the metrics are the
// bookkeeping every strategy shares (strategy/account.hpp); bb_atr adds last_entry_bar.
#pragma once

#include <cstdint>

#include "common/hd.hpp"
#include "strategy/account.hpp"
#include "strategy/block_recorder.hpp"
#include "strategy/lanes.hpp"
#include "strategy/metrics.hpp"

namespace threadx::bb_atr {

// Parameters of one combination, as the kernel consumes them (the strategy's parameter table is
// strategies/bb_atr/spec.hpp; the layout crosses to the GPU: gpu/layout.hpp).
struct Params {
  int bb_period = 20;
  double bb_std = 2.0;
  int atr_period = 14;
  double atr_multiplier = 1.5;
  int max_hold_bars = 72;
  int spacing_bars = 6;
  int trend_period = 0;
  int trailing_stop = 1;
  double risk_per_trade = 0.01;
  double leverage = 1.0;
  double fee_bps = 4.5;
  double slippage_bps = 0.0;
  double initial_capital = 10000.0;
};

// "No entry yet": i - last_entry_bar is then >= any spacing without a separate flag.
inline constexpr double kNoEntryBar = -1e300;

// Per-lane parameters (one combination per lane). Group-level values (windows) are not here:
// they select the indicator series.
template <class V>
struct LaneParams {
  V k;         // bb_std
  V a;         // atr_multiplier
  V max_hold;  // max_hold_bars
  V spacing;   // spacing_bars
  V trailing;  // 1 or 0
  V risk;      // risk_per_trade
  V leverage;
  V f;        // fee_bps / 1e4
  V s;        // slippage_bps / 1e4
  V initial;  // initial_capital
};

// Everything a combination carries from bar to bar.
template <class V>
struct State {
  // position
  V side;  // +1 long, -1 short, 0 flat
  V qty;
  V entry_price;
  V entry_bar;
  V stop;
  V fee_in;
  V last_entry_bar;  // kNoEntryBar before the first entry
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

// The indicator values one bar needs, shared by every combination of a key group.
struct BarInputs {
  double c, c_prev;          // close[i], close[i-1]
  double mid, sd;            // band series at i
  double mid_prev, sd_prev;  // band series at i-1
  double atr;                // atr[i]
  double ema;                // ema[i] (unused when the trend filter is off)
};

// The zero vector of the selects (strategy/account.hpp): bb_std is > 0, so this is +0.0.
template <class V>
THREADX_HD THREADX_FORCEINLINE V lane_zero(const LaneParams<V>& p) {
  return p.k * 0.0;
}

template <class V>
THREADX_HD THREADX_FORCEINLINE void init(State<V>& st, const LaneParams<V>& p) {
  account::init(st, p);
  st.last_entry_bar = lane_zero(p) + kNoEntryBar;
}

// Opens a position in the lanes of `enter` at close c (STRATEGY.md step 2's entry); d = a*atr[i].
template <class V, class M>
THREADX_HD THREADX_FORCEINLINE void enter_position(State<V>& st, const LaneParams<V>& p, M enter,
                                                   M long_sig, double c, V d, double i) {
  account::open_position(st, p, enter, long_sig, c, d, i);
  st.last_entry_bar = select(enter, lane_zero(p) + i, st.last_entry_bar);
}

// The long and short entry signals of STRATEGY.md step 2 at band width k (before the spacing,
// flat, d > 0 and cash > 0 conditions). One definition for the step and for the candidate-bar
// lists of entry_candidates, so both evaluate the same IEEE operations.
template <class V, class M>
THREADX_HD THREADX_FORCEINLINE void band_signals(const BarInputs& b, V k, bool trend, M& long_sig,
                                                 M& short_sig) {
  const double c = b.c;
  const V lower = b.mid - k * b.sd;
  const V upper = b.mid + k * b.sd;
  const V lower_prev = b.mid_prev - k * b.sd_prev;
  const V upper_prev = b.mid_prev + k * b.sd_prev;
  const bool trend_long = !trend || c > b.ema;
  const bool trend_short = !trend || c < b.ema;
  long_sig = mask_and(c < lower && b.c_prev >= lower_prev, trend_long);
  short_sig = mask_and(c > upper && b.c_prev <= upper_prev, trend_short);
}

// Steps 1-3 of STRATEGY.md's per-bar loop for bar i; returns E[i].
// can_enter: i >= warmup. trend: the EMA filter is on (trend_period > 0).
template <class V>
THREADX_HD THREADX_FORCEINLINE V step(State<V>& st, const LaneParams<V>& p, const BarInputs& b,
                                      double i, bool can_enter, bool trend) {
  using M = decltype(st.side != 0.0);
  const double c = b.c;

  // 1. In a position: stop, take profit, time exit, in that order of precedence (any of them
  //    exits at c, so the order only matters for the record, which is the same exit).
  //    Skipped when no lane is in a position (no lane would exit or trail).
  const M in_pos = st.side != 0.0;
  const V move = p.a * b.atr;
  if (any(in_pos)) {
    const M is_long = st.side > 0.0;
    const M is_short = st.side < 0.0;
    const M stop_hit = (is_long && c <= st.stop) || (is_short && c >= st.stop);
    const M tp_hit = (is_long && c >= b.mid) || (is_short && c <= b.mid);
    const M time_hit = in_pos && (i - st.entry_bar >= p.max_hold);
    const M do_exit = in_pos && (stop_hit || tp_hit || time_hit);
    if (any(do_exit)) account::close_position(st, p, do_exit, c);

    const M trail = in_pos && !do_exit && p.trailing != 0.0;
    const V trailed = select(is_long, lane_max(st.stop, c - move), lane_min(st.stop, c + move));
    st.stop = select(trail, trailed, st.stop);
  }

  // 2. Flat at the start of the bar (so never on an exit bar): entry on a band cross. Skipped
  //    when every lane is in a position (no lane could enter).
  const M flat = !in_pos;
  if (can_enter && any(flat)) {
    M long_sig, short_sig;
    band_signals(b, p.k, trend, long_sig, short_sig);
    const M spacing_ok = i - st.last_entry_bar >= p.spacing;
    const V d = move;
    const M enter = flat && spacing_ok && (long_sig || short_sig) && d > 0.0 && st.cash > 0.0;

    if (any(enter)) enter_position(st, p, enter, long_sig, c, d, i);
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

template <class V>
THREADX_HD THREADX_FORCEINLINE LaneParams<V> lane_params(const Params& sp) {
  LaneParams<V> p;
  p.k = sp.bb_std;
  p.a = sp.atr_multiplier;
  p.max_hold = sp.max_hold_bars;
  p.spacing = sp.spacing_bars;
  p.trailing = sp.trailing_stop;
  p.risk = sp.risk_per_trade;
  p.leverage = sp.leverage;
  p.f = sp.fee_bps / 1e4;
  p.s = sp.slippage_bps / 1e4;
  p.initial = sp.initial_capital;
  return p;
}

// Indicator series of one key group, read-only. ema is null when the trend filter is off.
struct SeriesView {
  const double* close;
  const double* mid;
  const double* sd;
  const double* atr;
  const double* ema;
  std::int64_t n_bars;
  int warmup;  // max(bb_period, atr_period, trend_period)
};

THREADX_HD THREADX_FORCEINLINE BarInputs bar_inputs(const SeriesView& s, std::int64_t i) {
  BarInputs b{};
  b.c = s.close[i];
  b.c_prev = i > 0 ? s.close[i - 1] : s.close[i];
  b.mid = s.mid[i];
  b.sd = s.sd[i];
  b.mid_prev = i > 0 ? s.mid[i - 1] : s.mid[i];
  b.sd_prev = i > 0 ? s.sd[i - 1] : s.sd[i];
  b.atr = s.atr[i];
  b.ema = s.ema != nullptr ? s.ema[i] : 0.0;
  return b;
}

// Bars before the warm-up cannot open a position, so E stays at initial_capital and observe()
// would change nothing: the loop may start at the warm-up (at the last bar at the latest).
THREADX_HD THREADX_FORCEINLINE std::int64_t first_bar(const SeriesView& s) {
  const std::int64_t w = s.warmup;
  return w < s.n_bars - 1 ? w : s.n_bars - 1;
}

// One combination over the whole series: the reference path, and the body of a CUDA thread.
// blocks: NoBlocks, or a BlockRecorder<double> for per-block statistics.
template <class Blocks = NoBlocks>
THREADX_HD inline Metrics run_one(const SeriesView& s, const Params& sp, double bars_per_year,
                                  Blocks&& blocks = Blocks{}) {
  const LaneParams<double> p = lane_params<double>(sp);
  State<double> st;
  init(st, p);
  const bool trend = s.ema != nullptr;
  for (std::int64_t i = first_bar(s); i < s.n_bars; ++i) {
    blocks.at_bar(i, st.prev_equity, st.trades);
    const BarInputs b = bar_inputs(s, i);
    double e = step(st, p, b, static_cast<double>(i), i >= s.warmup, trend);
    if (i == s.n_bars - 1) e = finish(st, p, b.c);
    observe(st, e, i > 0, blocks);
  }
  blocks.finish(st.prev_equity, st.trades);
  return metrics_of(st, sp.initial_capital, static_cast<double>(s.n_bars), bars_per_year);
}

// True when bar i (>= the warm-up) has an entry signal, long or short, at band width k: the
// only bars at which a flat combination with this k can open a position.
THREADX_HD inline bool entry_candidate(const SeriesView& s, std::int64_t i, double k) {
  bool long_sig = false, short_sig = false;
  band_signals(bar_inputs(s, i), k, s.ema != nullptr, long_sig, short_sig);
  return long_sig || short_sig;
}

// run_one's bar loop for a state of one or more lanes, with the bars skipped at whose start every
// lane is flat and that are not in [cand, cand_end): the entry candidates of every lane's k, in
// increasing order (a superset is fine). On such a bar no lane exits, trails, enters or changes
// its equity (E = cash = the previous E, see observe), and the final exit of a flat lane changes
// nothing either, so skipping it leaves every state bit for bit as the full loop would.
// blocks: NoBlocks, or a BlockRecorder<V> (skipped bars still close their blocks: see there).
template <class V, class Blocks>
THREADX_HD THREADX_FORCEINLINE void run_bars(State<V>& st, const LaneParams<V>& p,
                                             const SeriesView& s, const std::int32_t* cand,
                                             const std::int32_t* cand_end, Blocks& blocks) {
  const bool trend = s.ema != nullptr;
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
    V e = step(st, p, b, static_cast<double>(i), i >= s.warmup, trend);
    if (i == n - 1) e = finish(st, p, b.c);
    observe(st, e, i > 0, blocks);
    ++i;
  }
  blocks.finish(st.prev_equity, st.trades);
}

}  // namespace threadx::bb_atr
