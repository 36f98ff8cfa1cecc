// CPU execution of a work unit (see cpu_backtest.hpp): the grid's strategy's CpuDriver.
#include "engine/cpu_backtest.hpp"

#include "engine/strategy_driver.hpp"

namespace threadx {

void run_unit_cpu(const SweepContext& ctx, const WorkUnit& unit, Metrics* out, Isa isa,
                  const BlockOutput& blocks) {
  cpu_driver(*ctx.grid().strategy).run_unit(ctx, unit, out, isa, blocks);
}

}  // namespace threadx
