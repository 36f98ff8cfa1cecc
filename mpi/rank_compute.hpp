// One rank's compute side of a distributed sweep (see cluster_sweep.hpp): its devices run on one
// thread (ComputeThread) through the device balancer; the balancer's pieces are put back
// together per granted unit (UnitAssembler) and packed into the outbox (Outbox), which the thread
// owning the transport empties (rank 0: into the file writer; other ranks: to rank 0).
#pragma once

#include <chrono>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/bounded_queue.hpp"
#include "gpu/balancer.hpp"
#include "mpi/cluster_sweep.hpp"
#include "results/row_layout.hpp"

namespace threadx::dist::detail {

using Clock = std::chrono::steady_clock;
using std::chrono::microseconds;

inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A finished unit's rows, packed as the results file stores them (RowLayout::pack_run): the rank
// that computed them packs them, so rank 0's writer only copies bytes into the file.
struct Finished {
  WorkUnit unit;
  std::vector<unsigned char> rows;
  int part = -1;  // rank 0's writer: the rows are stored in this part file (--write-path ranks)
};

// Finished units on their way from the compute threads to the thread that owns the transport.
// Their rows are packed only when the run keeps them (else a unit travels without rows, so that
// rank 0 knows it is finished); the devices have added them to the rank's summary already. Holds at
// most kMaxQueuedBytes: past that, write() waits for take(), so a compute faster than the writer or
// the network (960 bars with --blocks: 1.3 GB of cells) cannot fill the memory. Whoever joins the
// compute thread calls uncap() first, so that it can never wait for a take() that will not come.
class Outbox final : public ResultSink {
 public:
  Outbox(const Grid& grid, int blocks, SweepSummary& summary, bool keep_rows)
      : grid_(grid), layout_(grid, blocks), summary_(summary), keep_rows_(keep_rows) {}
  // The rank's summary, which the devices feed (BalancerOptions::on_piece_rows).
  SweepSummary& summary() { return summary_; }
  void write(const WorkUnit& unit, const RowsView& rows) override {
    Finished f{unit, {}};
    if (keep_rows_) {
      f.rows.resize(layout_.run_size(rows.size()));
      layout_.pack_run(grid_, unit.begin, rows, f.rows.data());
    }
    const std::size_t bytes = f.rows.size() + sizeof f;
    queue_.push(std::move(f), bytes);
  }
  void uncap() { queue_.uncap(); }
  void flush() override {}
  void close() { queue_.close(); }
  // Everything waiting (after up to `wait` for something), and whether the compute is over.
  std::pair<std::deque<Finished>, bool> take(microseconds wait) { return queue_.take_all(wait); }

 private:
  static constexpr std::size_t kMaxQueuedBytes = std::size_t{32} << 20;
  const Grid& grid_;
  const RowLayout layout_;
  SweepSummary& summary_;
  bool keep_rows_;
  BoundedQueue<Finished> queue_{kMaxQueuedBytes};
};

// What a rank's compute did.
struct ComputeReport {
  std::uint64_t units = 0, combos = 0;  // granted units finished
  double busy_s = 0, idle_s = 0;
  std::vector<std::string> device_lines;
  std::vector<std::pair<std::string, std::string>> device_attributes;
};

// Between the rank's granted units and the device balancer (gpu/balancer.hpp): the balancer cuts
// units into pieces sized for each device; this puts the rows of each granted unit back
// together and hands the whole unit to the outbox once the balancer says it is done, so rank 0
// only ever sees the units it granted. Also measures the time spent waiting for a unit. The
// devices write straight into a granted unit's buffer (rows_for): the CPU's threads compute there,
// a batch device's batch is copied there once.
class UnitAssembler final : public WorkSource, public ResultSink {
 public:
  UnitAssembler(WorkSource& units, Outbox& outbox, int blocks)
      : units_(units), outbox_(outbox), blocks_(blocks) {}
  std::optional<WorkUnit> next() override {  // any device thread
    const auto t0 = Clock::now();
    std::optional<WorkUnit> u = units_.next();
    std::lock_guard lock(mutex_);
    idle_s_ += seconds_since(t0);
    if (u) open_.emplace(u->begin, Open{*u, UnitRows(u->size(), blocks_)});
    return u;
  }
  bool ready() override { return units_.ready(); }
  std::optional<RowsOut> rows_for(const WorkUnit& part) override {  // any device thread
    std::lock_guard lock(mutex_);
    return rows_of(part);
  }
  void write(const WorkUnit& part, const RowsView& rows) override {  // balancer thread
    std::lock_guard lock(mutex_);
    rows_of(part).fill_from(rows);
  }
  void flush() override {}
  void done(const WorkUnit& unit) {  // balancer thread
    Open o;
    {
      std::lock_guard lock(mutex_);
      auto it = open_.find(unit.begin);
      if (it == open_.end()) throw std::logic_error("done: unit was not granted");
      o = std::move(it->second);
      open_.erase(it);
    }
    outbox_.write(o.unit, o.rows.view());
    ++units_done_;
    combos_done_ += o.unit.size();
  }
  double idle_s() {
    std::lock_guard lock(mutex_);
    return idle_s_;
  }
  std::uint64_t units_done() const { return units_done_; }
  std::uint64_t combos_done() const { return combos_done_; }

 private:
  // Under the lock: the rows of `part` in its granted unit's buffer (stable while it is open).
  RowsOut rows_of(const WorkUnit& part) {
    auto it = open_.upper_bound(part.begin);
    if (it == open_.begin()) throw std::logic_error("rows for a unit that was not granted");
    --it;
    const WorkUnit& u = it->second.unit;
    if (part.end > u.end) throw std::logic_error("a piece crosses its unit");
    return it->second.rows.out(part.begin - u.begin, part.size());
  }

  struct Open {
    WorkUnit unit;
    UnitRows rows;
  };
  WorkSource& units_;
  Outbox& outbox_;
  int blocks_;
  std::mutex mutex_;
  std::map<ComboId, Open> open_;
  double idle_s_ = 0;
  std::uint64_t units_done_ = 0, combos_done_ = 0;
};

// Runs the rank's devices (the CPU, and any GPU) on their own thread, feeding `outbox`; closes
// it when done.
class ComputeThread {
 public:
  // ctx is copied; the grid and bank behind it, source and o outlive the thread.
  ComputeThread(const SweepContext& ctx, WorkSource& source, Outbox& outbox,
                const ClusterSweepOptions& o, std::atomic<bool>* stop)
      : outbox_(outbox), thread_([ctx, &source, &o, stop, this] {
          try {
            UnitAssembler assembler(source, outbox_, o.run.blocks);
            gpu::BalancerOptions b;
            b.run = o.run.inner();  // rank 0's writer flushes and reports, not the devices
            b.run.stop = stop;
            b.on_source_unit_done = [&](const WorkUnit& u) { assembler.done(u); };
            // Each device summarises the rows it computed, on its own thread.
            b.on_piece_rows = [this](const WorkUnit& piece, std::span<const Metrics> rows) {
              outbox_.summary().add(piece, rows);
            };
            const gpu::BalancerReport r = gpu::run_devices(
                ctx, assembler, assembler,
                gpu::make_balanced_devices(o.devices, o.threads, o.isa, *ctx.grid().strategy), b);
            report_.units = assembler.units_done();
            report_.combos = assembler.combos_done();
            report_.idle_s = assembler.idle_s();
            for (const gpu::DeviceReport& d : r.devices) report_.busy_s += d.busy_s;
            report_.device_lines = gpu::device_summary_lines(r);
            report_.device_attributes = gpu::device_attributes(r);
          } catch (...) {
            error_ = std::current_exception();
          }
          outbox_.close();
        }) {}
  ~ComputeThread() {
    outbox_.uncap();
    if (thread_.joinable()) thread_.join();
  }
  ComputeThread(const ComputeThread&) = delete;
  ComputeThread& operator=(const ComputeThread&) = delete;
  // Joins; rethrows a compute error.
  ComputeReport join() {
    outbox_.uncap();
    if (thread_.joinable()) thread_.join();
    if (error_) std::rethrow_exception(error_);
    return report_;
  }

 private:
  Outbox& outbox_;
  ComputeReport report_;
  std::exception_ptr error_;
  std::thread thread_;  // last: starts once the members above exist
};

// What this rank did, for its line of the accounting (rank 0 adds the dispatcher's figures).
RankReport this_rank_report(int rank, unsigned threads, Isa isa, const ComputeReport& cr,
                            IndicatorBank& bank);

}  // namespace threadx::dist::detail
