// The dispatcher (mpi/dispatcher.hpp) without MPI: every id granted exactly once, units inside one
// indicator-key group and within the size bounds, shrinking towards the end, affinity to the
// group a rank holds, steals when no fresh group is left, and resume from done flags.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "grid/grid.hpp"
#include "mpi/dispatcher.hpp"
#include "support/paths.hpp"

namespace threadx::dist {
namespace {

Grid small_grid() {  // 24 combinations, 12 groups of 2
  return parse_grid_file(testing::repo_path("data/grids/reference_24.toml"));
}
Grid big_grid() {  // 2,903,040 combinations, 1,440 groups of 2,016
  return parse_grid_file(testing::repo_path("data/grids/reference_2p9m.toml"));
}

struct Granted {
  int rank;
  WorkUnit unit;
};

// Drives the dispatcher like a cluster would: ranks ask in a seeded random order and complete
// units some time later (a clock ticks 1 ms a step, so ranks get measured speeds). Returns every
// grant in order.
std::vector<Granted> drain(Dispatcher& d, int ranks, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Granted> out;
  std::vector<Granted> open;
  std::uniform_int_distribution<int> pick(0, ranks - 1);
  double now = 0;
  for (;; now += 1e-3) {
    const int r = pick(rng);
    if (std::optional<WorkUnit> u = d.grant(r, now)) {
      out.push_back({r, *u});
      open.push_back({r, *u});
    } else if (d.ungranted() == 0) {
      break;
    }
    if (open.size() > static_cast<std::size_t>(2 * ranks) || (rng() % 3) == 0) {
      if (!open.empty()) {
        const std::size_t k = rng() % open.size();
        d.completed(open[k].rank, open[k].unit, now);
        open.erase(open.begin() + static_cast<std::ptrdiff_t>(k));
      }
    }
  }
  for (const Granted& g : open) d.completed(g.rank, g.unit, now);
  return out;
}

// Every id of [0, size) not already done is covered exactly once; units stay in their group.
void expect_exact_cover(const Grid& g, const std::vector<Granted>& grants,
                        const std::vector<std::uint8_t>* done = nullptr) {
  std::vector<std::uint8_t> seen(g.size(), 0);
  const ComboId gs = g.group_size();
  for (const Granted& x : grants) {
    const WorkUnit& u = x.unit;
    ASSERT_LT(u.begin, u.end);
    ASSERT_LE(u.end, g.size());
    EXPECT_EQ(u.begin / gs, u.group) << "unit [" << u.begin << ", " << u.end << ")";
    EXPECT_EQ((u.end - 1) / gs, u.group)
        << "unit crosses a group: [" << u.begin << ", " << u.end << ")";
    for (ComboId id = u.begin; id < u.end; ++id) {
      ASSERT_EQ(seen[id], 0) << "id " << id << " granted twice";
      seen[id] = 1;
    }
  }
  for (ComboId id = 0; id < g.size(); ++id) {
    const bool was_done = done != nullptr && (*done)[id] != 0;
    ASSERT_EQ(seen[id] != 0, !was_done) << "id " << id;
  }
}

TEST(Dispatcher, CoversEveryIdOnceForManyRankCounts) {
  const Grid g = big_grid();
  for (int ranks : {1, 2, 3, 7, 64}) {
    DispatchOptions o;
    o.max_unit = 1000;  // smaller than a group: groups are split
    o.slots = static_cast<std::uint64_t>(ranks) * 2;
    Dispatcher d(g, nullptr, ranks, o);
    const auto grants = drain(d, ranks, 42u + static_cast<std::uint32_t>(ranks));
    expect_exact_cover(g, grants);
    EXPECT_TRUE(d.all_completed());
    EXPECT_EQ(d.completed_combos(), g.size());
    std::uint64_t units = 0, combos = 0;
    for (int r = 0; r < ranks; ++r) {
      units += d.rank_stats(r).units;
      combos += d.rank_stats(r).combos;
      EXPECT_TRUE(d.in_flight(r).empty());
    }
    EXPECT_EQ(units, grants.size());
    EXPECT_EQ(combos, g.size());
  }
}

TEST(Dispatcher, UnitSizesRespectBoundsAndShrinkTowardsTheEnd) {
  const Grid g = big_grid();
  DispatchOptions o;
  o.max_unit = 4096;
  o.min_unit = 64;
  o.slots = 8;
  Dispatcher d(g, nullptr, 4, o);
  const auto grants = drain(d, 4, 7);
  std::uint64_t largest = 0;
  for (const Granted& x : grants) {
    EXPECT_LE(x.unit.size(), o.max_unit + o.min_unit);
    largest = std::max(largest, x.unit.size());
  }
  // Groups of 2,016 are smaller than max_unit: early units are whole groups.
  EXPECT_EQ(largest, g.group_size());
  // The last grants (two per slot) are small: the guided size falls with the work left, so the
  // ranks finish together.
  std::uint64_t tail_max = 0;
  for (std::size_t k = grants.size() - 2 * o.slots; k < grants.size(); ++k)
    tail_max = std::max(tail_max, grants[k].unit.size());
  EXPECT_LT(tail_max, g.group_size() / 4) << "the end of the sweep is not in small units";
  // Every unit is at least a SIMD block (8), except the rest of a run (a run here is a group):
  // below min_unit only for calibration units and ranks slower than the mean.
  for (const Granted& x : grants) {
    if (x.unit.size() >= 8) continue;
    EXPECT_TRUE(x.unit.end % g.group_size() == 0 || x.unit.begin % g.group_size() == 0)
        << "tiny unit in the middle of a group: [" << x.unit.begin << ", " << x.unit.end << ")";
  }
}

TEST(Dispatcher, GridSmallerThanTheRankCount) {
  const Grid g = small_grid();
  DispatchOptions o;
  o.slots = 64;
  o.calibrate = false;
  Dispatcher d(g, nullptr, 64, o);
  const auto grants = drain(d, 64, 3);
  expect_exact_cover(g, grants);
  // One unit per group of 2: 12 units, so most ranks get nothing, and nobody gets an empty unit.
  EXPECT_EQ(grants.size(), g.group_count());
  EXPECT_FALSE(d.grant(5).has_value());
}

TEST(Dispatcher, RanksKeepTheirGroupAndStealOnlyAtTheEnd) {
  const Grid g = big_grid();
  DispatchOptions o;
  o.max_unit = 256;  // 8 units per group of 2,016
  o.slots = 4;
  Dispatcher d(g, nullptr, 4, o);
  const auto grants = drain(d, 4, 11);
  expect_exact_cover(g, grants);
  std::uint64_t units = 0, hits = 0, steals = 0;
  for (int r = 0; r < 4; ++r) {
    units += d.rank_stats(r).units;
    hits += d.rank_stats(r).affinity_hits;
    steals += d.rank_stats(r).steals;
    // A rank visits each group at most a few times: far fewer groups than units.
    EXPECT_LT(d.rank_stats(r).groups * 4, d.rank_stats(r).units) << "rank " << r;
  }
  EXPECT_GT(static_cast<double>(hits) / static_cast<double>(units), 0.8);
  // Steals happen only once no fresh group is left: a handful, not a habit.
  EXPECT_LT(steals, units / 20);
}

TEST(Dispatcher, OneLargeRunIsSharedByStealing) {
  // Resume case: everything done except one whole group and a few ids of another, so one run is
  // far larger than the rest; four ranks must all get work from it.
  const Grid g = big_grid();
  std::vector<std::uint8_t> done(g.size(), 1);
  const ComboId gs = g.group_size();
  for (ComboId id = 700 * gs; id < 701 * gs; ++id) done[id] = 0;
  for (ComboId id = 5 * gs + 10; id < 5 * gs + 13; ++id) done[id] = 0;
  DispatchOptions o;
  o.max_unit = 4096;
  o.min_unit = 16;
  o.slots = 4;
  o.calibrate = false;  // nothing completes here
  const IdRanges done_ranges = IdRanges::from_flags(done);
  Dispatcher d(g, &done_ranges, 4, o);
  EXPECT_EQ(d.total(), gs + 3);
  std::vector<Granted> grants;
  for (int round = 0; d.ungranted() > 0; ++round)
    for (int r = 0; r < 4; ++r)
      if (std::optional<WorkUnit> u = d.grant(r)) grants.push_back({r, *u});
  expect_exact_cover(g, grants, &done);
  for (int r = 0; r < 4; ++r) EXPECT_GT(d.rank_stats(r).combos, 0u) << "rank " << r << " idle";
  std::uint64_t steals = 0;
  for (int r = 0; r < 4; ++r) steals += d.rank_stats(r).steals;
  EXPECT_GT(steals, 0u);
}

TEST(Dispatcher, ResumedPlanSkipsDoneIds) {
  const Grid g = big_grid();
  std::vector<std::uint8_t> done(g.size(), 0);
  std::mt19937 rng(5);
  for (ComboId id = 0; id < g.size(); ++id) done[id] = (rng() % 4 != 0) ? 1 : 0;
  DispatchOptions o;
  o.max_unit = 512;
  o.slots = 6;
  const IdRanges done_ranges = IdRanges::from_flags(done);
  Dispatcher d(g, &done_ranges, 3, o);
  const auto grants = drain(d, 3, 9);
  expect_exact_cover(g, grants, &done);
}

// --write-path ranks: with align = R every unit begins and ends on a multiple of R, or on an edge
// of the ids to run (here a slice cut inside chunks at both ends, and whole chunks done before),
// so each storage chunk is computed by one rank; every id is still granted once, and units stay
// within their bounds when a chunk allows it.
TEST(Dispatcher, AlignedUnitsCoverWholeChunks) {
  const Grid g = big_grid();
  constexpr ComboId kAlign = 504;  // a quarter of a group
  const ComboId lo = 777, hi = g.size() - 333;
  std::vector<std::uint8_t> done(g.size(), 0);
  std::fill(done.begin(), done.begin() + lo, 1);
  std::fill(done.begin() + static_cast<std::ptrdiff_t>(hi), done.end(), 1);
  std::mt19937 rng(11);
  for (ComboId c = 0; c * kAlign < g.size(); ++c)
    if (rng() % 3 == 0)
      std::fill(done.begin() + static_cast<std::ptrdiff_t>(c * kAlign),
                done.begin() + static_cast<std::ptrdiff_t>(std::min(g.size(), (c + 1) * kAlign)),
                1);
  DispatchOptions o;
  o.max_unit = 1000;
  o.slots = 14;
  o.align = kAlign;
  const IdRanges done_ranges = IdRanges::from_flags(done);
  Dispatcher d(g, &done_ranges, 7, o);
  const auto grants = drain(d, 7, 21);
  expect_exact_cover(g, grants, &done);
  std::size_t multi = 0;
  for (const Granted& x : grants) {
    EXPECT_TRUE(x.unit.begin % kAlign == 0 || x.unit.begin == lo) << x.unit.begin;
    EXPECT_TRUE(x.unit.end % kAlign == 0 || x.unit.end == hi) << x.unit.end;
    EXPECT_LE(x.unit.end - x.unit.begin, 2 * kAlign) << "max_unit 1000 rounds to two chunks";
    multi += x.unit.end - x.unit.begin > kAlign ? 1 : 0;
  }
  EXPECT_GT(multi, 0u) << "no unit of two chunks";
}

TEST(Dispatcher, RefusesACompletionThatWasNotGranted) {
  const Grid g = small_grid();
  Dispatcher d(g, nullptr, 2, {});
  const std::optional<WorkUnit> u = d.grant(0);
  ASSERT_TRUE(u.has_value());
  EXPECT_THROW(d.completed(1, *u), std::logic_error);
  EXPECT_NO_THROW(d.completed(0, *u));
  EXPECT_THROW(d.completed(0, *u), std::logic_error);
}

}  // namespace
}  // namespace threadx::dist
