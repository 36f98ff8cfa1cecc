// Coordinator and worker of a distributed sweep (see cluster_sweep.hpp).
#include "mpi/cluster_sweep.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "common/error.hpp"
#include "gpu/balancer.hpp"
#include "mpi/dispatcher.hpp"

namespace threadx::dist {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::microseconds;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A finished unit's rows, packed as the results file stores them (RowLayout::pack_run): the rank
// that computed them packs them, so rank 0's writer only copies bytes into the file.
struct Finished {
  WorkUnit unit;
  std::vector<unsigned char> rows;
};

// Finished units on their way from the compute threads to the thread that owns the transport.
// Holds at most kMaxQueuedBytes: past that, write() waits for take(), so a compute faster than the
// writer or the network (960 bars with --blocks: 1.3 GB of cells) cannot fill the memory. Whoever
// joins the compute thread calls uncap() first, so that it can never wait for a take() that will
// not come.
class Outbox final : public ResultSink {
 public:
  Outbox(const Grid& grid, int blocks) : grid_(grid), layout_(grid, blocks) {}
  void write(const WorkUnit& unit, const RowsView& rows) override {
    Finished f{unit, std::vector<unsigned char>(layout_.run_size(rows.size()))};
    layout_.pack_run(grid_, unit.begin, rows, f.rows.data());
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return bytes_ < kMaxQueuedBytes || uncapped_; });
    bytes_ += f.rows.size();
    items_.push_back(std::move(f));
    ready_.notify_one();
  }
  void uncap() {
    std::lock_guard lock(mutex_);
    uncapped_ = true;
    space_.notify_all();
  }
  void flush() override {}
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    ready_.notify_one();
  }
  // Everything waiting (after up to `wait` for something), and whether the compute is over.
  std::pair<std::deque<Finished>, bool> take(microseconds wait) {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, wait, [&] { return !items_.empty() || closed_; });
    std::deque<Finished> out;
    out.swap(items_);
    bytes_ = 0;
    space_.notify_all();
    return {std::move(out), closed_};
  }

 private:
  static constexpr std::size_t kMaxQueuedBytes = std::size_t{32} << 20;
  const Grid& grid_;
  const RowLayout layout_;
  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<Finished> items_;
  std::size_t bytes_ = 0;
  bool closed_ = false, uncapped_ = false;
};

// What a rank's compute did.
struct ComputeReport {
  std::uint64_t units = 0, combos = 0;  // granted units finished
  double busy_s = 0, idle_s = 0;
  std::vector<std::string> device_lines;
  std::vector<std::pair<std::string, std::string>> device_attributes;
};

// Between the rank's granted units and the device balancer (gpu/balancer.hpp): the balancer cuts
// units into sub-units sized for each device; this puts the rows of each granted unit back
// together and hands the whole unit to the outbox once the balancer says it is done, so rank 0
// only ever sees the units it granted. Also measures the time spent waiting for a unit.
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
  void write(const WorkUnit& part, const RowsView& rows) override {  // balancer thread
    std::lock_guard lock(mutex_);
    auto it = open_.upper_bound(part.begin);
    if (it == open_.begin()) throw std::logic_error("rows for a unit that was not granted");
    --it;
    const WorkUnit& u = it->second.unit;
    if (part.end > u.end) throw std::logic_error("a sub-unit crosses its unit");
    it->second.rows.put(part.begin - u.begin, rows);
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
  ComputeThread(const Grid& grid, IndicatorBank& bank, WorkSource& source, Outbox& outbox,
                const ClusterSweepOptions& o, const std::atomic<bool>* stop)
      : outbox_(outbox), thread_([&grid, &bank, &source, &o, stop, this] {
          try {
            UnitAssembler assembler(source, outbox_, o.blocks);
            gpu::BalancerOptions b;
            b.flush_interval_s = 1e300;  // rank 0's writer flushes, not the devices
            b.progress_interval_s = 1e300;
            b.stop = stop;
            b.blocks = o.blocks;
            b.on_source_unit_done = [&](const WorkUnit& u) { assembler.done(u); };
            const gpu::BalancerReport r =
                gpu::run_devices(grid, bank, assembler, assembler,
                                 gpu::make_balanced_devices(o.devices, o.threads, o.isa), b);
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

// Rank 0's writer thread: stores finished units in the results file (rows, then /done flags) and
// flushes at the interval, so that the thread answering the workers never waits for the disk.
// Holds at most kMaxQueuedBytes of rows; past that, push() waits (the disk sets the pace).
class FileWriter {
 public:
  FileWriter(ResultsFile& file, double flush_interval_s)
      : file_(file), flush_interval_s_(flush_interval_s), thread_([this] { loop(); }) {}
  ~FileWriter() { close(); }
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  void push(Finished f) {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return bytes_ < kMaxQueuedBytes || error_ || closed_; });
    bytes_ += f.rows.size();
    items_.push_back(std::move(f));
    ready_.notify_one();
  }
  // The first write error, if any (the run must stop: nothing more can be saved).
  std::exception_ptr error() {
    std::lock_guard lock(mutex_);
    return error_;
  }
  // Writes what is queued, flushes, ends the thread; rethrows a write error.
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      ready_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
  }
  // Seconds the thread spent writing and flushing (read after close()).
  double busy_seconds() const { return busy_s_; }

 private:
  static constexpr std::size_t kMaxQueuedBytes = std::size_t{32} << 20;

  void loop() {
    auto last_flush = Clock::now();
    for (;;) {
      std::deque<Finished> batch;
      bool closing = false;
      {
        std::unique_lock lock(mutex_);
        ready_.wait_for(lock, std::chrono::milliseconds(100),
                        [&] { return !items_.empty() || closed_; });
        batch.swap(items_);
        bytes_ = 0;
        space_.notify_all();
        closing = closed_;
        if (batch.empty() && closing) break;
      }
      try {
        const auto t0 = Clock::now();
        for (const Finished& f : batch) file_.write_packed(f.unit.begin, f.rows);
        if (seconds_since(last_flush) >= flush_interval_s_ || closing) {
          file_.flush();
          last_flush = Clock::now();
        }
        busy_s_ += seconds_since(t0);
      } catch (...) {
        std::lock_guard lock(mutex_);
        error_ = std::current_exception();
        space_.notify_all();
        return;
      }
    }
    try {
      const auto t0 = Clock::now();
      file_.flush();
      busy_s_ += seconds_since(t0);
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }

  ResultsFile& file_;
  double flush_interval_s_;
  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<Finished> items_;
  std::size_t bytes_ = 0;
  bool closed_ = false;
  std::exception_ptr error_;
  double busy_s_ = 0;   // written by the thread only
  std::thread thread_;  // last: starts once the members above exist
};

void put_unit(Writer& w, const WorkUnit& u) {
  w.put(u.begin).put(u.end).put(u.group);
}
WorkUnit get_unit(Reader& r) {
  WorkUnit u;
  u.begin = r.get<ComboId>();
  u.end = r.get<ComboId>();
  u.group = r.get<ComboId>();
  return u;
}

std::vector<std::byte> encode(const RankReport& x) {
  Writer w;
  w.put(x.rank).put_string(x.host).put(x.pid).put(x.threads).put_string(x.isa);
  w.put(x.units).put(x.combos);
  w.put(x.busy_s).put(x.idle_s).put(x.series_built).put(x.series_requested);
  w.put<std::uint64_t>(x.devices.size());
  for (const std::string& d : x.devices) w.put_string(d);
  return w.take();
}
RankReport decode_report(const std::vector<std::byte>& bytes) {
  Reader r(bytes);
  RankReport x;
  x.rank = r.get<int>();
  x.host = r.get_string();
  x.pid = r.get<std::int64_t>();
  x.threads = r.get<std::uint64_t>();
  x.isa = r.get_string();
  x.units = r.get<std::uint64_t>();
  x.combos = r.get<std::uint64_t>();
  x.busy_s = r.get<double>();
  x.idle_s = r.get<double>();
  x.series_built = r.get<std::int64_t>();
  x.series_requested = r.get<std::int64_t>();
  const auto lines = r.get<std::uint64_t>();
  for (std::uint64_t k = 0; k < lines; ++k) x.devices.push_back(r.get_string());
  return x;
}

std::string describe_units(const std::vector<WorkUnit>& units) {
  std::string s;
  for (std::size_t i = 0; i < units.size() && i < 4; ++i)
    s += fmt::format("{}[{}, {})", i ? ", " : "", units[i].begin, units[i].end);
  if (units.size() > 4) s += fmt::format(" and {} more", units.size() - 4);
  return s;
}

}  // namespace

std::string this_host() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "?";
  return name;
}

// What this rank did, for its line of the accounting (rank 0 adds the dispatcher's figures).
RankReport this_rank_report(int rank, unsigned threads, Isa isa, const ComputeReport& cr,
                            IndicatorBank& bank) {
  RankReport me;
  me.rank = rank;
  me.host = this_host();
  me.pid = static_cast<std::int64_t>(getpid());
  me.threads = threads;
  me.isa = isa_name(isa);
  me.units = cr.units;
  me.combos = cr.combos;
  me.busy_s = cr.busy_s;
  me.idle_s = cr.idle_s;
  me.devices = cr.device_lines;
  const IndicatorBank::Stats bs = bank.stats();
  me.series_built = bs.built;
  me.series_requested = bs.requested;
  return me;
}

int worker_hello(Transport& t, const Hello& hello) {
  Writer w;
  w.put_string(hello.host).put(hello.pid).put(hello.threads).put_string(hello.error);
  t.send(0, Tag::Hello, w.take());
  for (;;) {
    std::optional<Message> m = t.receive(microseconds(100000));
    if (!m) continue;
    if (m->tag != Tag::Start)
      throw std::runtime_error("protocol: expected Start from rank 0 at start-up");
    Reader r(m->data);
    return r.get<int>();
  }
}

std::vector<Hello> collect_hellos(Transport& t) {
  std::vector<Hello> out(static_cast<std::size_t>(t.size()));
  for (int got = 1; got < t.size();) {
    std::optional<Message> m = t.receive(microseconds(100000));
    if (!m) continue;
    if (m->tag != Tag::Hello) throw std::runtime_error("protocol: expected Hello at start-up");
    Reader r(m->data);
    Hello& h = out[static_cast<std::size_t>(m->source)];
    h.host = r.get_string();
    h.pid = r.get<std::int64_t>();
    h.threads = r.get<std::uint64_t>();
    h.error = r.get_string();
    ++got;
  }
  return out;
}

void send_start(Transport& t, int exit_code) {
  for (int r = 1; r < t.size(); ++r) {
    Writer w;
    w.put(exit_code);
    t.send(r, Tag::Start, w.take());
  }
}

const std::vector<Hello>& StartGate::collect() {
  if (t_.size() == 1 || !workers_.empty()) return workers_;
  workers_ = collect_hellos(t_);
  for (int r = 1; r < t_.size(); ++r) {
    const Hello& h = workers_[static_cast<std::size_t>(r)];
    if (!h.error.empty())
      throw InputError(fmt::format("rank {} (host {}): {}", r, h.host, h.error));
  }
  return workers_;
}

void StartGate::release(int exit_code) {
  if (!started_) send_start(t_, exit_code);
  started_ = true;
}

void StartGate::fail() {
  if (t_.size() > 1 && workers_.empty()) workers_ = collect_hellos(t_);
  release(1);
}

// ---- rank 0 ------------------------------------------------------------------------------------

ClusterReport run_coordinator(Transport& t, const Grid& grid, IndicatorBank& bank,
                              ResultsFile& file, const std::vector<std::uint8_t>& done,
                              const std::vector<Hello>& workers, const ClusterSweepOptions& o) {
  const auto start = Clock::now();
  const int n = t.size();
  DispatchOptions dopt;
  dopt.max_unit = o.unit_size;
  dopt.slots = o.threads;
  for (int r = 1; r < n; ++r) dopt.slots += workers[static_cast<std::size_t>(r)].threads;
  Dispatcher dispatcher(grid, &done, n, dopt);
  dispatcher.set_slots(0, std::max(1u, o.threads));
  for (int r = 1; r < n; ++r)
    dispatcher.set_slots(r,
                         std::max<std::uint64_t>(1, workers[static_cast<std::size_t>(r)].threads));
  auto now = [start] { return seconds_since(start); };
  std::mutex dispatcher_mutex;  // rank 0's compute threads grant to themselves
  const std::uint64_t total = dispatcher.total();

  // Rank 0's own compute threads take units straight from the dispatcher.
  class LocalSource final : public WorkSource {
   public:
    LocalSource(Dispatcher& d, std::mutex& m, Clock::time_point t0) : d_(d), m_(m), t0_(t0) {}
    std::optional<WorkUnit> next() override {
      for (;;) {
        {
          std::lock_guard lock(m_);
          if (peeked_) return std::exchange(peeked_, std::nullopt);
          if (std::optional<WorkUnit> u = d_.grant(0, seconds_since(t0_))) return u;
          if (d_.ungranted() == 0) return std::nullopt;
        }
        // Calibrating: this thread's last unit is not stored yet. Ask again shortly.
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    bool ready() override {
      std::lock_guard lock(m_);
      if (!peeked_) peeked_ = d_.grant(0, seconds_since(t0_));
      return peeked_.has_value() || d_.ungranted() == 0;
    }

   private:
    Dispatcher& d_;
    std::mutex& m_;
    Clock::time_point t0_;
    std::optional<WorkUnit> peeked_;  // granted by ready(), handed out by the next next()
  } local_source(dispatcher, dispatcher_mutex, start);
  Outbox outbox(grid, o.blocks);
  std::optional<ComputeThread> compute;
  if (o.threads > 0) {
    compute.emplace(grid, bank, local_source, outbox, o, o.stop);
  } else {
    outbox.close();
  }

  std::vector<RankReport> reports(static_cast<std::size_t>(n));
  std::vector<bool> said_bye(static_cast<std::size_t>(n), false);
  std::vector<Clock::time_point> last_seen(static_cast<std::size_t>(n), Clock::now());
  std::vector<std::deque<Clock::time_point>> granted_at(static_cast<std::size_t>(n));
  int workers_left = n - 1;
  bool stopping = false, local_over = false;
  double slowest_unit_s = 0;
  std::uint64_t combos_done = 0;
  auto last_progress = Clock::now();
  FileWriter writer(file, o.flush_interval_s);

  auto store = [&](int rank, Finished f) {
    if (f.rows.size() != file.layout().run_size(f.unit.size()))
      throw std::runtime_error(fmt::format("rank {} sent {} bytes of rows for unit [{}, {})", rank,
                                           f.rows.size(), f.unit.begin, f.unit.end));
    const WorkUnit unit = f.unit;
    writer.push(std::move(f));
    std::lock_guard lock(dispatcher_mutex);
    dispatcher.completed(rank, unit, now());
    combos_done += unit.size();
  };
  // A worker's request for `want` units. While the rank is calibrating (its first unit not back
  // yet) the dispatcher has nothing for it although work is left: the request waits in
  // `deferred` until that unit's result arrives, so the worker neither idles forever nor polls.
  std::vector<std::uint64_t> deferred(static_cast<std::size_t>(n), 0);
  auto answer = [&](int r, std::uint64_t want) {
    std::vector<WorkUnit> units;
    bool exhausted = false;
    {
      std::lock_guard lock(dispatcher_mutex);
      if (!stopping)
        for (std::uint64_t k = 0; k < want; ++k) {
          std::optional<WorkUnit> u = dispatcher.grant(r, now());
          if (!u) break;
          units.push_back(*u);
        }
      exhausted = dispatcher.ungranted() == 0;
    }
    if (units.empty() && !exhausted && !stopping) {
      deferred[static_cast<std::size_t>(r)] = want;
      return;
    }
    Writer w;
    w.put(want).put<std::uint8_t>(exhausted ? 1 : 0).put<std::uint64_t>(units.size());
    for (const WorkUnit& u : units) {
      put_unit(w, u);
      granted_at[static_cast<std::size_t>(r)].push_back(Clock::now());
    }
    t.send(r, Tag::Grant, w.take());
  };
  // A write error is reported once, by the caller, as the run's error; with one rank this line
  // is detail (info), with several it says what the other ranks are doing (warning).
  auto begin_stop = [&](const std::string& why, bool write_error = false) {
    if (stopping) return;
    stopping = true;
    if (o.stop != nullptr) o.stop->store(true);
    std::string flight;
    {
      std::lock_guard lock(dispatcher_mutex);
      for (int r = 0; r < n; ++r)
        if (!dispatcher.in_flight(r).empty())
          flight += fmt::format("; rank {}: {}", r, describe_units(dispatcher.in_flight(r)));
    }
    spdlog::log(write_error && n == 1 ? spdlog::level::info : spdlog::level::warn,
                "stopping ({}): finishing the units in flight{}", why, flight);
    for (int r = 1; r < n; ++r) {
      if (said_bye[static_cast<std::size_t>(r)]) continue;
      t.send(r, Tag::Stop, {});
      // Requests held back get their (empty) answer: a worker ends only once all are answered.
      if (const std::uint64_t want = deferred[static_cast<std::size_t>(r)]; want > 0) {
        deferred[static_cast<std::size_t>(r)] = 0;
        answer(r, want);
      }
    }
  };

  for (;;) {
    if (o.stop != nullptr && o.stop->load() && !stopping) begin_stop("signal");

    // Rank 0's own finished units.
    auto [mine, over] = outbox.take(microseconds(n > 1 ? 500 : 100000));
    for (Finished& f : mine) store(0, std::move(f));
    local_over = over;
    if (writer.error() && !stopping) begin_stop("the results file cannot be written", true);

    // Messages from the workers.
    while (std::optional<Message> m = t.receive(microseconds(0))) {
      const int r = m->source;
      last_seen[static_cast<std::size_t>(r)] = Clock::now();
      Reader in(m->data);
      switch (m->tag) {
        case Tag::Request:
          answer(r, in.get<std::uint64_t>());
          break;
        case Tag::Result: {
          Finished f;
          f.unit = get_unit(in);
          f.rows = in.get_array<unsigned char>();
          store(r, std::move(f));
          // Its speed is known now: a request held back during calibration can be answered.
          if (const std::uint64_t want = deferred[static_cast<std::size_t>(r)]; want > 0) {
            deferred[static_cast<std::size_t>(r)] = 0;
            answer(r, want);
          }
          auto& times = granted_at[static_cast<std::size_t>(r)];
          if (!times.empty()) {
            slowest_unit_s = std::max(slowest_unit_s, seconds_since(times.front()));
            times.pop_front();
          }
          break;
        }
        case Tag::StopRequest:
          begin_stop(fmt::format("rank {} was signalled", r));
          break;
        case Tag::Bye:
          reports[static_cast<std::size_t>(r)] = decode_report(m->data);
          said_bye[static_cast<std::size_t>(r)] = true;
          --workers_left;
          break;
        default:
          throw std::runtime_error(fmt::format("protocol: unexpected message {} from rank {}",
                                               static_cast<int>(m->tag), r));
      }
    }

    // A worker that holds units and has gone silent for much longer than a unit takes is lost
    // (a hung node is never noticed by MPI itself). Save what is done, then end the job.
    const double limit = std::max(o.rank_timeout_s, 10 * slowest_unit_s);
    for (int r = 1; r < n; ++r) {
      std::vector<WorkUnit> held;
      {
        std::lock_guard lock(dispatcher_mutex);
        held = dispatcher.in_flight(r);
      }
      const double silent = seconds_since(last_seen[static_cast<std::size_t>(r)]);
      if (held.empty() || said_bye[static_cast<std::size_t>(r)] || silent < limit) continue;
      const Hello& h = workers[static_cast<std::size_t>(r)];
      spdlog::error(
          "rank {} (host {}, pid {}) has sent nothing for {:.0f} s while holding {} unit(s) {} "
          "(limit {:.0f} s, slowest unit so far {:.1f} s): treating it as lost; {} of {} "
          "combinations are saved in {}, finish with --resume",
          r, h.host, h.pid, silent, held.size(), describe_units(held), limit, slowest_unit_s,
          dispatcher.completed_combos() + (grid.size() - total), grid.size(), file.path());
      if (o.stop != nullptr) o.stop->store(true);
      if (compute) compute->join();
      for (Finished& f : outbox.take(microseconds(0)).first) store(0, std::move(f));
      writer.close();
      file.finish({{"stopped_reason", fmt::format("rank {} on {} lost", r, h.host)}});
      t.abort(4 /* kExitRankLost */);
    }

    if (o.on_progress && seconds_since(last_progress) >= o.progress_interval_s) {
      o.on_progress({combos_done, total, 0, seconds_since(start)});
      last_progress = Clock::now();
    }
    if (local_over && workers_left == 0) break;
  }

  ClusterReport out;
  ComputeReport cr;
  if (compute) cr = compute->join();
  out.device_attributes = cr.device_attributes;
  reports[0] = this_rank_report(0, o.threads, o.isa, cr, bank);
  for (int r = 0; r < n; ++r) {
    RankReport& x = reports[static_cast<std::size_t>(r)];
    x.rank = r;
    const RankDispatch& d = dispatcher.rank_stats(r);
    x.affinity_hits = d.affinity_hits;
    x.groups = d.groups;
    x.steals = d.steals;
  }
  for (int r = 1; r < n; ++r) t.send(r, Tag::Release, {});
  t.drain();
  writer.close();
  if (std::exception_ptr e = writer.error()) std::rethrow_exception(e);
  out.writer_busy_s = writer.busy_seconds();
  out.ranks = std::move(reports);
  out.combos_done = combos_done;
  out.wall_s = seconds_since(start);
  out.complete = dispatcher.all_completed();
  out.stopped = stopping;
  return out;
}

// ---- ranks > 0 ---------------------------------------------------------------------------------

RankReport run_worker(Transport& t, const Grid& grid, IndicatorBank& bank,
                      const ClusterSweepOptions& o) {
  // Units granted to this rank, waiting for a compute thread.
  class GrantQueue final : public WorkSource {
   public:
    std::optional<WorkUnit> next() override {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [&] { return !units_.empty() || ended_; });
      if (units_.empty()) return std::nullopt;
      const WorkUnit u = units_.front();
      units_.pop_front();
      return u;
    }
    bool ready() override {
      std::lock_guard lock(mutex_);
      return !units_.empty() || ended_;
    }
    void push(const WorkUnit& u) {
      std::lock_guard lock(mutex_);
      units_.push_back(u);
      ready_.notify_one();
    }
    // No more units will come; with `drop`, the waiting ones are abandoned (a stop).
    void end(bool drop) {
      std::lock_guard lock(mutex_);
      ended_ = true;
      if (drop) units_.clear();
      ready_.notify_all();
    }
    std::size_t size() {
      std::lock_guard lock(mutex_);
      return units_.size();
    }

   private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<WorkUnit> units_;
    bool ended_ = false;
  } queue;

  std::atomic<bool> stop_compute{false};
  Outbox outbox(grid, o.blocks);
  ClusterSweepOptions mine = o;
  mine.threads = std::max(1u, o.threads);
  ComputeThread compute(grid, bank, queue, outbox, mine, &stop_compute);

  // Keep a few units queued, so no thread waits for a round trip.
  const std::uint64_t depth = prefetch_depth(mine.threads);
  std::uint64_t asked = 0;
  bool ended = false, told_signal = false;
  for (;;) {
    if (o.stop != nullptr && o.stop->load() && !told_signal) {
      told_signal = true;
      t.send(0, Tag::StopRequest, {});
    }
    if (!ended) {
      const std::uint64_t have = queue.size() + asked;
      if (have < depth) {
        Writer w;
        w.put<std::uint64_t>(depth - have);
        t.send(0, Tag::Request, w.take());
        asked += depth - have;
      }
    }
    auto [finished, over] = outbox.take(microseconds(0));
    for (const Finished& f : finished) {
      Writer w;
      put_unit(w, f.unit);
      w.put_array(f.rows.data(), f.rows.size());
      t.send(0, Tag::Result, w.take());
    }
    if (over && asked == 0) break;  // every request answered: no message left in flight
    while (std::optional<Message> m = t.receive(microseconds(finished.empty() ? 500 : 0))) {
      Reader in(m->data);
      if (m->tag == Tag::Grant) {
        const auto answered = in.get<std::uint64_t>();
        asked -= std::min(asked, answered);
        const bool exhausted = in.get<std::uint8_t>() != 0;
        const auto count = in.get<std::uint64_t>();
        for (std::uint64_t k = 0; k < count; ++k) queue.push(get_unit(in));
        if (exhausted && !ended) {
          ended = true;
          queue.end(false);
        }
      } else if (m->tag == Tag::Stop) {
        ended = true;
        stop_compute = true;
        queue.end(true);
      } else {
        throw std::runtime_error(fmt::format("protocol: unexpected message {} from rank {}",
                                             static_cast<int>(m->tag), m->source));
      }
    }
  }

  const RankReport me = this_rank_report(t.rank(), mine.threads, o.isa, compute.join(), bank);
  t.send(0, Tag::Bye, encode(me));
  // Wait for rank 0's release, so that no message to this rank is left unreceived at the end
  // (a Stop may cross the Bye).
  for (;;) {
    std::optional<Message> m = t.receive(microseconds(100000));
    if (m && m->tag == Tag::Release) break;
  }
  t.drain();
  return me;
}

}  // namespace threadx::dist
