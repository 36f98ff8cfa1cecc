// The dispatcher of a distributed sweep (rank 0's plan, SWEEP.md "Partition and scheduling"), as
// pure logic with no MPI: the MPI coordinator, the single-process run and the dispatch simulation
// all drive this one class.
//
// The ids still to do are split into runs that never cross an indicator-key group (a fresh run is
// a whole group; a resumed run may leave several runs per group). Units are carved from runs on
// request, guided self-scheduling style: a unit is about remaining / (factor * slots) ids, scaled
// by the rank's measured speed per slot relative to the mean (ids completed per second since its
// first grant), clamped to [min_unit, max_unit]. So units are large while much work is left and
// small at the end, a slow rank gets smaller units than a fast one, and ranks finish together. A
// rank whose speed is not known yet gets one eighth-size calibration unit per slot and no more
// until its first unit is done (then `grant` returns nullopt although ids are left: ask again). A
// rank keeps carving from the run it holds (its IndicatorBank already has that group's series);
// when that run is empty it opens a fresh run (ids in order), and when no fresh run is left it
// takes a unit from the back of the largest run another rank holds.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <unordered_set>
#include <vector>

#include "engine/plan.hpp"
#include "grid/grid.hpp"

namespace threadx::dist {

struct DispatchOptions {
  std::uint64_t max_unit = 4096;  // ids per unit at most (--unit-size)
  std::uint64_t min_unit = 64;    // ids per unit at least, unless a run is shorter
  double guided_factor = 12.0;  // unit ~ remaining / (factor * slots); 12: see README (simulation)
  std::uint64_t slots = 1;      // compute threads over all ranks
  bool calibrate = true;        // small first units, and one per slot until a rank's speed is known
  // > 1: units begin and end on multiples of `align` (ids), or on the edges of the runs to do
  // (groups, ids done before, the slice): storage chunks that each belong to one rank
  // (--write-path ranks). Runs must then start and end on such multiples or slice edges.
  std::uint64_t align = 1;
};

// What the dispatcher did for one rank.
struct RankDispatch {
  std::uint64_t units = 0, combos = 0;  // granted
  std::uint64_t units_done = 0, combos_done = 0;
  std::uint64_t affinity_hits = 0;  // units of a group the rank had already been granted
  std::uint64_t groups = 0;         // distinct groups granted
  std::uint64_t steals = 0;         // units taken from a run another rank held
};

// Units a worker keeps queued beyond the ones its threads run: enough to hide a round trip to
// rank 0 (units take far longer), few enough that a rank never sits on work others could do.
inline std::uint64_t prefetch_depth(std::uint64_t threads) {
  return 1 + threads / 4;
}

class Dispatcher {
 public:
  // `done`: the ids not to grant (done before, or outside the run's ids; null: none). `ranks` >= 1.
  Dispatcher(const Grid& grid, const IdRanges* done, int ranks, DispatchOptions options);

  // Compute slots (threads) of a rank (default 1): its speed is measured per slot.
  void set_slots(int rank, std::uint64_t slots);
  // The next unit for `rank` at time `now` (seconds, any fixed origin), or nullopt when every id
  // has been granted or the rank is still calibrating (see above).
  std::optional<WorkUnit> grant(int rank, double now = 0);
  // A granted unit's rows are safely stored.
  void completed(int rank, const WorkUnit& unit, double now = 0);

  [[nodiscard]] std::uint64_t total() const { return total_; }  // ids to do at the start
  [[nodiscard]] std::uint64_t ungranted() const { return ungranted_; }
  [[nodiscard]] std::uint64_t completed_combos() const { return completed_; }
  [[nodiscard]] bool all_completed() const { return completed_ == total_; }
  [[nodiscard]] const std::vector<WorkUnit>& in_flight(int rank) const;
  [[nodiscard]] const RankDispatch& rank_stats(int rank) const;
  [[nodiscard]] int ranks() const { return static_cast<int>(per_rank_.size()); }

 private:
  struct Run {
    ComboId begin, end, group;
    int holder = -1;  // rank carving from its front, -1 none
  };
  struct PerRank {
    int run = -1;  // index into runs_ of the run it holds
    std::uint64_t slots = 1;
    double first_grant = -1;  // time of its first grant, -1 before
    double rate = 0;          // ids completed per second per slot; 0 while unknown
    std::unordered_set<ComboId> groups;
    std::vector<WorkUnit> in_flight;
    RankDispatch stats;
  };
  // Size of the next unit granted to `rank` (guided self-scheduling scaled by its speed).
  std::uint64_t unit_size(const PerRank& rank) const;
  void reindex(std::size_t run, std::uint64_t old_len);

  DispatchOptions options_;
  std::vector<Run> runs_;
  std::size_t next_fresh_ = 0;  // runs before this index have been opened
  // Opened runs with ids left, largest first (length, index): the victims of a steal.
  std::set<std::pair<std::uint64_t, std::size_t>, std::greater<>> open_;
  std::vector<PerRank> per_rank_;
  std::uint64_t total_ = 0, ungranted_ = 0, completed_ = 0;
  double rate_sum_ = 0;      // sum of the known per-slot rates
  std::uint64_t rated_ = 0;  // ranks with a known rate
};

}  // namespace threadx::dist
