// The catalog (strategy/catalog.hpp) and the CPU drivers (engine/cpu_driver.hpp) of the
// strategies listed in strategies/all.hpp. A strategy is its folder (src/strategies/<name>/:
// kernel, parameter table, policy, lanes.cpp) and its entry in that list.
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/cpu_driver.hpp"
#include "strategies/all.hpp"
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
  static const std::vector<Registered> all = [] {
    std::vector<Registered> v;
    Strategies::each([&]<class P>() { v.push_back(registered<P>()); });
    return v;
  }();
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
