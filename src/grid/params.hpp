// The bb_atr parameter table: the one source of truth for names, types, defaults and domains.
// Parsing, validation, --help, the HDF5 column names and the docs all read this table.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

namespace threadx {

enum class ParamType { Int, Double, Bool };

// Indices in the order of STRATEGY.md's parameter table.
enum ParamId : std::size_t {
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

struct ParamSpec {
  std::string_view name;
  ParamType type;
  double default_value;
  double min;          // lower bound of the domain
  bool min_inclusive;  // ">= min" when true, "> min" when false
  double max;          // upper bound of the domain
  bool max_inclusive;
  std::string_view domain;  // human-readable domain, as in STRATEGY.md ("int >= 2")
  std::string_view help;
};

inline constexpr std::string_view kStrategyName = "bb_atr";
inline constexpr int kStrategyVersion = 1;

// Integers are bounded by int32 so that every backend can hold them in an int.
inline constexpr double kIntMax = 2147483647.0;
inline constexpr double kInf = std::numeric_limits<double>::infinity();

inline constexpr std::array<ParamSpec, kParamCount> kParams{{
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
    {"risk_per_trade", ParamType::Double, 0.01, 0, false, 1, true, "double in (0,1]",
     "equity fraction risked to the stop"},
    {"leverage", ParamType::Double, 1.0, 0, false, kInf, false, "double > 0",
     "notional cap = equity * leverage"},
    {"fee_bps", ParamType::Double, 4.5, 0, true, kInf, false, "double >= 0",
     "fee per side, on notional"},
    {"slippage_bps", ParamType::Double, 0.0, 0, true, kInf, false, "double >= 0",
     "adverse fill per side"},
    {"initial_capital", ParamType::Double, 10000, 0, false, kInf, false, "double > 0",
     "starting equity"},
}};

// Indicator-key parameters are the most significant digits of a combination id, then the others
// in table order (SWEEP.md, Combination ids).
inline constexpr std::array<ParamId, kParamCount> kIdOrder{
    kBbPeriod,    kAtrPeriod,   kTrendPeriod,   kBbStd,        kAtrMultiplier,
    kMaxHoldBars, kSpacingBars, kTrailingStop,  kRiskPerTrade, kLeverage,
    kFeeBps,      kSlippageBps, kInitialCapital};
inline constexpr std::size_t kKeyParamCount = 3;  // bb_period, atr_period, trend_period

// Looks a parameter up by name; returns kParamCount when unknown.
constexpr std::size_t param_index(std::string_view name) {
  for (std::size_t i = 0; i < kParamCount; ++i)
    if (kParams[i].name == name) return i;
  return kParamCount;
}

// True when v lies in the parameter's domain (finite, within bounds, integral for Int/Bool).
bool in_domain(ParamId id, double v);

}  // namespace threadx
