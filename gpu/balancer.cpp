// The device balancer (see balancer.hpp).
#include "gpu/balancer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace threadx::gpu {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// What one pull hands a device.
struct Batch {
  std::vector<WorkUnit> pieces;
  std::uint64_t combos = 0;
  Clock::time_point start;
};

// The balancer's bookkeeping of one device (what the sizing policy sees is its DevicePace).
struct DeviceState {
  std::map<ComboId, Batch> in_flight;  // keyed by the first piece's begin
  Clock::time_point busy_since;
  DeviceReport report;
  bool cpu_pool = false;  // its workers call on_piece_rows themselves (drive_cpu)
};

class Balancer {
 public:
  Balancer(WorkSource& source, ResultSink& sink, std::size_t devices,
           const BalancerOptions& options)
      : source_(source),
        sink_(sink),
        options_(options),
        devices_(devices),
        pace_(devices),
        start_(Clock::now()) {}

  Clock::time_point start() const { return start_; }
  DeviceState& device(std::size_t d) { return devices_[d]; }
  DevicePace& pace(std::size_t d) { return pace_[d]; }

  bool stop_requested() const { return abort_ || options_.run.stop_requested(); }
  [[nodiscard]] const BalancerOptions& options() const { return options_; }

  // A batch for device d, or nullopt when there is no more work for it. single: one piece
  // (a CPU thread), else a batch of pieces filled up to the device's batch size.
  std::optional<Batch> take(std::size_t d, bool single) {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (!wait_for_work(d, lock)) return std::nullopt;
      std::optional<Batch> c = fill(d, single, lock);
      if (c) return c;
      // Others took what was queued while this thread read ahead: wait for work again.
    }
  }

  // Waits until work is queued for device d; false when there is none left for it.
  bool wait_for_work(std::size_t d, std::unique_lock<std::mutex>& lock) {
    for (;;) {
      if (stop_requested() || !pace_[d].alive) return false;
      if (!pending_.empty()) {
        if (!policy().leaves_tail(d)) break;
        // The other devices finish what is left before one of its waves would: wait until they
        // have (or one fails and gives work back).
        work_.wait_for(lock, std::chrono::milliseconds(100));
        continue;
      }
      if (source_done_) {
        if (!any_in_flight()) return false;
        // A failing device may still give its batches back.
        work_.wait_for(lock, std::chrono::milliseconds(100));
        continue;
      }
      if (fetching_) {
        work_.wait_for(lock, std::chrono::milliseconds(100));
        continue;
      }
      fetch(lock);
    }
    return true;
  }

  // Device d's next batch from what is queued (and what the source has ready), or nullopt when
  // the queue ran dry before anything was taken (or a stop came).
  std::optional<Batch> fill(std::size_t d, bool single, std::unique_lock<std::mutex>& lock) {
    // Read ahead about one round of batches, so that the end of the source is known while work
    // is still queued and the last batches can be cut to size (see batch_size).
    // Only what the source has ready: waiting here could wait for the very work this thread
    // is about to take (rank 0 holds a new rank's next unit until its first one is done). At
    // most one round per call, counted in what this thread fetched: others take from the queue
    // meanwhile, and a thread that refilled it until it stayed full would feed them and never
    // get to its own batch (it did, beside a fast CPU and a slow source).
    const std::uint64_t ahead = policy().round();
    std::uint64_t queued = pending_combos();
    for (int k = 0;
         k < kMaxReadAhead && !source_done_ && !fetching_ && queued < ahead && source_.ready(); ++k)
      queued += fetch(lock);
    const std::uint64_t want = policy().batch_size(d);
    Batch c;
    c.start = Clock::now();
    while (c.combos < want && !stop_requested()) {
      if (pending_.empty()) {
        if (single || source_done_) break;
        if (fetching_) {
          // Another device is pulling a unit. When the source had it ready, it comes at once:
          // wait for it rather than run a part of a wave. Else take what this batch holds.
          if (!fetch_was_ready_) break;
          work_.wait_for(lock, std::chrono::milliseconds(100));
          continue;
        }
        if (!source_.ready()) break;
        fetch(lock);  // a batch device fills its batch from what the source has ready
        continue;
      }
      WorkUnit& front = pending_.front();
      const std::uint64_t need = want - c.combos;
      if (front.size() <= need) {
        c.pieces.push_back(front);
        c.combos += front.size();
        pending_.pop_front();
      } else {
        c.pieces.push_back(WorkUnit{front.begin, front.begin + need, front.group});
        c.combos += need;
        front.begin += need;
      }
      if (single) break;
    }
    if (c.pieces.empty()) return std::nullopt;
    DeviceState& dev = devices_[d];
    if (dev.in_flight.empty()) dev.busy_since = c.start;
    dev.in_flight.emplace(c.pieces.front().begin, c);
    return c;
  }

  // Where the sink lets a device write a piece's rows in place (ResultSink::rows_for).
  std::optional<RowsOut> rows_for(const WorkUnit& piece) { return sink_.rows_for(piece); }

  // Device d finished the batch of `pieces`; rows hold their rows in order. Each piece's rows go
  // into the sink's storage when it has some (copied outside the lock, so devices copy in
  // parallel; nothing to copy when the device wrote there), else into a copy that waits for the
  // sink. The batch is checked to be in flight first: only device d's own thread takes it out of
  // flight (complete, or fail after its loop ended), so no other device can own these pieces
  // while they are copied.
  void complete(std::size_t d, std::span<const WorkUnit> pieces, const RowsView& rows) {
    {
      std::lock_guard lock(mutex_);
      if (!devices_[d].in_flight.contains(pieces.front().begin))
        throw std::logic_error("balancer: completion of an unknown batch");
    }
    std::vector<FinishedRows> finished;
    finished.reserve(pieces.size());
    std::size_t bytes = 0, at = 0;
    for (const WorkUnit& p : pieces) {
      FinishedRows& f = finished.emplace_back(FinishedRows{p, {}, {}});
      f.place(sink_.rows_for(p), rows.block_count).fill_from(rows.sub(at, p.size()));
      // (The CPU pool's workers call it themselves, on their own threads: drive_cpu.)
      if (options_.on_piece_rows && !devices_[d].cpu_pool)
        options_.on_piece_rows(p, rows.sub(at, p.size()).metrics);
      if (!f.in_place)
        bytes += p.size() * (sizeof(Metrics) +
                             sizeof(BlockStats) * static_cast<std::size_t>(rows.block_count));
      at += p.size();
    }
    std::unique_lock lock(mutex_);
    DeviceState& dev = devices_[d];
    const auto it = dev.in_flight.find(pieces.front().begin);  // there: checked above
    Batch c = std::move(it->second);
    dev.in_flight.erase(it);
    const auto now = Clock::now();
    pace_[d].record(c.combos, std::max(seconds_between(c.start, now), 1e-6),
                    options_.average_weight);
    if (dev.report.batches == 0) dev.report.first_batch = c.combos;
    dev.report.smallest_batch =
        dev.report.batches == 0 ? c.combos : std::min(dev.report.smallest_batch, c.combos);
    dev.report.largest_batch = std::max(dev.report.largest_batch, c.combos);
    ++dev.report.batches;
    dev.report.pieces += c.pieces.size();
    dev.report.combos += c.combos;
    dev.report.finish_s = seconds_between(start_, now);
    if (dev.in_flight.empty()) dev.report.busy_s += seconds_between(dev.busy_since, now);
    work_.notify_all();
    if (sink_failed_) return;
    space_.wait(lock, [&] {
      return results_bytes_ < kResultsCapBytes || results_.empty() || sink_failed_;
    });
    if (sink_failed_) return;
    results_bytes_ += bytes;
    for (FinishedRows& f : finished) results_.push_back(std::move(f));
    ready_.notify_one();
  }

  // Device d failed: its batches in flight go back to the front of the queue, it is dropped.
  void fail(std::size_t d, const std::string& what) {
    std::lock_guard lock(mutex_);
    DeviceState& dev = devices_[d];
    if (!pace_[d].alive) return;
    pace_[d].alive = false;
    dev.report.failed = true;
    dev.report.error = what;
    const auto now = Clock::now();
    if (!dev.in_flight.empty()) dev.report.busy_s += seconds_between(dev.busy_since, now);
    std::vector<WorkUnit> back;
    for (auto& [first, c] : dev.in_flight)
      back.insert(back.end(), c.pieces.begin(), c.pieces.end());
    dev.report.batches_returned = dev.in_flight.size();
    dev.in_flight.clear();
    pending_.insert(pending_.begin(), back.begin(), back.end());
    std::uint64_t combos = 0;
    for (const WorkUnit& p : back) combos += p.size();
    spdlog::warn(
        "device {} failed and is dropped ({}); {} combination(s) in flight go back to the queue",
        dev.report.name, what, combos);
    const bool any_alive =
        std::any_of(pace_.begin(), pace_.end(), [](const DevicePace& p) { return p.alive; });
    if (!any_alive && (!pending_.empty() || !source_done_) && !error_) {
      error_ = std::make_exception_ptr(std::runtime_error(
          "every device failed with work left (last: " + dev.report.name + ": " + what + ")"));
      abort_ = true;
    }
    work_.notify_all();
  }

  void device_exited() {
    std::lock_guard lock(mutex_);
    --running_;
    work_.notify_all();
    ready_.notify_one();
  }
  void set_running(std::size_t n) { running_ = n; }

  // Waits for finished pieces; false once every device has exited and everything is drained.
  bool wait_results(std::vector<FinishedRows>& out) {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, std::chrono::milliseconds(200),
                    [&] { return !results_.empty() || running_ == 0; });
    if (results_.empty()) return running_ != 0;
    results_bytes_ = 0;
    while (!results_.empty()) {
      out.push_back(std::move(results_.front()));
      results_.pop_front();
    }
    space_.notify_all();
    return true;
  }

  // The source unit a written piece belongs to, when that piece completes it.
  std::optional<WorkUnit> piece_written(const WorkUnit& piece) {
    std::lock_guard lock(mutex_);
    auto it = origins_.upper_bound(piece.begin);
    if (it == origins_.begin()) throw std::logic_error("balancer: piece of no source unit");
    --it;
    it->second.remaining -= piece.size();
    if (it->second.remaining != 0) return std::nullopt;
    const WorkUnit unit = it->second.unit;
    origins_.erase(it);
    return unit;
  }

  void sink_failed() {
    std::lock_guard lock(mutex_);
    sink_failed_ = true;
    abort_ = true;
    space_.notify_all();
    work_.notify_all();
  }

  // After every device thread has joined.
  void finish(BalancerReport& report) {
    std::lock_guard lock(mutex_);
    report.undone.assign(pending_.begin(), pending_.end());
    report.source_units = source_units_;
    for (std::size_t d = 0; d < devices_.size(); ++d) {
      devices_[d].report.rate = pace_[d].throughput();
      report.devices.push_back(devices_[d].report);
    }
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // Finished rows waiting for the sink, in bytes (a slow sink makes the devices wait).
  static constexpr std::size_t kResultsCapBytes = std::size_t{32} << 20;
  static constexpr int kMaxReadAhead = 64;  // source units fetched per pull at most

  std::uint64_t pending_combos() const {
    std::uint64_t n = 0;
    for (const WorkUnit& p : pending_) n += p.size();
    return n;
  }

  bool any_in_flight() const {
    return std::any_of(devices_.begin(), devices_.end(),
                       [](const DeviceState& s) { return !s.in_flight.empty(); });
  }

  // The sizing policy over the devices' paces and what is queued (under the lock).
  BatchPolicy policy() const {
    return BatchPolicy(options_, pace_, source_done_, pending_combos());
  }

  // Pulls one unit from the source without holding the lock (the source may block); returns its
  // size (0 at the end of the source or on an error).
  std::uint64_t fetch(std::unique_lock<std::mutex>& lock) {
    fetching_ = true;
    fetch_was_ready_ = source_.ready();
    lock.unlock();
    std::optional<WorkUnit> unit;
    std::uint64_t got = 0;
    std::exception_ptr error;
    try {
      unit = source_.next();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    fetching_ = false;
    if (error) {
      if (!error_) error_ = error;
      abort_ = true;
      source_done_ = true;
    } else if (!unit || unit->size() == 0) {
      source_done_ = source_done_ || !unit;
    } else {
      got = unit->size();
      ++source_units_;
      origins_.emplace(unit->begin, Origin{*unit, got});
      pending_.push_back(*unit);
    }
    work_.notify_all();
    return got;
  }

  struct Origin {
    WorkUnit unit;
    std::uint64_t remaining;
  };

  WorkSource& source_;
  ResultSink& sink_;
  const BalancerOptions& options_;
  std::vector<DeviceState> devices_;
  std::vector<DevicePace> pace_;  // the same devices, as the sizing policy sees them
  const Clock::time_point start_;

  std::mutex mutex_;
  std::condition_variable work_, ready_, space_;
  std::deque<WorkUnit> pending_;
  std::map<ComboId, Origin> origins_;
  std::deque<FinishedRows> results_;
  std::size_t results_bytes_ = 0;
  std::size_t running_ = 0;
  std::uint64_t source_units_ = 0;
  bool source_done_ = false, fetching_ = false, abort_ = false, sink_failed_ = false;
  bool fetch_was_ready_ = false;  // the source said ready() when the fetch under way began
  std::exception_ptr error_;
};

// The CPU device: run_cpu_sweep's threads pull one piece each from the balancer.
class DeviceSource final : public WorkSource {
 public:
  DeviceSource(Balancer& b, std::size_t d) : b_(b), d_(d) {}
  std::optional<WorkUnit> next() override {
    std::optional<Batch> c = b_.take(d_, /*single=*/true);
    if (!c) return std::nullopt;
    return c->pieces.front();
  }

 private:
  Balancer& b_;
  std::size_t d_;
};

class DeviceSink final : public ResultSink {
 public:
  DeviceSink(Balancer& b, std::size_t d) : b_(b), d_(d) {}
  void write(const WorkUnit& unit, const RowsView& rows) override {
    b_.complete(d_, std::span(&unit, 1), rows);
  }
  void flush() override {}
  std::optional<RowsOut> rows_for(const WorkUnit& unit) override { return b_.rows_for(unit); }

 private:
  Balancer& b_;
  std::size_t d_;
};

void drive_cpu(Balancer& b, std::size_t d, const BalancedDevice& dev, const SweepContext& ctx,
               const RunControl& run) {
  DeviceSource source(b, d);
  DeviceSink sink(b, d);
  CpuSweepOptions o;
  o.run = run.inner();   // the balancer flushes the real sink and reports progress
  o.run.stop = nullptr;  // the balancer's source ends when the run stops
  o.threads = dev.cpu_threads;
  o.isa = dev.cpu_isa;
  o.on_rows = b.options().on_piece_rows;
  run_cpu_sweep(ctx, source, sink, o);
}

void drive_batch(Balancer& b, std::size_t d, const BalancedDevice& dev, const SweepContext& ctx,
                 const RunControl& run) {
  const int blocks = run.blocks;
  const std::vector<std::int64_t> starts =
      blocks > 0 ? block_start_bars(static_cast<std::int64_t>(ctx.bars().size()), blocks)
                 : std::vector<std::int64_t>{};
  UnitRows rows;
  for (;;) {
    std::optional<Batch> c = b.take(d, /*single=*/false);
    if (!c) return;
    rows.resize(c->combos, blocks);
    dev.runner->run(ctx, c->pieces, rows.metrics.data(), rows.block_output(starts.data()));
    b.complete(d, c->pieces, rows.view());
  }
}

}  // namespace

BalancedDevice BalancedDevice::cpu(unsigned threads, Isa isa) {
  BalancedDevice d;
  d.name = "cpu";
  d.cpu_threads = std::max(1u, threads);
  d.cpu_isa = isa;
  d.width = d.cpu_threads * static_cast<std::uint64_t>(isa_lanes(isa));
  return d;
}

BalancedDevice BalancedDevice::batch(std::string name, std::unique_ptr<UnitRunner> runner) {
  BalancedDevice d;
  d.name = std::move(name);
  d.runner = std::move(runner);
  return d;
}

BalancedDevice BalancedDevice::waves(std::string name, std::unique_ptr<UnitRunner> runner,
                                     std::uint64_t wave) {
  BalancedDevice d = batch(std::move(name), std::move(runner));
  d.wave = wave;
  d.width = std::max<std::uint64_t>(1, wave);
  return d;
}

BalancerReport run_devices(const SweepContext& ctx, WorkSource& source, ResultSink& sink,
                           std::vector<BalancedDevice> devices, const BalancerOptions& options) {
  if (devices.empty()) throw std::invalid_argument("run_devices: no device");
  for (const BalancedDevice& d : devices)
    if (d.cpu_threads == 0 && !d.runner)
      throw std::invalid_argument("run_devices: device " + d.name + " has no runner");
  const RunControl& run = options.run;
  Balancer b(source, sink, devices.size(), options);
  for (std::size_t d = 0; d < devices.size(); ++d) {
    const BalancedDevice& dev = devices[d];
    b.device(d).report.name = dev.name;
    b.device(d).cpu_pool = dev.cpu_threads > 0;
    DevicePace& state = b.pace(d);
    state.streams = dev.cpu_threads > 0 ? dev.cpu_threads : 1;
    state.width = std::max<std::uint64_t>(1, dev.width);
    state.wave = dev.wave;
    const std::uint64_t per_combo =
        dev.bytes_per_combo +
        static_cast<std::uint64_t>(std::max(0, options.run.blocks)) * sizeof(BlockStats);
    if (dev.batch_bytes > 0 && per_combo > 0)
      state.max_combos = std::max<std::uint64_t>(1, dev.batch_bytes / per_combo);
  }
  b.set_running(devices.size());

  std::vector<std::thread> threads;
  threads.reserve(devices.size());
  for (std::size_t d = 0; d < devices.size(); ++d) {
    threads.emplace_back([&, d] {
      try {
        if (devices[d].cpu_threads > 0) {
          drive_cpu(b, d, devices[d], ctx, options.run);
        } else {
          drive_batch(b, d, devices[d], ctx, options.run);
        }
      } catch (const std::exception& e) {
        b.fail(d, e.what());
      } catch (...) {
        b.fail(d, "unknown error");
      }
      b.device_exited();
    });
  }

  BalancerReport report;
  auto last_flush = Clock::now(), last_progress = Clock::now();
  std::exception_ptr sink_error;
  std::vector<FinishedRows> finished;
  try {
    while (b.wait_results(finished)) {
      for (const FinishedRows& f : finished) {
        sink.write(f.unit, f.view());
        ++report.pieces_done;
        report.combos_done += f.unit.size();
        const std::optional<WorkUnit> whole = b.piece_written(f.unit);
        if (whole && options.on_source_unit_done) options.on_source_unit_done(*whole);
      }
      finished.clear();
      if (run.flush_interval_s &&
          seconds_between(last_flush, Clock::now()) >= *run.flush_interval_s) {
        sink.flush();
        last_flush = Clock::now();
      }
      if (run.on_progress && run.progress_interval_s &&
          seconds_between(last_progress, Clock::now()) >= *run.progress_interval_s) {
        run.on_progress({report.combos_done, run.combos_total, report.pieces_done,
                         seconds_between(b.start(), Clock::now())});
        last_progress = Clock::now();
      }
    }
  } catch (...) {
    sink_error = std::current_exception();
    b.sink_failed();
  }
  for (std::thread& t : threads) t.join();
  if (sink_error) std::rethrow_exception(sink_error);
  sink.flush();
  report.wall_s = seconds_between(b.start(), Clock::now());
  report.stopped = run.stop_requested();
  b.finish(report);  // rethrows a source error or "every device failed"
  return report;
}

}  // namespace threadx::gpu
