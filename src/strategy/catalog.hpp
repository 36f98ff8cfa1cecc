// The strategies this program runs. Declared here, below every layer that needs to look a strategy
// up by name (grid files say `strategy = "..."`); defined by src/strategies/registry.cpp, the one
// place a strategy is registered.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "strategy/spec.hpp"

namespace threadx {

// Every registered strategy, in registration order (bb_atr first: the default of a grid file).
std::span<const StrategySpec* const> strategy_catalog();
// The strategy of that name, or null.
const StrategySpec* find_strategy(std::string_view name);
// "bb_atr, ma_cross": for messages.
std::string strategy_names();
// The strategy of a grid file without `strategy =`.
const StrategySpec& default_strategy();

}  // namespace threadx
