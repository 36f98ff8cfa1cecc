#include "engine/replay.hpp"

#include <string>

#include "common/error.hpp"
#include "strategies/bb_atr/spec.hpp"
#include "strategy/returns_recorder.hpp"

namespace threadx {

std::vector<double> replay_returns(const Grid& grid, IndicatorBank& bank, ComboId id) {
  if (id >= grid.size())
    throw InputError("combination id " + std::to_string(id) + " is outside the grid (" +
                     std::to_string(grid.size()) + " combinations)");
  const bb_atr::Params key = bb_atr::decode(grid.key_of_group(id / grid.group_size()));
  const bb_atr::SeriesView s = bank.group_view(key.bb_period, key.atr_period, key.trend_period);
  ReturnsRecorder recorder(s.n_bars);
  bb_atr::run_one(s, bb_atr::decode(grid.values_of(id)), bank.bars().bars_per_year(), recorder);
  return std::move(recorder).take();
}

}  // namespace threadx
