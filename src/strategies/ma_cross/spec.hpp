// ma_cross's parameter table (docs/strategies/ma_cross.md section 2): names, types, defaults,
// domains, the fast < slow rule, the digit order of ids (the table order: the four indicator-key
// parameters first), the warm-up, and the decoding of one combination's values into Params.
#pragma once

#include <array>
#include <cstddef>

#include "strategies/ma_cross/ma_cross.hpp"
#include "strategy/spec.hpp"

namespace threadx::ma_cross {

enum Param : std::size_t {
  kFastPeriod = 0,
  kSlowPeriod,
  kMaType,
  kAtrPeriod,
  kAtrMultiplier,
  kMaxHoldBars,
  kRiskPerTrade,
  kLeverage,
  kFeeBps,
  kSlippageBps,
  kInitialCapital,
  kParamCount
};

inline constexpr std::array<ParamSpec, kParamCount> kParams = with_account_params<kRiskPerTrade>({{
    {"fast_period", ParamType::Int, 10, 1, true, kIntMax, true, "int >= 1",
     "fast moving-average window"},
    {"slow_period", ParamType::Int, 30, 2, true, kIntMax, true, "int >= 2",
     "slow moving-average window"},
    {"ma_type", ParamType::Bool, 0, 0, true, 1, true, "0/1", "0: SMA lines, 1: EMA lines"},
    {"atr_period", ParamType::Int, 14, 1, true, kIntMax, true, "int >= 1", "ATR window m"},
    {"atr_multiplier", ParamType::Double, 3.0, 0, false, kInf, false, "double > 0",
     "trailing stop distance in ATRs"},
    {"max_hold_bars", ParamType::Int, 0, 0, true, kIntMax, true, "int >= 0", "time exit; 0 = off"},
}});
static_assert(kParams[kRiskPerTrade].name == "risk_per_trade" &&
              kParams[kInitialCapital].name == "initial_capital");

// The table order is the id order; the first four are the indicator key.
inline constexpr std::array<std::size_t, kParamCount> kIdOrder{
    kFastPeriod,   kSlowPeriod, kMaType, kAtrPeriod,   kAtrMultiplier, kMaxHoldBars,
    kRiskPerTrade, kLeverage,   kFeeBps, kSlippageBps, kInitialCapital};
inline constexpr std::size_t kKeyCount = 4;
inline constexpr std::array<OrderedPair, 1> kOrdered{{{kFastPeriod, kSlowPeriod}}};

inline int warmup(const ParamValues& v) {
  const auto slow = static_cast<int>(v[kSlowPeriod]), atr = static_cast<int>(v[kAtrPeriod]);
  return slow > atr ? slow : atr;
}

inline constexpr std::string_view kExampleGrid =
    R"(# ma_cross: 3 x 3 x 2 x 2 = 36 combinations over 18 indicator keys
strategy = "ma_cross"

[grid]
fast_period    = [5, 10, 15]
slow_period    = [20, 40, 80]
ma_type        = [0, 1]
atr_multiplier = [2.0, 3.0]

[fixed]
atr_period    = 14
max_hold_bars = 0
fee_bps       = 4.5
)";

inline constexpr StrategySpec kSpec{
    "ma_cross",
    1,
    "Moving-average crossover (SMA or EMA lines): long on the cross above, short on the cross "
    "below, ATR trailing stop, optional time exit",
    "strategies/ma_cross.md",
    kParams,
    kIdOrder,
    kKeyCount,
    kOrdered,
    &warmup,
    kExampleGrid,
};

THREADX_HD inline Params decode(const ParamValues& v) {
  Params p;
  p.fast_period = static_cast<int>(v[kFastPeriod]);
  p.slow_period = static_cast<int>(v[kSlowPeriod]);
  p.ma_type = static_cast<int>(v[kMaType]);
  p.atr_period = static_cast<int>(v[kAtrPeriod]);
  p.atr_multiplier = v[kAtrMultiplier];
  p.max_hold_bars = static_cast<int>(v[kMaxHoldBars]);
  p.risk_per_trade = v[kRiskPerTrade];
  p.leverage = v[kLeverage];
  p.fee_bps = v[kFeeBps];
  p.slippage_bps = v[kSlippageBps];
  p.initial_capital = v[kInitialCapital];
  return p;
}

}  // namespace threadx::ma_cross
