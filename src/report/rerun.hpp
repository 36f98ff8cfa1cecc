// The best combination re-run bar by bar for the report's price chart: its equity at every bar,
// the price overlays its strategy draws and its trades (strategy/trace.hpp). The strategy's own
// CPU driver does it with the kernel's steps (engine/cpu_driver.hpp, trace), so the trades are
// the ones behind the row and its metrics equal the row's bit for bit.
#pragma once

#include "engine/sweep_context.hpp"
#include "strategy/trace.hpp"

namespace threadx::report {

using Rerun = Trace;

// InputError when id is outside the grid.
Rerun rerun_combination(const SweepContext& ctx, ComboId id);

}  // namespace threadx::report
