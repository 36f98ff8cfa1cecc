// The CPU sweep driver: worker threads pull work units, backtest them (run_unit_cpu) and hand
// finished units to one consumer thread, which writes them to a ResultSink in completion order
// and reports progress. Results do not depend on the thread count or the completion order: each
// row is a pure function of its combination id and the data.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "engine/cpu_backtest.hpp"
#include "engine/plan.hpp"
#include "engine/run_control.hpp"
#include "engine/unit_rows.hpp"

namespace threadx {

// Receives finished units (on the thread that called run_cpu_sweep).
class ResultSink {
 public:
  virtual ~ResultSink() = default;
  // rows: the unit's rows in id order (with their blocks when the sweep records them).
  virtual void write(const WorkUnit& unit, const RowsView& rows) = 0;
  virtual void flush() = 0;
  // Where the rows of `unit` (handed out by the source that feeds this sink, or a part of such a
  // unit) may be written in place: the sink's own storage for them, or nullopt (the default)
  // when the sink copies what write() is given. A producer that wrote there still calls write()
  // with that storage's view, and the sink copies nothing. Called from any producer thread. The
  // storage stays where it is until write() has been called for every part of its unit; it may
  // hold partial rows of a producer that failed and never called write() (whoever redoes that
  // part overwrites them all).
  virtual std::optional<RowsOut> rows_for(const WorkUnit& unit) {
    (void)unit;
    return std::nullopt;
  }
};

// Hands out work units to the driver's threads (thread-safe). A plain list for one process; the
// MPI worker's source waits for units granted by rank 0; the device balancer splits units of a
// rank's queue between its devices.
class WorkSource {
 public:
  virtual ~WorkSource() = default;
  // The next unit, or nullopt once there is no more work for this source (may block until then).
  virtual std::optional<WorkUnit> next() = 0;
  // Whether next() would return now, without blocking. Readers that only want to look ahead
  // (the device balancer) call next() only when this is true: a source fed by rank 0 may hold a
  // unit back until the results of the units already handed out come in.
  virtual bool ready() { return true; }
};

// A fixed list of units, taken in order.
class UnitListSource final : public WorkSource {
 public:
  explicit UnitListSource(std::span<const WorkUnit> units) : units_(units) {}
  std::optional<WorkUnit> next() override {
    const std::size_t k = next_.fetch_add(1);
    if (k >= units_.size()) return std::nullopt;
    return units_[k];
  }

 private:
  std::span<const WorkUnit> units_;
  std::atomic<std::size_t> next_{0};
};

struct CpuSweepOptions {
  RunControl run;        // stop, blocks, flushing and progress (engine/run_control.hpp)
  unsigned threads = 0;  // 0: every hardware thread
  Isa isa = best_isa();
  // Called by each worker with the rows it just computed, on its own thread (before they go to
  // the sink): per-row work the threads should share. Must be thread-safe.
  std::function<void(const WorkUnit& unit, std::span<const Metrics> rows)> on_rows;
};

struct CpuSweepReport {
  std::uint64_t units_done = 0;
  std::uint64_t combos_done = 0;
  double wall_s = 0;
  bool stopped = false;  // the stop flag was set (list overload: units were left undone)
  std::vector<double> thread_busy_s;  // time each worker spent backtesting
  std::vector<double> thread_wait_s;  // time each worker spent waiting for a unit
};

// Runs the units of `source` on `options.threads` threads until it is empty or the stop flag is
// set. Exceptions from a worker or from the sink stop every thread and are rethrown here after the
// units already finished have been written.
CpuSweepReport run_cpu_sweep(const SweepContext& ctx, WorkSource& source, ResultSink& sink,
                             const CpuSweepOptions& options);

// The same over a fixed list of units (progress total = their size).
CpuSweepReport run_cpu_sweep(const SweepContext& ctx, std::span<const WorkUnit> units,
                             ResultSink& sink, CpuSweepOptions options);

}  // namespace threadx
