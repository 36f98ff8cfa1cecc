// What the rest of the program knows of a strategy without running it: its parameter table
// (names, types, domains, defaults, which parameters choose the indicator series), the digit order
// of combination ids, cross-parameter rules of a grid, and its warm-up. Pure data: grid parsing,
// validation, --help, results columns and `threadx strategies` read it. The code that runs a
// strategy is its policy type (src/strategies/<name>/), registered in src/strategies/registry.cpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>

namespace threadx {

enum class ParamType { Int, Double, Bool };

struct ParamSpec {
  std::string_view name;
  ParamType type;
  double default_value;
  double min;          // lower bound of the domain
  bool min_inclusive;  // ">= min" when true, "> min" when false
  double max;          // upper bound of the domain
  bool max_inclusive;
  std::string_view domain;  // human-readable domain, as in the strategy's doc ("int >= 2")
  std::string_view help;
};

// Integers are bounded by int32 so that every backend can hold them in an int.
inline constexpr double kIntMax = 2147483647.0;
inline constexpr double kInf = std::numeric_limits<double>::infinity();

// The most parameters a strategy may have (fixed-size arrays on the hot paths, no allocation).
inline constexpr std::size_t kMaxParams = 16;

// One combination's parameter values, indexed by the strategy's table order. Int and Bool values
// are integral and within int32 (in_domain), so casting them to int is exact.
using ParamValues = std::array<double, kMaxParams>;
// The value index of each parameter (table order) in a grid's value lists.
using ParamIndex = std::array<std::uint32_t, kMaxParams>;

// "Every combination has params[lower] < params[upper]": checked on a grid as
// max(values of lower) < min(values of upper).
struct OrderedPair {
  std::size_t lower, upper;
};

struct StrategySpec {
  std::string_view name;
  int version;
  std::string_view summary;  // one line, for `threadx strategies`
  std::string_view doc;      // the contract, relative to the installed docs/ ("STRATEGY.md")
  std::span<const ParamSpec> params;
  // Parameter indices, most significant id digit first; the first key_count are the indicator
  // key (they choose the series a combination reads), so each key group is one id range.
  std::span<const std::size_t> id_order;
  std::size_t key_count;
  std::span<const OrderedPair> ordered;  // cross-parameter rules of a grid
  // The first bar at which a combination with these values may trade: a function of the key that
  // never decreases as a key parameter grows (the sweep takes the grid's largest values for the
  // largest warm-up).
  int (*warmup)(const ParamValues& values);
  std::string_view example_grid;  // a small valid grid file, for `strategies NAME --example-grid`

  [[nodiscard]] std::size_t param_count() const { return params.size(); }
  // The index of a parameter by name, or param_count() when unknown.
  [[nodiscard]] std::size_t index_of(std::string_view param) const {
    for (std::size_t i = 0; i < params.size(); ++i)
      if (params[i].name == param) return i;
    return params.size();
  }
};

// The sizing, cost and capital parameters of the bookkeeping every strategy shares
// (strategy/account.hpp; docs/STRATEGY.md section 3), the last rows of each strategy's table.
inline constexpr std::array<ParamSpec, 5> kAccountParams{{
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

// A strategy's own rows followed by kAccountParams: its whole table.
template <std::size_t N>
constexpr std::array<ParamSpec, N + kAccountParams.size()> with_account_params(
    const std::array<ParamSpec, N>& own) {
  std::array<ParamSpec, N + kAccountParams.size()> all{};
  for (std::size_t i = 0; i < N; ++i) all[i] = own[i];
  for (std::size_t i = 0; i < kAccountParams.size(); ++i) all[N + i] = kAccountParams[i];
  return all;
}

// The structural rules a strategy's table must keep (checked at compile time by the registry): at
// most kMaxParams parameters, an id order that lists each once, a key within it, rules between
// existing parameters that the defaults keep.
constexpr bool well_formed(const StrategySpec& s) {
  const std::size_t n = s.params.size();
  if (n == 0 || n > kMaxParams || s.id_order.size() != n || s.key_count > n) return false;
  for (std::size_t p = 0; p < n; ++p) {
    std::size_t seen = 0;
    for (std::size_t k = 0; k < n; ++k)
      if (s.id_order[k] == p) ++seen;
    if (seen != 1) return false;
  }
  for (const OrderedPair& o : s.ordered)
    if (o.lower >= n || o.upper >= n || o.lower == o.upper ||
        !(s.params[o.lower].default_value < s.params[o.upper].default_value))
      return false;
  // (Not warmup != nullptr: under ASan a function's address is not a constant expression.)
  return !s.name.empty();
}

// True when v lies in the parameter's domain (finite, within bounds, integral for Int/Bool).
bool in_domain(const ParamSpec& spec, double v);

}  // namespace threadx
