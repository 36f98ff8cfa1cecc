// The CPU sweep driver: worker threads pull work units, backtest them (run_unit_cpu) and hand
// finished units to one consumer thread, which writes them to a ResultSink in completion order
// and reports progress. Results do not depend on the thread count or the completion order: each
// row is a pure function of its combination id and the data.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "engine/cpu_backtest.hpp"
#include "engine/plan.hpp"

namespace threadx {

// Receives finished units (on the thread that called run_cpu_sweep).
class ResultSink {
 public:
  virtual ~ResultSink() = default;
  virtual void write(const WorkUnit& unit, std::span<const Metrics> rows) = 0;
  virtual void flush() = 0;
};

struct SweepProgress {
  std::uint64_t combos_done = 0;
  std::uint64_t combos_total = 0;
  std::uint64_t units_done = 0;
  double elapsed_s = 0;
};

struct CpuSweepOptions {
  unsigned threads = 0;           // 0: every hardware thread
  double flush_interval_s = 2.0;  // bound on the work a killed run can lose
  double progress_interval_s = 2.0;
  std::function<void(const SweepProgress&)> on_progress;  // called on the consumer thread
  const std::atomic<bool>* stop = nullptr;  // set (e.g. by a signal) to stop after units in flight
  LaneMode mode = LaneMode::Simd;
};

struct CpuSweepReport {
  std::uint64_t units_done = 0;
  std::uint64_t combos_done = 0;
  double wall_s = 0;
  bool stopped = false;               // the stop flag ended the run before all units were done
  std::vector<double> thread_busy_s;  // time each worker spent backtesting
};

// Runs `units` on `options.threads` threads. Exceptions from a worker or from the sink stop every
// thread and are rethrown here after the units already finished have been written.
CpuSweepReport run_cpu_sweep(const Grid& grid, IndicatorBank& bank, std::span<const WorkUnit> units,
                             ResultSink& sink, const CpuSweepOptions& options);

}  // namespace threadx
