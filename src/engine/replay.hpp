// One combination re-run over the whole bar series for its return series (docs/ROBUST.md,
// "Deflated Sharpe Ratio": the selected combinations' moments need every return, which the
// results file does not keep). The sweep's own reference path (the strategy's run_one) with a
// ReturnsRecorder, so the returns are those the sweep summed into /blocks, bit for bit.
#pragma once

#include <vector>

#include "engine/sweep_context.hpp"

namespace threadx {

// r[1..T] (T = bars - 1) at indices 0..T-1; r[i] = E[i] / E[i-1] - 1 (0 after E[i-1] <= 0).
// InputError when id is outside the grid.
std::vector<double> replay_returns(const SweepContext& ctx, ComboId id);

}  // namespace threadx
