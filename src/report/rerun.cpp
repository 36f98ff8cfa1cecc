#include "report/rerun.hpp"

#include <string>

#include "common/error.hpp"
#include "engine/strategy_driver.hpp"

namespace threadx::report {

Rerun rerun_combination(const SweepContext& ctx, ComboId id) {
  if (id >= ctx.size())
    throw InputError("combination id " + std::to_string(id) + " is outside the grid (" +
                     std::to_string(ctx.size()) + " combinations)");
  return cpu_driver(*ctx.grid().strategy).trace(ctx, id);
}

}  // namespace threadx::report
