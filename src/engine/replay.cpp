#include "engine/replay.hpp"

#include <string>

#include "common/error.hpp"
#include "engine/strategy_driver.hpp"

namespace threadx {

std::vector<double> replay_returns(const Grid& grid, IndicatorBank& bank, ComboId id) {
  if (id >= grid.size())
    throw InputError("combination id " + std::to_string(id) + " is outside the grid (" +
                     std::to_string(grid.size()) + " combinations)");
  return cpu_driver(*grid.strategy).replay_returns(grid, bank, id);
}

}  // namespace threadx
