// What the engine does with a strategy on the CPU, behind one interface: a CpuDriver<Policy>
// (engine/cpu_driver.hpp) per registered strategy, looked up by the grid's strategy. The callers
// (cpu_backtest.hpp, replay.hpp, report/rerun.hpp) know no strategy.
#pragma once

#include <vector>

#include "engine/isa.hpp"
#include "engine/plan.hpp"
#include "engine/sweep_context.hpp"
#include "strategy/block_stats.hpp"
#include "strategy/metrics.hpp"
#include "strategy/spec.hpp"
#include "strategy/trace.hpp"

namespace threadx {

class StrategyDriver {
 public:
  virtual ~StrategyDriver() = default;
  // See run_unit_cpu (engine/cpu_backtest.hpp).
  virtual void run_unit(const SweepContext& ctx, const WorkUnit& unit, Metrics* out, Isa isa,
                        const BlockOutput& blocks) const = 0;
  // See replay_returns (engine/replay.hpp); id < ctx.size().
  virtual std::vector<double> replay_returns(const SweepContext& ctx, ComboId id) const = 0;
  // Combination id re-run bar by bar with its trades (strategy/trace.hpp); id < ctx.size().
  virtual Trace trace(const SweepContext& ctx, ComboId id) const = 0;
};

// The CPU driver of a registered strategy (defined with the catalog, src/strategies/registry.cpp).
const StrategyDriver& cpu_driver(const StrategySpec& strategy);

}  // namespace threadx
