// The bookkeeping every strategy shares (STRATEGY.md sections 5 and 6, reused unchanged by
// docs/strategies/ma_cross.md section 1): closing a position at a close, opening one with the
// risk/leverage sizing, the equity at the close and the exposure count, the forced exit after the
// last bar, the one-pass return and drawdown sums (and a BlockRecorder's), and the final metrics.
//
// Lane-generic like the kernels that use it: a strategy's State<V> and LaneParams<V> (V = double
// or a SIMD vector of doubles) are passed as they are, and the functions below read and write
// these members by name, so each strategy keeps one flat struct of V (the SIMD path packs and
// unpacks them member by member):
//   State:      side qty entry_price entry_bar stop fee_in cash trades wins gross_win gross_loss
//               pnl_sum fees exposure_bars prev_equity peak max_dd sum_r sum_r2 sum_neg_r2
//   LaneParams: risk leverage f s initial, and the strategy's lane_zero(p) (below)
// Every decision is a select, so every lane type runs the same IEEE operations in the same order.
// The zero vector of the selects is the strategy's lane_zero(p), found by argument-dependent
// lookup in the strategy's namespace: a finite non-negative lane parameter times 0.0, so +0.0 in
// every lane (bb_atr keeps its p.k * 0.0: it runs the same operations as before the split).
//
// The lane operations (strategy/lanes.hpp) must be declared before these templates.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/hd.hpp"
#include "strategy/lanes.hpp"
#include "strategy/metrics.hpp"

namespace threadx::account {

// The account part of a strategy's initial state: flat, cash = initial_capital, no trade, no
// fee, equity at initial_capital with no drawdown.
template <class S, class P>
THREADX_HD THREADX_FORCEINLINE void init(S& st, const P& p) {
  const auto zero = lane_zero(p);
  st.side = zero;
  st.qty = zero;
  st.entry_price = zero;
  st.entry_bar = zero;
  st.stop = zero;
  st.fee_in = zero;
  st.cash = p.initial;
  st.trades = zero;
  st.wins = zero;
  st.gross_win = zero;
  st.gross_loss = zero;
  st.pnl_sum = zero;
  st.fees = zero;
  st.exposure_bars = zero;
  st.prev_equity = p.initial;
  st.peak = p.initial;
  st.max_dd = zero;
  st.sum_r = zero;
  st.sum_r2 = zero;
  st.sum_neg_r2 = zero;
}

// Closes the position of the lanes in `do_exit` at close c (STRATEGY.md step 1, "To close at bar
// j"): the trade is recorded, fee_out added to the fees, the lane is flat.
template <class S, class P, class M>
THREADX_HD THREADX_FORCEINLINE void close_position(S& st, const P& p, M do_exit, double c) {
  using V = decltype(st.cash);
  const M is_long = st.side > 0.0;
  const V p_out = select(is_long, c * (1.0 - p.s), c * (1.0 + p.s));
  const V fee_out = st.qty * p_out * p.f;
  const V gross = st.side * st.qty * (p_out - st.entry_price);
  const V pnl = gross - st.fee_in - fee_out;
  const V zero = lane_zero(p);
  st.cash = select(do_exit, st.cash + (gross - fee_out), st.cash);
  st.trades = select(do_exit, st.trades + 1.0, st.trades);
  st.wins = select(do_exit && pnl > 0.0, st.wins + 1.0, st.wins);
  st.gross_win = select(do_exit && pnl > 0.0, st.gross_win + pnl, st.gross_win);
  st.gross_loss = select(do_exit && pnl < 0.0, st.gross_loss + pnl, st.gross_loss);
  st.pnl_sum = select(do_exit, st.pnl_sum + pnl, st.pnl_sum);
  st.fees = select(do_exit, st.fees + fee_out, st.fees);
  st.side = select(do_exit, zero, st.side);
}

// Opens a position in the lanes of `enter` at close c (STRATEGY.md step 2, from "On a signal"):
// long where long_sig is set, short elsewhere; d = a * atr[i] > 0 and cash > 0 are the caller's
// conditions, already in `enter`. Lanes outside `enter` keep their state (their qty may be
// inf or NaN when d = 0: it is never selected).
template <class S, class P, class M, class V>
THREADX_HD THREADX_FORCEINLINE void open_position(S& st, const P& p, M enter, M long_sig, double c,
                                                  V d, double i) {
  const V zero = lane_zero(p);
  const V side = select(long_sig, zero + 1.0, zero - 1.0);
  const V p_in = select(long_sig, c * (1.0 + p.s), c * (1.0 - p.s));
  const V qty = lane_min(st.cash * p.risk / d, st.cash * p.leverage / p_in);
  const V fee_in = qty * p_in * p.f;
  st.side = select(enter, side, st.side);
  st.qty = select(enter, qty, st.qty);
  st.entry_price = select(enter, p_in, st.entry_price);
  st.fee_in = select(enter, fee_in, st.fee_in);
  st.cash = select(enter, st.cash - fee_in, st.cash);
  st.fees = select(enter, st.fees + fee_in, st.fees);
  st.stop = select(enter, p_in - side * d, st.stop);
  st.entry_bar = select(enter, zero + i, st.entry_bar);
}

// Step 3: E[i] at close c, after the bar's exits and entries, and the exposure count (a bar with
// a position open at this point).
template <class S>
THREADX_HD THREADX_FORCEINLINE auto equity_at_close(S& st, double c) {
  const auto open = st.side != 0.0;
  st.exposure_bars = select(open, st.exposure_bars + 1.0, st.exposure_bars);
  return select(open, st.cash + st.side * st.qty * (c - st.entry_price), st.cash);
}

// After the last bar: an open position exits at c[N-1]; returns the final cash, which replaces
// E[N-1].
template <class S, class P>
THREADX_HD THREADX_FORCEINLINE auto finish(S& st, const P& p, double c_last) {
  close_position(st, p, st.side != 0.0, c_last);
  return st.cash;
}

// Folds E[i] into the return and drawdown accumulators; i >= 1 adds a return.
// An equity equal to the previous one in every lane changes nothing: r = E/E - 1 = +0 adds +0 to
// the sums (which are never -0), the peak already holds E, and 1 - E/peak was already folded into
// max_dd. Bars where every lane stays flat, most of them, are skipped that way.
// Blocks (BlockRecorder or NoBlocks) gets the same returns, for per-block statistics.
template <class S, class V, class Blocks>
THREADX_HD THREADX_FORCEINLINE void observe(S& st, V equity, bool has_return, Blocks& blocks) {
  if (!any(equity != st.prev_equity)) return;
  const V zero = equity * 0.0;
  if (has_return) {
    const V r = select(st.prev_equity > 0.0, equity / st.prev_equity - 1.0, zero);
    blocks.add(r);
    st.sum_r = st.sum_r + r;
    st.sum_r2 = st.sum_r2 + r * r;
    const V neg = lane_min(r, zero);
    st.sum_neg_r2 = st.sum_neg_r2 + neg * neg;
  }
  st.prev_equity = equity;
  st.peak = lane_max(st.peak, equity);
  st.max_dd = lane_max(st.max_dd, 1.0 - equity / st.peak);
}

// Final metrics of one lane (S = State<double>) from its state. n_bars = N, bars_per_year = P.
template <class S>
THREADX_HD inline Metrics metrics_of(const S& st, double initial, double n_bars,
                                     double bars_per_year) {
  Metrics m{};
  const double n_ret = n_bars - 1.0;
  const double final_equity = st.prev_equity;
  m.final_equity = final_equity;
  m.total_return = final_equity / initial - 1.0;
  if (n_ret >= 2.0) {
    const double mean = st.sum_r / n_ret;
    const double var = (st.sum_r2 - st.sum_r * st.sum_r / n_ret) / (n_ret - 1.0);
    m.sharpe = var > 0.0 ? mean / sqrt(var) * sqrt(bars_per_year) : 0.0;
  }
  if (n_ret >= 1.0) {
    const double down = sqrt(st.sum_neg_r2 / n_ret);
    m.sortino = down > 0.0 ? st.sum_r / n_ret / down * sqrt(bars_per_year) : 0.0;
  }
  m.max_drawdown = st.max_dd;
  m.trades = static_cast<std::int64_t>(st.trades);
  m.win_rate = st.trades > 0.0 ? st.wins / st.trades : 0.0;
  if (st.gross_loss < 0.0) {
    m.profit_factor = st.gross_win / -st.gross_loss;
  } else {
    m.profit_factor = st.gross_win > 0.0 ? HUGE_VAL : 0.0;
  }
  m.expectancy = st.trades > 0.0 ? st.pnl_sum / st.trades : 0.0;
  m.exposure = st.exposure_bars / n_bars;
  m.fees = st.fees;
  return m;
}

}  // namespace threadx::account
