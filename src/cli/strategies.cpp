// `threadx strategies`: what a grid file's `strategy =` can name, read from the catalog
// (strategy/catalog.hpp): each strategy's parameters with their types, domains, defaults and
// which choose the indicator series; `--example-grid` prints the strategy's small valid grid.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <string>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "common/time_format.hpp"
#include "strategy/catalog.hpp"

namespace threadx {
namespace {

const char* type_name(ParamType t) {
  switch (t) {
    case ParamType::Int:
      return "int";
    case ParamType::Bool:
      return "0/1";
    case ParamType::Double:
      break;
  }
  return "double";
}

void describe(const StrategySpec& s, std::ostream& out) {
  out << fmt::format("{} (version {}): {}\n  contract: docs/{}\n", s.name, s.version, s.summary,
                     s.doc);
  std::size_t width = 0;
  for (const ParamSpec& p : s.params) width = std::max(width, p.name.size());
  for (std::size_t k = 0; k < s.param_count(); ++k) {
    const ParamSpec& p = s.params[s.id_order[k]];
    const bool key = k < s.key_count;
    out << fmt::format("  {:<{}}  {:<6}  {:<18}  default {:<8}  {}{}\n", p.name, width,
                       type_name(p.type), p.domain, format_double(p.default_value), p.help,
                       key ? " [indicator key]" : "");
  }
  for (const OrderedPair& o : s.ordered)
    out << fmt::format("  rule: {} < {} in every combination\n", s.params[o.lower].name,
                       s.params[o.upper].name);
}

}  // namespace

int run_strategies(const StrategiesOptions& o) {
  if (o.name.empty()) {
    bool first = true;
    for (const StrategySpec* s : strategy_catalog()) {
      if (!first) std::cout << "\n";
      first = false;
      describe(*s, std::cout);
    }
    std::cout << "\n(parameters in combination-id order, most significant first; a grid file "
                 "without strategy = is "
              << default_strategy().name << ")\n";
    return 0;
  }
  const StrategySpec* s = find_strategy(o.name);
  if (s == nullptr)
    throw InputError("unknown strategy '" + o.name + "' (known: " + strategy_names() + ")");
  if (o.example_grid) {
    std::cout << s->example_grid;
    return 0;
  }
  describe(*s, std::cout);
  return 0;
}

}  // namespace threadx
