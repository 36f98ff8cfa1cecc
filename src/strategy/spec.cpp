// Parameter domains and catalog look-ups (see spec.hpp, catalog.hpp).
#include "strategy/spec.hpp"

#include <cmath>

#include "strategy/catalog.hpp"

namespace threadx {

bool in_domain(const ParamSpec& s, double v) {
  if (!std::isfinite(v)) return false;
  if (s.type != ParamType::Double && v != std::trunc(v)) return false;  // Int and Bool: integral
  if (s.min_inclusive ? v < s.min : v <= s.min) return false;
  if (s.max_inclusive ? v > s.max : v >= s.max) return false;
  return true;
}

const StrategySpec* find_strategy(std::string_view name) {
  for (const StrategySpec* s : strategy_catalog())
    if (s->name == name) return s;
  return nullptr;
}

std::string strategy_names() {
  std::string out;
  for (const StrategySpec* s : strategy_catalog())
    out += (out.empty() ? "" : ", ") + std::string(s->name);
  return out;
}

const StrategySpec& default_strategy() {
  return *strategy_catalog().front();
}

}  // namespace threadx
