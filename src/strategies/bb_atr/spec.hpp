// bb_atr's parameter table (docs/STRATEGY.md, "Parameters"): names, types, defaults, domains, the
// digit order of combination ids, the warm-up, and the decoding of one combination's values into
// the kernel's Params. Pure data plus one conversion: what grids, results and `threadx
// strategies` know of bb_atr.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>

#include "strategies/bb_atr/bb_atr.hpp"
#include "strategy/spec.hpp"

namespace threadx::bb_atr {

// Indices in the order of the table in docs/STRATEGY.md.
enum Param : std::size_t {
  kBbPeriod = 0,
  kBbStd,
  kAtrPeriod,
  kAtrMultiplier,
  kMaxHoldBars,
  kSpacingBars,
  kTrendPeriod,
  kTrailingStop,
  kRiskPerTrade,
  kLeverage,
  kFeeBps,
  kSlippageBps,
  kInitialCapital,
  kParamCount
};

inline constexpr std::array<ParamSpec, kParamCount> kParams = with_account_params<kRiskPerTrade>({{
    {"bb_period", ParamType::Int, 20, 2, true, kIntMax, true, "int >= 2", "band window n"},
    {"bb_std", ParamType::Double, 2.0, 0, false, kInf, false, "double > 0", "band width k"},
    {"atr_period", ParamType::Int, 14, 1, true, kIntMax, true, "int >= 1", "ATR window m"},
    {"atr_multiplier", ParamType::Double, 1.5, 0, false, kInf, false, "double > 0",
     "stop distance in ATRs"},
    {"max_hold_bars", ParamType::Int, 72, 1, true, kIntMax, true, "int >= 1", "time exit"},
    {"spacing_bars", ParamType::Int, 6, 0, true, kIntMax, true, "int >= 0",
     "min bars between two entries"},
    {"trend_period", ParamType::Int, 0, 0, true, kIntMax, true, "int >= 0",
     "EMA trend filter; 0 = off"},
    {"trailing_stop", ParamType::Bool, 1, 0, true, 1, true, "0/1", "ratchet the stop"},
}});
static_assert(kParams[kRiskPerTrade].name == "risk_per_trade" &&
              kParams[kInitialCapital].name == "initial_capital");

// The indicator key (bb_period, atr_period, trend_period) is the most significant digits of an
// id, then the others in table order (docs/SWEEP.md, "Combination ids").
inline constexpr std::array<std::size_t, kParamCount> kIdOrder{
    kBbPeriod,    kAtrPeriod,   kTrendPeriod,   kBbStd,        kAtrMultiplier,
    kMaxHoldBars, kSpacingBars, kTrailingStop,  kRiskPerTrade, kLeverage,
    kFeeBps,      kSlippageBps, kInitialCapital};
inline constexpr std::size_t kKeyCount = 3;

// The first bar that may trade: max(bb_period, atr_period, trend_period).
inline int warmup(const ParamValues& v) {
  return static_cast<int>(std::max({v[kBbPeriod], v[kAtrPeriod], v[kTrendPeriod]}));
}

inline constexpr std::string_view kExampleGrid =
    R"(# bb_atr: 4 x 2 x 3 = 24 combinations over 12 indicator keys
strategy = "bb_atr"

[grid]
bb_period  = [15, 20, 25, 30]
bb_std     = [2.0, 2.5]
atr_period = [10, 14, 21]

[fixed]
atr_multiplier = 1.5
max_hold_bars  = 72
fee_bps        = 4.5
)";

inline constexpr StrategySpec kSpec{
    "bb_atr",      1,       "Bollinger-band re-entry with an ATR stop, optional EMA trend filter",
    "STRATEGY.md", kParams, kIdOrder,
    kKeyCount,     {},      &warmup,
    kExampleGrid,
};

// One combination's values (table order) as the kernel's Params. Int and Bool values are
// integral and within int32 (the grid checked their domains), so the casts are exact.
THREADX_HD inline Params decode(const ParamValues& v) {
  Params p;
  p.bb_period = static_cast<int>(v[kBbPeriod]);
  p.bb_std = v[kBbStd];
  p.atr_period = static_cast<int>(v[kAtrPeriod]);
  p.atr_multiplier = v[kAtrMultiplier];
  p.max_hold_bars = static_cast<int>(v[kMaxHoldBars]);
  p.spacing_bars = static_cast<int>(v[kSpacingBars]);
  p.trend_period = static_cast<int>(v[kTrendPeriod]);
  p.trailing_stop = static_cast<int>(v[kTrailingStop]);
  p.risk_per_trade = v[kRiskPerTrade];
  p.leverage = v[kLeverage];
  p.fee_bps = v[kFeeBps];
  p.slippage_bps = v[kSlippageBps];
  p.initial_capital = v[kInitialCapital];
  return p;
}

}  // namespace threadx::bb_atr
