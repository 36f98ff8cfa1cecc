// The strategies this program runs (strategy/catalog.hpp): one line per strategy.
#include "strategies/bb_atr/spec.hpp"
#include "strategy/catalog.hpp"

namespace threadx {

std::span<const StrategySpec* const> strategy_catalog() {
  static constexpr const StrategySpec* kCatalog[] = {
      &bb_atr::kSpec,
  };
  return kCatalog;
}

}  // namespace threadx
