// Coordinator and worker of a distributed sweep (see cluster_sweep.hpp). The rank's compute side is
// in rank_compute.hpp, rank 0's writer in file_writer.hpp, the message bodies and the start-up in
// protocol.hpp.
#include "mpi/cluster_sweep.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "common/bounded_queue.hpp"
#include "mpi/dispatcher.hpp"
#include "mpi/file_writer.hpp"
#include "mpi/part_writer.hpp"
#include "mpi/protocol.hpp"
#include "mpi/rank_compute.hpp"

namespace threadx::dist {

using namespace detail;  // NOLINT(google-build-using-namespace): this file is detail's user

namespace {
// Runs `f` when the scope ends, however it ends: here, what must happen before a compute thread is
// joined when an error unwinds the loop that would have stopped it.
template <class F>
class OnExit {
 public:
  explicit OnExit(F f) : f_(std::move(f)) {}
  ~OnExit() { f_(); }
  OnExit(const OnExit&) = delete;
  OnExit& operator=(const OnExit&) = delete;

 private:
  F f_;
};

// This rank's part file (--write-path ranks). In a job of several ranks a rank that cannot make it
// ends the job, naming itself: other ranks would otherwise wait for it at MPI's finalisation.
std::unique_ptr<PartFile> open_part_file(Transport& t, const std::string& path,
                                         const RowLayout& layout, const PartShape& shape) {
  try {
    return std::make_unique<PartFile>(path, layout, shape);
  } catch (const std::exception& e) {
    if (t.size() == 1) throw;
    spdlog::error("rank {} (host {}): {}", t.rank(), this_host(), e.what());
    t.abort(1);
  }
  std::_Exit(1);  // not reached: abort() ends the rank
}
}  // namespace

// ---- rank 0 ------------------------------------------------------------------------------------

ClusterReport run_coordinator(Transport& t, const SweepContext& ctx, ResultsFile& file,
                              const IdRanges& done, SweepSummary& summary,
                              const std::vector<Hello>& workers, const ClusterSweepOptions& o) {
  const Grid& grid = ctx.grid();
  const auto start = Clock::now();
  const int n = t.size();
  DispatchOptions dopt;
  dopt.max_unit = o.unit_size;
  dopt.slots = o.threads;
  // --write-path ranks: units of whole storage chunks, so that each chunk is one rank's.
  const bool by_ranks = !o.part_path.empty();
  if (by_ranks) {
    dopt.align = o.part_shape.rows_per_chunk;
    dopt.max_unit = std::max(dopt.max_unit, dopt.align);
    dopt.min_unit = std::max(dopt.min_unit, dopt.align);
  }
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
    LocalSource(Dispatcher& d, std::mutex& m, Clock::time_point t0, const std::atomic<bool>& stop)
        : d_(d), m_(m), t0_(t0), stop_(stop) {}
    std::optional<WorkUnit> next() override {
      for (;;) {
        if (stop_.load()) return std::nullopt;
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
    const std::atomic<bool>& stop_;
    std::optional<WorkUnit> peeked_;  // granted by ready(), handed out by the next next()
  };
  // Rank 0's compute stops when the run stops (a signal, a lost rank, a write error) or when an
  // error leaves this function, so it never goes on granting itself units nobody will store.
  std::atomic<bool> stop_compute{false};
  LocalSource local_source(dispatcher, dispatcher_mutex, start, stop_compute);
  const bool keep_rows = file.keep().all();
  Outbox outbox(grid, o.run.blocks, summary, keep_rows);
  // Rank 0's own rows go to its part file (--write-path ranks), through its part writer.
  std::optional<PartWriter> parts;
  if (by_ranks) parts.emplace(open_part_file(t, o.part_path, file.layout(), o.part_shape));
  std::optional<ComputeThread> compute;
  if (o.threads > 0) {
    compute.emplace(ctx, local_source, outbox, o, &stop_compute);
  } else {
    outbox.close();
  }
  const OnExit stop_on_error([&] { stop_compute = true; });  // runs before ~ComputeThread

  std::vector<RankReport> reports(static_cast<std::size_t>(n));
  std::vector<bool> said_bye(static_cast<std::size_t>(n), false);
  std::vector<Clock::time_point> last_seen(static_cast<std::size_t>(n), Clock::now());
  std::vector<std::deque<Clock::time_point>> granted_at(static_cast<std::size_t>(n));
  int workers_left = n - 1;
  bool stopping = false, local_over = false;
  // --keep none or top:...: the summary is the run's only output, checkpointed at the flush
  // interval (a resume starts from the last checkpoint).
  const double checkpoint_interval =
      keep_rows ? std::numeric_limits<double>::infinity()
                : o.run.flush_interval_s.value_or(std::numeric_limits<double>::infinity());
  auto last_checkpoint = Clock::now();
  double slowest_unit_s = 0;
  std::uint64_t combos_done = 0;
  auto last_progress = Clock::now();
  FileWriter writer(file, o.run.flush_interval_s.value_or(std::numeric_limits<double>::infinity()));

  // A finished unit: its rows go to the file (--keep all); its summary comes apart (Tag::Summary,
  // or straight into `summary` for rank 0's own units).
  // --write-path ranks: a unit comes without rows, stored in the part file of its rank.
  auto store = [&](int rank, Finished f) {
    const std::size_t want = keep_rows && !by_ranks ? file.layout().run_size(f.unit.size()) : 0;
    if (f.rows.size() != want)
      throw std::runtime_error(fmt::format("rank {} sent {} bytes of rows for unit [{}, {})", rank,
                                           f.rows.size(), f.unit.begin, f.unit.end));
    const WorkUnit unit = f.unit;
    if (by_ranks) f.part = file.part_index(rank);
    if (keep_rows) writer.push(std::move(f));
    std::lock_guard lock(dispatcher_mutex);
    dispatcher.completed(rank, unit, now());
    combos_done += unit.size();
  };
  // Rank 0's own finished units: stored now, or (--write-path ranks) once its part writer has
  // put their rows in its part file.
  auto own = [&](Finished f) {
    if (parts)
      parts->push(std::move(f));
    else
      store(0, std::move(f));
  };
  auto own_stored = [&] {
    if (parts)
      for (const WorkUnit& u : parts->take_stored()) store(0, Finished{u, {}});
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
    stop_compute = true;
    if (o.run.stop != nullptr) o.run.stop->store(true);
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
    if (o.run.stop_requested() && !stopping) begin_stop("signal");

    // Rank 0's own finished units (--write-path ranks: once its part writer has stored them).
    auto [mine, over] = outbox.take(microseconds(n > 1 ? 500 : by_ranks ? 2000 : 100000));
    for (Finished& f : mine) own(std::move(f));
    // (Idle first: once nothing is pending, take_stored() has every unit.)
    const bool parts_idle = !parts || parts->pending() == 0;
    own_stored();
    local_over = over && parts_idle;
    if (writer.error() && !stopping) begin_stop("the results file cannot be written", true);
    if (parts && parts->error() && !stopping)
      begin_stop("rank 0's part file cannot be written", true);

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
        case Tag::Summary:
          try {
            summary.merge(m->data);
          } catch (const std::exception& e) {
            throw std::runtime_error(fmt::format("rank {}'s summary: {}", r, e.what()));
          }
          break;
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
          file.ids() - (total - dispatcher.completed_combos()), file.ids(), file.path());
      stop_compute = true;
      if (o.run.stop != nullptr) o.run.stop->store(true);
      if (compute) compute->join();
      for (Finished& f : outbox.take(microseconds(0)).first) own(std::move(f));
      if (parts) parts->close();
      own_stored();
      if (!keep_rows) writer.checkpoint(summary.checkpoint());
      writer.close();
      if (writer.error())
        spdlog::error(
            "and the results file could not be written completely: {} keeps only the "
            "rows whose /done flag is set",
            file.path());
      try {
        file.finish({{"stopped_reason", fmt::format("rank {} on {} lost", r, h.host)}}, &summary);
      } catch (const std::exception& e) {
        spdlog::error("{}", e.what());  // the job still ends: the set /done flags stay valid
      }
      t.abort(4 /* kExitRankLost */);
    }

    if (seconds_since(last_checkpoint) >= checkpoint_interval) {
      writer.checkpoint(summary.checkpoint());
      last_checkpoint = Clock::now();
    }
    if (o.run.on_progress && o.run.progress_interval_s &&
        seconds_since(last_progress) >= *o.run.progress_interval_s) {
      o.run.on_progress({combos_done, total, 0, seconds_since(start)});
      last_progress = Clock::now();
    }
    if (local_over && workers_left == 0) break;
  }

  ClusterReport out;
  ComputeReport cr;
  if (compute) cr = compute->join();
  out.device_attributes = cr.device_attributes;
  reports[0] = this_rank_report(0, o.threads, o.isa, cr, ctx.bank());
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
  // Every rank's summary is in (a worker sends its last one before its Bye, and rank 0's compute
  // has joined): the last checkpoint.
  if (!keep_rows) writer.checkpoint(summary.checkpoint());
  writer.close();
  if (std::exception_ptr e = writer.error()) std::rethrow_exception(e);
  out.writer_busy_s = writer.busy_seconds();
  if (parts) {
    parts->close();
    if (std::exception_ptr e = parts->error()) std::rethrow_exception(e);
    out.part_busy_s = parts->busy_seconds();
    out.part_bytes_in = parts->file().bytes_in();
    out.part_bytes_stored = parts->file().bytes_stored();
  }
  out.ranks = std::move(reports);
  out.combos_done = combos_done;
  out.wall_s = seconds_since(start);
  out.complete = dispatcher.all_completed();
  out.stopped = stopping;
  return out;
}

// ---- ranks > 0 ---------------------------------------------------------------------------------

RankReport run_worker(Transport& t, const SweepContext& ctx, const ClusterSweepOptions& o) {
  // Units granted to this rank, waiting for a compute thread.
  class GrantQueue final : public WorkSource {
   public:
    std::optional<WorkUnit> next() override { return units_.take_one(); }
    bool ready() override { return units_.ready(); }
    // (A grant that crosses a stop is dropped too: the run is over for this rank.)
    void push(const WorkUnit& u) {
      if (!dropped_) units_.push(u);
    }
    // No more units will come; with `drop`, the waiting ones are abandoned (a stop).
    void end(bool drop) {
      dropped_ = dropped_ || drop;
      units_.close(drop);
    }
    std::size_t size() const { return units_.size(); }

   private:
    BoundedQueue<WorkUnit> units_{BoundedQueue<WorkUnit>::kUnbounded};
    bool dropped_ = false;  // the transport thread's own (push and end are called there)
  } queue;

  std::atomic<bool> stop_compute{false};
  const AggregateLayout layout(ctx.grid(), o.aggregates);
  SweepSummary summary(ctx.grid(), layout, o.keep, SweepSummary::Role::Rank);
  Outbox outbox(ctx.grid(), o.run.blocks, summary, o.keep.all());
  // --write-path ranks: the rows go to this rank's part file; rank 0 hears of a unit once stored.
  std::optional<PartWriter> parts;
  if (!o.part_path.empty())
    parts.emplace(
        open_part_file(t, o.part_path, RowLayout(ctx.grid(), o.run.blocks), o.part_shape));
  ClusterSweepOptions mine = o;
  mine.threads = std::max(1u, o.threads);
  ComputeThread compute(ctx, queue, outbox, mine, &stop_compute);
  // An error leaving this function (a transport failure) must not leave the compute thread
  // waiting for units that will never come: ~ComputeThread joins it.
  const OnExit end_on_error([&] {
    stop_compute = true;
    queue.end(true);
  });

  // Keep a few units queued, so no thread waits for a round trip.
  const std::uint64_t depth = prefetch_depth(mine.threads);
  std::uint64_t asked = 0;
  bool ended = false, told_signal = false;
  // Its summary goes to rank 0 at the interval (--keep none or top:...) and at the end.
  const double summary_interval =
      o.keep.all() ? std::numeric_limits<double>::infinity() : o.summary_interval_s;
  auto last_summary = Clock::now();
  auto send_summary = [&] {
    std::vector<std::byte> delta = summary.take_delta();
    if (!delta.empty()) t.send(0, Tag::Summary, std::move(delta));
    last_summary = Clock::now();
  };
  for (;;) {
    if (o.run.stop_requested() && !told_signal) {
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
    auto report = [&](const WorkUnit& unit, std::span<const unsigned char> rows) {
      Writer w;
      put_unit(w, unit);
      w.put_array(rows.data(), rows.size());
      t.send(0, Tag::Result, w.take());
    };
    for (Finished& f : finished) {
      if (parts)
        parts->push(std::move(f));
      else
        report(f.unit, f.rows);
    }
    if (parts) {
      for (const WorkUnit& u : parts->take_stored()) report(u, {});
      if (std::exception_ptr e = parts->error()) std::rethrow_exception(e);
    }
    if (seconds_since(last_summary) >= summary_interval) send_summary();
    // Every request answered and every unit reported: no message left in flight.
    if (over && asked == 0 && (!parts || parts->pending() == 0)) {
      if (parts)
        for (const WorkUnit& u : parts->take_stored()) report(u, {});
      break;
    }
    const bool busy = !finished.empty() || (parts && parts->pending() > 0);
    while (std::optional<Message> m = t.receive(microseconds(busy ? (parts ? 200 : 0) : 500))) {
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

  const RankReport me = this_rank_report(t.rank(), mine.threads, o.isa, compute.join(), ctx.bank());
  // Every unit was sent (the loop ends once the outbox is over) and is in the summary: its last
  // part goes before the Bye.
  send_summary();
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
