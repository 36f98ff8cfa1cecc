// SIMD lane type for the CPU backtest: kLanes combinations of one key group advance together
// through the same bb_atr::step code as the scalar path (GCC/Clang vector extensions; the
// compiler maps them to AVX-512, AVX2 or SSE2 as the target allows). Not included by CUDA code.
#pragma once

#include <cstddef>

#include "strategy/bb_atr.hpp"

namespace threadx::bb_atr {

// The state of lane j as a scalar state, for metrics_of.
inline State<double> lane_state(const State<VecD>& v, std::size_t j) {
  State<double> s;
  s.side = v.side[j];
  s.qty = v.qty[j];
  s.entry_price = v.entry_price[j];
  s.entry_bar = v.entry_bar[j];
  s.stop = v.stop[j];
  s.fee_in = v.fee_in[j];
  s.last_entry_bar = v.last_entry_bar[j];
  s.cash = v.cash[j];
  s.trades = v.trades[j];
  s.wins = v.wins[j];
  s.gross_win = v.gross_win[j];
  s.gross_loss = v.gross_loss[j];
  s.pnl_sum = v.pnl_sum[j];
  s.fees = v.fees[j];
  s.exposure_bars = v.exposure_bars[j];
  s.prev_equity = v.prev_equity[j];
  s.peak = v.peak[j];
  s.max_dd = v.max_dd[j];
  s.sum_r = v.sum_r[j];
  s.sum_r2 = v.sum_r2[j];
  s.sum_neg_r2 = v.sum_neg_r2[j];
  return s;
}

}  // namespace threadx::bb_atr
