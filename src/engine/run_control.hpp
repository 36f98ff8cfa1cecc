// How a sweep is steered and observed, told the same way to each layer that runs one: the
// cluster (mpi/cluster_sweep.hpp), a rank's device balancer (gpu/balancer.hpp) and the CPU pool
// (engine/cpu_sweep.hpp). The layer that owns the results sink flushes it and reports progress;
// a layer it drives gets inner(), which does neither.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>

namespace threadx {

struct SweepProgress {
  std::uint64_t combos_done = 0;
  std::uint64_t combos_total = 0;
  std::uint64_t units_done = 0;
  double elapsed_s = 0;
};

struct RunControl {
  // Set (e.g. by a signal): stop after the work in flight; what is finished is still written.
  std::atomic<bool>* stop = nullptr;
  int blocks = 0;                  // per-block statistics per row (--blocks S); 0: none
  std::uint64_t combos_total = 0;  // for progress (0: unknown)
  // Flush the sink at least this often (a bound on what a killed run loses); none: this layer
  // does not flush periodically (its caller flushes, or the sink is flushed when the run ends).
  std::optional<double> flush_interval_s = 2.0;
  // Call on_progress at most this often; none: this layer reports no progress.
  std::optional<double> progress_interval_s = 2.0;
  std::function<void(const SweepProgress&)> on_progress;

  // For a layer this one drives: the same stop flag and rows, no flushing, no progress.
  [[nodiscard]] RunControl inner() const {
    RunControl r;
    r.stop = stop;
    r.blocks = blocks;
    r.combos_total = combos_total;
    r.flush_interval_s.reset();
    r.progress_interval_s.reset();
    return r;
  }
  [[nodiscard]] bool stop_requested() const { return stop != nullptr && stop->load(); }
};

}  // namespace threadx
