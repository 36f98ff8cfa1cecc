// A device that runs batches of work units from one driver thread (a CUDA device, or a
// simulated device in tests), and the host-side layout of a batch.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/plan.hpp"
#include "gpu/batch_kernel.hpp"
#include "grid/grid.hpp"
#include "indicators/indicator_bank.hpp"
#include "strategy/block_stats.hpp"
#include "strategy/metrics.hpp"

namespace threadx::gpu {

// A batch as built on the host: views hold the bank's host pointers.
struct HostBatch {
  std::vector<bb_atr::SeriesView> views;  // one per piece
  std::vector<std::uint64_t> piece_end;   // exclusive end offset of each piece
  std::vector<bb_atr::Params> params;     // one per combination, in batch order
  double bars_per_year = 0;

  [[nodiscard]] BatchView view() const;
};

// True when the strategy has a kernel for one-combination-per-thread devices (CUDA and the host
// batch runner): bb_atr only for now; the others run on the CPU devices.
bool has_device_kernel(const StrategySpec& strategy);

// Lays out `pieces` (non-empty, each inside one key group) end to end.
HostBatch make_batch(const Grid& grid, IndicatorBank& bank, std::span<const WorkUnit> pieces);

class UnitRunner {
 public:
  virtual ~UnitRunner() = default;
  // Backtests every combination of `pieces`; out receives their rows in order (it holds the sum
  // of their sizes), blocks their per-block statistics when enabled (rows in the same order).
  // Called by one thread at a time. Throws on failure: the balancer then hands the pieces to
  // another device.
  virtual void run(const Grid& grid, IndicatorBank& bank, std::span<const WorkUnit> pieces,
                   Metrics* out, const BlockOutput& blocks) = 0;
};

// Runs a batch on the calling thread, one combination after the other through
// run_batch_thread: the CUDA kernel's code path with the host as the device.
class HostBatchRunner : public UnitRunner {
 public:
  void run(const Grid& grid, IndicatorBank& bank, std::span<const WorkUnit> pieces, Metrics* out,
           const BlockOutput& blocks) override;
};

}  // namespace threadx::gpu
