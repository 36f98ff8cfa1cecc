// CPU sweep driver (see cpu_sweep.hpp).
#include "engine/cpu_sweep.hpp"

#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

#include "common/bounded_queue.hpp"

namespace threadx {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

CpuSweepReport run_cpu_sweep(const SweepContext& ctx, std::span<const WorkUnit> units,
                             ResultSink& sink, CpuSweepOptions options) {
  options.run.combos_total = 0;
  for (const WorkUnit& u : units) options.run.combos_total += u.size();
  UnitListSource source(units);
  CpuSweepReport report = run_cpu_sweep(ctx, source, sink, options);
  report.stopped = report.combos_done < options.run.combos_total;
  return report;
}

CpuSweepReport run_cpu_sweep(const SweepContext& ctx, WorkSource& source, ResultSink& sink,
                             const CpuSweepOptions& options) {
  const auto start = Clock::now();
  const RunControl& run = options.run;
  unsigned threads = options.threads != 0 ? options.threads : std::thread::hardware_concurrency();
  if (threads == 0) threads = 1;
  // Finished units wait here for the consumer; the cap bounds memory when writing is slow. The
  // consumer takes them all at once, so up to twice the cap is held: the queue, and the units
  // being written.
  BoundedQueue<FinishedRows> queue(2 * static_cast<std::size_t>(threads) + 2);
  std::mutex mutex;  // guards worker_error and running
  std::atomic<bool> abort{false};
  std::exception_ptr worker_error;
  unsigned running = threads;
  CpuSweepReport report;
  const std::vector<std::int64_t> block_starts =
      run.blocks > 0 ? block_start_bars(static_cast<std::int64_t>(ctx.bars().size()), run.blocks)
                     : std::vector<std::int64_t>{};
  report.thread_busy_s.assign(threads, 0.0);
  report.thread_wait_s.assign(threads, 0.0);

  auto stop_requested = [&] { return abort.load() || run.stop_requested(); };

  auto worker = [&](unsigned t) {
    try {
      for (;;) {
        if (stop_requested()) break;
        const auto w0 = Clock::now();
        const std::optional<WorkUnit> unit = source.next();
        report.thread_wait_s[t] += seconds_since(w0);
        if (!unit) break;
        const auto t0 = Clock::now();
        FinishedRows f{*unit, {}, {}};
        const RowsOut out = f.place(sink.rows_for(*unit), run.blocks);
        run_unit_cpu(ctx, f.unit, out.metrics, options.isa, out.block_output(block_starts.data()));
        if (options.on_rows) options.on_rows(f.unit, {out.metrics, f.unit.size()});
        report.thread_busy_s[t] += seconds_since(t0);
        queue.push(std::move(f));
      }
    } catch (...) {
      {
        std::lock_guard lock(mutex);
        if (!worker_error) worker_error = std::current_exception();
      }
      abort = true;
    }
    std::lock_guard lock(mutex);
    if (--running == 0) queue.close();
  };

  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker, t);

  const std::uint64_t total = run.combos_total;
  auto last_flush = Clock::now(), last_progress = Clock::now();
  std::exception_ptr sink_error;
  // Units finished before a worker failed are still written, so a resume does not redo them: the
  // loop ends once every worker is out and the queue is drained.
  for (;;) {
    auto [finished, closed] = queue.take_all(std::chrono::milliseconds(200));
    try {
      for (const FinishedRows& f : finished) {
        sink.write(f.unit, f.view());
        ++report.units_done;
        report.combos_done += f.unit.size();
      }
      if (run.flush_interval_s && seconds_since(last_flush) >= *run.flush_interval_s) {
        sink.flush();
        last_flush = Clock::now();
      }
      // The caller's callback may throw too: the workers must still be stopped and joined.
      if (run.on_progress && run.progress_interval_s &&
          seconds_since(last_progress) >= *run.progress_interval_s) {
        run.on_progress({report.combos_done, total, report.units_done, seconds_since(start)});
        last_progress = Clock::now();
      }
    } catch (...) {
      sink_error = std::current_exception();
      abort = true;
      queue.uncap();  // nothing more is taken: no worker may wait for space
      break;
    }
    if (closed && finished.empty()) break;
  }
  for (std::thread& t : pool) t.join();
  if (sink_error) std::rethrow_exception(sink_error);
  sink.flush();
  if (worker_error) std::rethrow_exception(worker_error);
  report.wall_s = seconds_since(start);
  report.stopped = run.stop_requested();
  return report;
}

}  // namespace threadx
