// bb_atr as the engine's drivers see a strategy: the policy type that engine/cpu_driver.hpp and
// engine/lanes/ are templates over. A policy names the strategy's table (spec.hpp) and kernel
// types, and decides what only the strategy knows: the indicator series a key group reads, which
// bars are entry candidates (the bars the kernel may not skip), how a lane's members are packed,
// one bar for the report's trace, and the report's price overlays.
//
// The kernel's own functions are not repeated here: the drivers call them unqualified, and
// argument-dependent lookup finds them in the strategy's namespace (bb_atr.hpp): lane_params<V>
// (Params), init(State, LaneParams), run_bars(State, LaneParams, Series, cand, cand_end, Blocks),
// run_one(Series, Params, bars_per_year, Blocks), first_bar(Series) and metrics_of(State,
// initial_capital, n_bars, bars_per_year). A new strategy provides the same (see README.md,
// "Adding a strategy").
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "common/hd.hpp"
#include "strategies/bb_atr/bb_atr.hpp"
#include "strategies/bb_atr/layout.hpp"
#include "strategies/bb_atr/spec.hpp"
#include "strategy/indicator.hpp"
#include "strategy/trace.hpp"

namespace threadx::bb_atr {

struct Policy {
  static constexpr const StrategySpec& spec() { return kSpec; }
  using Params = bb_atr::Params;
  template <class V>
  using LaneParams = bb_atr::LaneParams<V>;
  template <class V>
  using State = bb_atr::State<V>;
  using Series = SeriesView;

  THREADX_HD static Params decode(const ParamValues& v) { return bb_atr::decode(v); }

  // The series of the key group whose key parameters have the values in `key` (Bank:
  // indicators/indicator_bank.hpp).
  template <class Bank>
  static Series series(Bank& bank, const ParamValues& key) {
    const auto n = static_cast<int>(key[kBbPeriod]);
    const auto m = static_cast<int>(key[kAtrPeriod]);
    const auto t = static_cast<int>(key[kTrendPeriod]);
    Series s{};
    s.close = bank.close();
    s.mid = bank.series(Indicator::Sma, n);
    s.sd = bank.series(Indicator::Pstd, n);
    s.atr = bank.series(Indicator::Atr, m);
    s.ema = t > 0 ? bank.series(Indicator::Ema, t) : nullptr;
    s.n_bars = bank.n_bars();
    s.warmup = std::max({n, m, t});
    return s;
  }

  // Combinations of a key group with the same candidate key have the same entry-candidate bars:
  // the bars with a band signal at their bb_std.
  static double candidate_key(const Params& p) { return p.bb_std; }
  static bool candidate(const Series& s, std::int64_t i, double key) {
    return entry_candidate(s, i, key);
  }

  THREADX_HD static double initial_capital(const Params& p) { return p.initial_capital; }

  // Every indicator series pointer of a view, f(pointer&) for each (the CUDA runner copies each
  // series to the device and points its copy of the view there).
  template <class F>
  static void each_series(Series& s, F&& f) {
    f(s.close);
    f(s.mid);
    f(s.sd);
    f(s.atr);
    f(s.ema);
  }

  // Every member of LaneParams and of State, by name: f(a.m, b.m) for each (the lane kernels
  // pack and unpack lanes through these; engine/lanes/lane_block.hpp checks that none is missing).
  template <class A, class B, class F>
  THREADX_FORCEINLINE static constexpr void each_param(A& a, B& b, F&& f) {
    f(a.k, b.k);
    f(a.a, b.a);
    f(a.max_hold, b.max_hold);
    f(a.spacing, b.spacing);
    f(a.trailing, b.trailing);
    f(a.risk, b.risk);
    f(a.leverage, b.leverage);
    f(a.f, b.f);
    f(a.s, b.s);
    f(a.initial, b.initial);
  }
  template <class A, class B, class F>
  THREADX_FORCEINLINE static constexpr void each_state(A& a, B& b, F&& f) {
    f(a.side, b.side);
    f(a.qty, b.qty);
    f(a.entry_price, b.entry_price);
    f(a.entry_bar, b.entry_bar);
    f(a.stop, b.stop);
    f(a.fee_in, b.fee_in);
    f(a.last_entry_bar, b.last_entry_bar);
    f(a.cash, b.cash);
    f(a.trades, b.trades);
    f(a.wins, b.wins);
    f(a.gross_win, b.gross_win);
    f(a.gross_loss, b.gross_loss);
    f(a.pnl_sum, b.pnl_sum);
    f(a.fees, b.fees);
    f(a.exposure_bars, b.exposure_bars);
    f(a.prev_equity, b.prev_equity);
    f(a.peak, b.peak);
    f(a.max_dd, b.max_dd);
    f(a.sum_r, b.sum_r);
    f(a.sum_r2, b.sum_r2);
    f(a.sum_neg_r2, b.sum_neg_r2);
  }

  // run_one's loop, one bar at a time (CpuDriver::trace): step returns E[i] before the final
  // exit, finish the last bar's E after it.
  static double step(State<double>& st, const LaneParams<double>& p, const Series& s,
                     std::int64_t i) {
    return bb_atr::step(st, p, bar_inputs(s, i), static_cast<double>(i), i >= s.warmup,
                        s.ema != nullptr);
  }
  static double finish(State<double>& st, const LaneParams<double>& p, const Series& s) {
    return bb_atr::finish(st, p, s.close[s.n_bars - 1]);
  }

  // The price overlays of the report: the bands at the combination's bb_std.
  static std::vector<Overlay> overlays(const Series& s, const Params& p) {
    const auto n = static_cast<std::size_t>(s.n_bars);
    Overlay upper{"upper band", std::vector<double>(n, std::nan(""))};
    Overlay mid{"middle band", std::vector<double>(n, std::nan(""))};
    Overlay lower{"lower band", std::vector<double>(n, std::nan(""))};
    for (std::size_t i = static_cast<std::size_t>(p.bb_period) - 1; i < n; ++i) {
      mid.value[i] = s.mid[i];
      upper.value[i] = s.mid[i] + p.bb_std * s.sd[i];
      lower.value[i] = s.mid[i] - p.bb_std * s.sd[i];
    }
    return {upper, mid, lower};
  }
};

}  // namespace threadx::bb_atr
