// The strategies this program runs, as one list of policy types: the one place a strategy is
// registered (its policy's #include and its entry in `Strategies`). The CPU registry
// (src/strategies/registry.cpp) and the GPU runners (gpu/) instantiate their drivers over this
// list, so a strategy added here runs on every device with no other change.
#pragma once

#include <stdexcept>
#include <string>

#include "strategies/bb_atr/policy.hpp"
#include "strategies/ma_cross/policy.hpp"
#include "strategy/spec.hpp"

namespace threadx {

template <class... P>
struct StrategyList {
  // f.template operator()<P>() for each policy, in order.
  template <class F>
  static void each(F&& f) {
    (f.template operator()<P>(), ...);
  }
  // f.template operator()<P>() for the policy whose spec is `strategy`; false when none is.
  template <class F>
  static bool visit(const StrategySpec& strategy, F&& f) {
    return ((&P::spec() == &strategy ? (f.template operator()<P>(), true) : false) || ...);
  }
};

// Registration order: the first is the default strategy of a grid file without `strategy =`.
using Strategies = StrategyList<bb_atr::Policy, ma_cross::Policy>;

// Calls f.template operator()<P>() with the policy of `strategy`; std::logic_error for a spec
// that is not registered (specs come from the catalog, so that is a programming error).
template <class F>
void with_policy(const StrategySpec& strategy, F&& f) {
  if (!Strategies::visit(strategy, f))
    throw std::logic_error("strategy " + std::string(strategy.name) + " is not registered");
}

}  // namespace threadx
