// A sweep's summary as the ranks build it: units spread over three ranks in a random order, their
// deltas taken at random moments and merged by the root in any order, through a checkpoint and
// its restore, give the one-process aggregates and kept rows bit for bit; ids covered twice and
// malformed bytes are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <vector>

#include "engine/plan.hpp"
#include "results/sweep_summary.hpp"
#include "support/real_rows.hpp"

namespace threadx {
namespace {

using testing::real_rows;

std::span<const Metrics> rows_of(const WorkUnit& u) {
  return std::span(real_rows().rows).subspan(u.begin, u.size());
}

// Units of the five real groups: varied sizes that split key groups (and so canonical blocks).
std::vector<WorkUnit> units(std::uint64_t max_unit) {
  std::vector<WorkUnit> out;
  for (const WorkUnit& u : plan_units(real_rows().grid, max_unit))
    if (u.begin < real_rows().n) out.push_back(u);
  return out;
}

TEST(SweepSummary, RanksDeltasAndACheckpointGiveTheOneProcessSummary) {
  const testing::RealRows& r = real_rows();
  const AggregateLayout layout(r.grid, AggregateSpec{});
  const KeepSpec keep = parse_keep("top:30:sharpe,top:10:max_drawdown");
  SweepSummary alone(r.grid, layout, keep, SweepSummary::Role::Root);
  for (const WorkUnit& u : units(4096)) alone.add(u, rows_of(u));
  const std::vector<std::int64_t> want = alone.aggregates().encode();

  std::mt19937_64 rng(3);
  for (const std::uint64_t max_unit : {700u, 300u}) {
    std::vector<WorkUnit> todo = units(max_unit);
    std::shuffle(todo.begin(), todo.end(), rng);
    std::vector<std::unique_ptr<SweepSummary>> ranks;
    for (int k = 0; k < 3; ++k)
      ranks.push_back(
          std::make_unique<SweepSummary>(r.grid, layout, keep, SweepSummary::Role::Rank));
    auto root = std::make_unique<SweepSummary>(r.grid, layout, keep, SweepSummary::Role::Root);
    std::vector<std::vector<std::byte>> in_flight;
    for (std::size_t k = 0; k < todo.size(); ++k) {
      ranks[rng() % 3]->add(todo[k], rows_of(todo[k]));
      if (rng() % 4 == 0) in_flight.push_back(ranks[rng() % 3]->take_delta());
      if (k == todo.size() / 2) {
        // The root is checkpointed and restored into a new one halfway through.
        for (const std::vector<std::byte>& d : in_flight)
          if (!d.empty()) root->merge(d);
        in_flight.clear();
        const std::vector<std::byte> cp = root->checkpoint();
        root = std::make_unique<SweepSummary>(r.grid, layout, keep, SweepSummary::Role::Root);
        root->merge(cp);
      }
    }
    for (auto& rank : ranks) in_flight.push_back(rank->take_delta());
    std::shuffle(in_flight.begin(), in_flight.end(), rng);
    for (const std::vector<std::byte>& d : in_flight)
      if (!d.empty()) root->merge(d);
    EXPECT_EQ(root->covered().count(), r.n);
    EXPECT_EQ(root->aggregates().encode(), want) << "units of at most " << max_unit;
    ASSERT_NE(root->keeper(), nullptr);
    EXPECT_EQ(root->keeper()->ids(), alone.keeper()->ids());
    EXPECT_EQ(root->keeper()->rows(), alone.keeper()->rows());
  }
}

TEST(SweepSummary, RefusesIdsTwiceAndMalformedBytes) {
  const testing::RealRows& r = real_rows();
  const AggregateLayout layout(r.grid, AggregateSpec{});
  const KeepSpec keep = parse_keep("none");
  const std::vector<WorkUnit> u = units(4096);
  SweepSummary rank(r.grid, layout, keep, SweepSummary::Role::Rank);
  rank.add(u[0], rows_of(u[0]));
  EXPECT_TRUE(SweepSummary(r.grid, layout, keep, SweepSummary::Role::Rank).take_delta().empty());
  const std::vector<std::byte> d = rank.take_delta();
  SweepSummary root(r.grid, layout, keep, SweepSummary::Role::Root);
  root.merge(d);
  EXPECT_THROW(root.merge(d), std::logic_error);  // the same unit twice
  EXPECT_EQ(root.covered().count(), u[0].size());
  std::vector<std::byte> cut(d.begin(), d.end() - 1);
  EXPECT_THROW(root.merge(cut), std::runtime_error);
  SweepSummary top_root(r.grid, layout, parse_keep("top:3:sharpe"), SweepSummary::Role::Root);
  SweepSummary top_rank(r.grid, layout, parse_keep("top:3:sharpe"), SweepSummary::Role::Rank);
  top_rank.add(u[1], rows_of(u[1]));
  EXPECT_THROW(root.merge(top_rank.take_delta()), std::runtime_error);  // kept rows, none wanted
}

}  // namespace
}  // namespace threadx
