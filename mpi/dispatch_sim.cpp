// Dispatch simulation (see dispatch_sim.hpp).
#include "mpi/dispatch_sim.hpp"

#include "results/part_file.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <queue>
#include <random>
#include <utility>
#include <vector>

#include "mpi/dispatcher.hpp"

namespace threadx::dist {
namespace {

// RequestAt0 may carry finished units (Ranks path: computed, and stored by their rank); ByeAt0 is
// a Ranks-path rank's last message, with the units it finished since its last request.
enum class Kind { RequestAt0, ResultAt0, GrantAtRank, UnitDone, ByeAt0 };

struct Event {
  double time;
  std::uint64_t seq;  // ties in arrival order
  Kind kind;
  int rank;
  std::uint64_t want = 0;
  WorkUnit unit{};
  std::vector<WorkUnit> units;
  bool exhausted = false;
  std::uint64_t ungranted = 0;  // GrantAtRank: ids rank 0 has still to grant
  bool operator>(const Event& o) const { return time != o.time ? time > o.time : seq > o.seq; }
};

struct SimRank {
  double speed = 1;  // bar-steps per second per slot
  std::deque<WorkUnit> queue;
  std::uint64_t asked = 0;
  std::uint64_t running = 0;
  bool ended = false;
  std::uint64_t deferred = 0;  // a request rank 0 holds back while the rank calibrates
  double busy = 0;
  double writer_free = 0;          // Ranks path: when the rank's writer thread is next free
  double stored = 0;               // Ranks path: when its last rows are on disk
  std::vector<WorkUnit> finished;  // Ranks path: finished units rank 0 has not heard of yet
  std::uint64_t held = 0;          // Streams: rows compressed, in a chunk not yet written
  bool eager = false;              // Streams: the end is near; each unit is written at once
  bool said_bye = false;
};

}  // namespace

std::uint64_t stream_chunk_rows(std::uint64_t ids, std::uint64_t slots) {
  const std::uint64_t share = ids / (std::max<std::uint64_t>(slots, 1) * 8);
  return std::clamp<std::uint64_t>(share / 64 * 64, 1024, 16384);
}

double chunk_bytes_factor(std::uint64_t rows) {
  // (rows, factor), measured (dispatch_sim.hpp); 16,384 rows is the reference.
  static constexpr std::array<std::pair<double, double>, 6> kMeasured{
      {{64, 1.72}, {126, 1.70}, {252, 1.48}, {504, 1.24}, {1008, 1.11}, {16384, 1.0}}};
  const double r = static_cast<double>(rows);
  if (r <= kMeasured.front().first) return kMeasured.front().second;
  if (r >= kMeasured.back().first) return kMeasured.back().second;
  std::size_t i = 1;
  while (kMeasured[i].first < r) ++i;
  const auto [r0, f0] = kMeasured[i - 1];
  const auto [r1, f1] = kMeasured[i];
  return f0 + (f1 - f0) * std::log(r / r0) / std::log(r1 / r0);
}

SimResult simulate_dispatch(const Grid& grid, const SimOptions& o) {
  const int n = std::max(o.ranks, 1);
  const std::uint64_t slots = std::max<std::uint64_t>(o.threads_per_rank, 1);
  std::mt19937_64 rng(o.seed);
  std::lognormal_distribution<double> spread(0.0, o.speed_sigma);
  std::vector<SimRank> ranks(static_cast<std::size_t>(n));
  double total_speed = 0;
  const auto stragglers = static_cast<int>(std::round(o.straggler_fraction * n));
  for (int r = 0; r < n; ++r) {
    SimRank& x = ranks[static_cast<std::size_t>(r)];
    x.speed = o.slot_rate * spread(rng);
    if (r < stragglers) x.speed /= o.straggler_factor;
    total_speed += x.speed * static_cast<double>(slots);
  }
  DispatchOptions dopt;
  dopt.max_unit = o.unit_size;
  dopt.slots = slots * static_cast<std::uint64_t>(n);
  // Ranks: the ranks store whole chunks (units on chunk boundaries, as in a real run); Streams:
  // chunks of a rank's own rows. Rows are as large as such chunks make them.
  double row_bytes = o.row_bytes;
  std::uint64_t chunk_rows = 0;
  const bool streams = o.write_path == SimOptions::WritePath::Streams;
  if (o.write_path == SimOptions::WritePath::Ranks) {
    chunk_rows = dopt.align = part_chunk_rows(grid, grid.size(), dopt.slots);
  } else if (streams) {
    chunk_rows =
        o.stream_chunk_rows > 0 ? o.stream_chunk_rows : stream_chunk_rows(grid.size(), dopt.slots);
  }
  // Bytes of `rows` rows stored in chunks of `chunk_rows` (a partial chunk: its rows, padding
  // compresses to nothing).
  auto stored_bytes = [&](std::uint64_t rows, std::uint64_t chunk) {
    return static_cast<double>(rows) * o.row_bytes * (o.compressed ? chunk_bytes_factor(chunk) : 1);
  };
  if (chunk_rows > 0) row_bytes = stored_bytes(1, chunk_rows);
  // The simulated ranks are the dispatcher's ranks 0..n-1 (the real rank 0 also computes; here it
  // only dispatches and writes, the harder case for it).
  Dispatcher d(grid, nullptr, n, dopt);
  for (int r = 0; r < n; ++r) d.set_slots(r, slots);

  std::priority_queue<Event, std::vector<Event>, std::greater<>> events;
  std::uint64_t seq = 0;
  auto post = [&](Event e) {
    e.seq = seq++;
    events.push(std::move(e));
  };
  double rank0_free = 0, writer_free = 0, fs_free = 0;
  const bool ranks_write = o.write_path != SimOptions::WritePath::Rank0;
  SimResult out;
  const std::uint64_t depth = prefetch_depth(slots);

  // Ranks paths: `rows` more rows compressed on a rank's writer thread (from `now`); it writes
  // what is ready to the shared file system. Ranks: the rows, a whole-chunk unit. Streams: its
  // full chunks, and its partial one when the rank is eager or has finished (rows = 0).
  auto write = [&](SimRank& x, std::uint64_t rows, double now = 0) {
    x.writer_free = std::max(x.writer_free, now) + o.rank_row_s * static_cast<double>(rows);
    double bytes = stored_bytes(rows, chunk_rows);
    if (streams) {
      x.held += rows;
      const std::uint64_t full = x.held / chunk_rows * chunk_rows;
      x.held -= full;
      bytes = stored_bytes(full, chunk_rows);
      if (x.held > 0 && (x.eager || rows == 0)) {
        const std::uint64_t partial = std::exchange(x.held, 0);
        bytes += stored_bytes(partial, partial);
      }
    }
    if (bytes <= 0) return;
    const double transfer = bytes / o.fs_bandwidth;
    fs_free = std::max(fs_free, x.writer_free) + transfer;
    out.fs_busy_s += transfer;
    x.stored = fs_free;
  };
  // A rank asks for enough units to keep `depth` queued, and starts what it can.
  auto pump = [&](int r, double now) {
    SimRank& x = ranks[static_cast<std::size_t>(r)];
    while (x.running < slots && !x.queue.empty()) {
      const WorkUnit u = x.queue.front();
      x.queue.pop_front();
      ++x.running;
      const double dt = static_cast<double>(u.size()) * o.bars / x.speed;
      x.busy += dt;
      post({now + dt, 0, Kind::UnitDone, r, 0, u, {}, false});
    }
    const std::uint64_t have = x.queue.size() + x.asked;
    if (!x.ended && have < depth) {
      // Ranks path: the request also reports the units finished since the last one.
      post({now + o.latency_s,
            0,
            Kind::RequestAt0,
            r,
            depth - have,
            {},
            std::move(x.finished),
            false});
      x.finished.clear();
      x.asked += depth - have;
    } else if (ranks_write && !x.finished.empty() && x.asked > 0) {
      // A request is outstanding (rank 0 may be holding it until it hears of a finished unit):
      // the finished units go in a report of their own.
      post({now + o.latency_s, 0, Kind::RequestAt0, r, 0, {}, std::move(x.finished), false});
      x.finished.clear();
    }
    // Ranks path: a rank with nothing left says goodbye once its last rows are stored.
    if (ranks_write && x.ended && x.running == 0 && x.queue.empty() && !x.said_bye) {
      x.said_bye = true;
      write(x, 0);  // Streams: its partial chunk
      post({std::max(now, x.stored) + o.latency_s,
            0,
            Kind::ByeAt0,
            r,
            0,
            {},
            std::move(x.finished),
            false});
      x.finished.clear();
    }
  };
  // Rank 0 answers a request, or holds it back while the rank calibrates (as the coordinator).
  auto answer = [&](int r, std::uint64_t want, double now) {
    std::vector<WorkUnit> units;
    for (std::uint64_t k = 0; k < want; ++k) {
      std::optional<WorkUnit> u = d.grant(r, now);
      if (!u) break;
      units.push_back(*u);
    }
    const bool exhausted = d.ungranted() == 0;
    if (units.empty() && !exhausted) {
      ranks[static_cast<std::size_t>(r)].deferred = want;
      return;
    }
    post({rank0_free + o.latency_s,
          0,
          Kind::GrantAtRank,
          r,
          want,
          {},
          std::move(units),
          exhausted,
          d.ungranted()});
  };
  for (int r = 0; r < n; ++r) pump(r, 0);

  double last_result = 0;
  while (!events.empty()) {
    Event e = events.top();
    events.pop();
    SimRank& x = ranks[static_cast<std::size_t>(e.rank)];
    switch (e.kind) {
      case Kind::RequestAt0:
      case Kind::ByeAt0: {
        const double start = std::max(e.time, rank0_free);
        rank0_free = start + o.rank0_message_s;
        out.rank0_busy_s += o.rank0_message_s;
        ++out.messages;
        for (const WorkUnit& u : e.units) d.completed(e.rank, u, start);
        if (e.kind == Kind::ByeAt0) {
          last_result = std::max(last_result, rank0_free);
          break;
        }
        const std::uint64_t want = e.want + std::exchange(x.deferred, 0);
        if (want > 0) answer(e.rank, want, start);
        break;
      }
      case Kind::ResultAt0: {
        const double start = std::max(e.time, rank0_free);
        // Ranks path: the rows are already stored; rank 0 only sets the unit's /done flags.
        const double store = ranks_write ? 0.0 : o.rank0_row_s * static_cast<double>(e.unit.size());
        if (o.writer_thread) {
          // The dispatching thread only queues the rows; rank 0's writer thread stores them.
          rank0_free = start + o.rank0_message_s;
          writer_free = std::max(writer_free, rank0_free) + store;
          last_result = std::max(last_result, writer_free);
        } else {
          rank0_free = start + o.rank0_message_s + store;
          last_result = rank0_free;
        }
        out.rank0_busy_s += o.rank0_message_s + store;
        ++out.messages;
        d.completed(e.rank, e.unit, rank0_free);
        if (x.deferred > 0) {
          const std::uint64_t want = x.deferred;
          x.deferred = 0;
          answer(e.rank, want, rank0_free);
        }
        break;
      }
      case Kind::GrantAtRank:
        x.asked -= std::min(x.asked, e.want);
        for (const WorkUnit& u : e.units) x.queue.push_back(u);
        if (e.exhausted) x.ended = true;
        // Streams: under a quarter chunk of ids per slot left, the rank writes what it holds.
        if (streams && e.ungranted * 4 < chunk_rows * dopt.slots) x.eager = true;
        pump(e.rank, e.time);
        break;
      case Kind::UnitDone: {
        --x.running;
        if (ranks_write) {
          // The rank's writer packs and compresses the rows, the file system takes them. Rank 0
          // hears of the unit with the rank's next request (its speed, for the unit sizes), and
          // sets its /done flags once the rank's Bye says every row it wrote is on disk. (A real
          // rank reports its stored units with each request; the Bye is the last of them.)
          write(x, e.unit.size(), e.time);
          x.finished.push_back(e.unit);
        } else {
          post({e.time + o.latency_s, 0, Kind::ResultAt0, e.rank, 0, e.unit, {}, false});
        }
        pump(e.rank, e.time);
        break;
      }
    }
  }

  out.makespan_s = last_result;
  out.ideal_s = static_cast<double>(grid.size()) * o.bars / total_speed;
  std::uint64_t hits = 0;
  double busy = 0;
  for (int r = 0; r < n; ++r) {
    out.units += d.rank_stats(r).units;
    hits += d.rank_stats(r).affinity_hits;
    out.steals += d.rank_stats(r).steals;
    busy += ranks[static_cast<std::size_t>(r)].busy;
  }
  out.affinity = out.units ? static_cast<double>(hits) / static_cast<double>(out.units) : 0;
  const double slot_time = out.makespan_s * static_cast<double>(n) * static_cast<double>(slots);
  out.idle_fraction = slot_time > 0 ? 1 - busy / slot_time : 0;
  if (ranks_write) {
    out.chunk_rows = chunk_rows;
    out.row_bytes = row_bytes;
  }
  return out;
}

}  // namespace threadx::dist
