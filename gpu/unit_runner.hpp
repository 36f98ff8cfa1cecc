// A device that runs batches of work units from one driver thread (a CUDA device, or a
// simulated device in tests), and the host batch runner.
#pragma once

#include <span>

#include "engine/plan.hpp"
#include "engine/sweep_context.hpp"
#include "strategy/block_stats.hpp"
#include "strategy/metrics.hpp"

namespace threadx::gpu {

class UnitRunner {
 public:
  virtual ~UnitRunner() = default;
  // Backtests every combination of `pieces`; out receives their rows in order (it holds the sum
  // of their sizes), blocks their per-block statistics when enabled (rows in the same order).
  // Called by one thread at a time. Throws on failure: the balancer then hands the pieces to
  // another device.
  virtual void run(const SweepContext& ctx, std::span<const WorkUnit> pieces, Metrics* out,
                   const BlockOutput& blocks) = 0;
};

// Runs a batch on the calling thread, one combination after the other through
// run_batch_thread<P> for the grid's strategy P: the CUDA kernel's code path with the host as
// the device.
class HostBatchRunner : public UnitRunner {
 public:
  void run(const SweepContext& ctx, std::span<const WorkUnit> pieces, Metrics* out,
           const BlockOutput& blocks) override;
};

}  // namespace threadx::gpu
