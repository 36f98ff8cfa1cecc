// Runs one work unit on the calling CPU thread: every combination of the unit backtested over
// the whole bar series, metrics written in id order.
#pragma once

#include "engine/isa.hpp"
#include "engine/plan.hpp"
#include "engine/sweep_context.hpp"
#include "strategy/block_stats.hpp"
#include "strategy/metrics.hpp"

namespace threadx {

// out must hold unit.size() rows. isa: the lane path (a supported one: see isa.hpp); every path
// gives the same bits. Isa::Scalar runs one combination at a time through the strategy's run_one
// (the reference path, as on the GPU); the others run isa_lanes(isa) combinations per vector, bars
// in the outer loop (engine/cpu_driver.hpp). blocks: where to record the per-block statistics of
// the unit's rows, if at all (the same single pass; the metrics do not change).
void run_unit_cpu(const SweepContext& ctx, const WorkUnit& unit, Metrics* out, Isa isa = best_isa(),
                  const BlockOutput& blocks = {});

}  // namespace threadx
