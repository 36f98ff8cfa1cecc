// The strategies this program runs: one line each (strategy/catalog.hpp). A strategy is its
// folder (src/strategies/<name>/: kernel, parameter table, policy, lanes.cpp) and its line here,
// which gives it its CPU driver (engine/cpu_driver.hpp).
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/cpu_driver.hpp"
#include "strategies/bb_atr/policy.hpp"
#include "strategies/ma_cross/policy.hpp"
#include "strategy/catalog.hpp"

namespace threadx {
namespace {

struct Registered {
  const StrategySpec* spec;
  const StrategyDriver* cpu;
};

template <class P>
Registered registered() {
  static_assert(well_formed(P::spec()), "a strategy's table breaks the rules of strategy/spec.hpp");
  static const CpuDriver<P> cpu;
  return {&P::spec(), &cpu};
}

const std::vector<Registered>& registry() {
  static const std::vector<Registered> all{
      registered<bb_atr::Policy>(),
      registered<ma_cross::Policy>(),
  };
  return all;
}

}  // namespace

std::span<const StrategySpec* const> strategy_catalog() {
  static const std::vector<const StrategySpec*> specs = [] {
    std::vector<const StrategySpec*> v;
    for (const Registered& r : registry()) v.push_back(r.spec);
    return v;
  }();
  return specs;
}

const StrategyDriver& cpu_driver(const StrategySpec& strategy) {
  for (const Registered& r : registry())
    if (r.spec == &strategy) return *r.cpu;
  throw std::logic_error("strategy " + std::string(strategy.name) + " is not registered");
}

}  // namespace threadx
