// ma_cross as the engine's drivers see a strategy (the policy type; see
// strategies/bb_atr/policy.hpp for the shape). The entry candidates of a key group are its cross
// bars, the same for every combination of the group.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/hd.hpp"
#include "strategies/ma_cross/layout.hpp"
#include "strategies/ma_cross/ma_cross.hpp"
#include "strategies/ma_cross/spec.hpp"
#include "strategy/indicator.hpp"
#include "strategy/trace.hpp"

namespace threadx::ma_cross {

struct Policy {
  static constexpr const StrategySpec& spec() { return kSpec; }
  using Params = ma_cross::Params;
  template <class V>
  using LaneParams = ma_cross::LaneParams<V>;
  template <class V>
  using State = ma_cross::State<V>;
  using Series = ma_cross::Series;

  THREADX_HD static Params decode(const ParamValues& v) { return ma_cross::decode(v); }

  // Both lines of one kind (ma_cross.md section 3, "The two lines") and the ATR.
  template <class Bank>
  static Series series(Bank& bank, const ParamValues& key) {
    const auto nf = static_cast<int>(key[kFastPeriod]);
    const auto ns = static_cast<int>(key[kSlowPeriod]);
    const auto m = static_cast<int>(key[kAtrPeriod]);
    const Indicator line = key[kMaType] == 0 ? Indicator::Sma : Indicator::Ema;
    Series s{};
    s.close = bank.close();
    s.fast = bank.series(line, nf);
    s.slow = bank.series(line, ns);
    s.atr = bank.series(Indicator::Atr, m);
    s.n_bars = bank.n_bars();
    s.warmup = ns > m ? ns : m;
    return s;
  }

  // The cross bars depend on the key group only.
  static double candidate_key(const Params& /*p*/) { return 0.0; }
  static bool candidate(const Series& s, std::int64_t i, double /*key*/) { return cross_bar(s, i); }

  THREADX_HD static double initial_capital(const Params& p) { return p.initial_capital; }

  // Every indicator series pointer of a view, f(pointer&) for each (the CUDA runner copies each
  // series to the device and points its copy of the view there).
  template <class F>
  static void each_series(Series& s, F&& f) {
    f(s.close);
    f(s.fast);
    f(s.slow);
    f(s.atr);
  }

  // Every member of LaneParams and of State, by name: f(a.m, b.m) for each (the lane kernels
  // pack and unpack lanes through these; engine/lanes/lane_block.hpp checks that none is missing).
  template <class A, class B, class F>
  THREADX_FORCEINLINE static constexpr void each_param(A& a, B& b, F&& f) {
    f(a.a, b.a);
    f(a.max_hold, b.max_hold);
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

  static double step(State<double>& st, const LaneParams<double>& p, const Series& s,
                     std::int64_t i) {
    return ma_cross::step(st, p, bar_inputs(s, i), static_cast<double>(i));
  }
  static double finish(State<double>& st, const LaneParams<double>& p, const Series& s) {
    return ma_cross::finish(st, p, s.close[s.n_bars - 1]);
  }

  // The price overlays of the report: the two lines, where defined.
  static std::vector<Overlay> overlays(const Series& s, const Params& p) {
    const auto n = static_cast<std::size_t>(s.n_bars);
    const char* kind = p.ma_type == 0 ? "SMA" : "EMA";
    Overlay fast{std::string("fast ") + kind + " " + std::to_string(p.fast_period),
                 std::vector<double>(n, std::nan(""))};
    Overlay slow{std::string("slow ") + kind + " " + std::to_string(p.slow_period),
                 std::vector<double>(n, std::nan(""))};
    for (std::size_t i = static_cast<std::size_t>(p.fast_period) - 1; i < n; ++i)
      fast.value[i] = s.fast[i];
    for (std::size_t i = static_cast<std::size_t>(p.slow_period) - 1; i < n; ++i)
      slow.value[i] = s.slow[i];
    return {fast, slow};
  }
};

}  // namespace threadx::ma_cross
