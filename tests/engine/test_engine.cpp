// The engine end to end in memory: the unit planner's invariants, the kernel against the naive
// reference implementation on real BTC bars, SIMD lanes bit-identical to the scalar path, and
// results independent of thread count and unit size.
#include <gtest/gtest.h>

#include <random>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <span>
#include <stdexcept>

#include "data/loader.hpp"
#include "engine/cpu_backtest.hpp"
#include "engine/cpu_sweep.hpp"
#include "engine/plan.hpp"
#include "grid/grid.hpp"
#include "indicators/indicator_bank.hpp"
#include "strategies/bb_atr/spec.hpp"
#include "support/grids.hpp"
#include "support/paths.hpp"
#include "support/reference_backtest.hpp"
#include "support/same_bits.hpp"

namespace threadx {
namespace {

using testing::grid_2p9m;
using testing::mixed_grid;
using testing::same_bits;

void expect_close(double got, double want, const char* what, ComboId id) {
  if (std::isinf(want)) {
    EXPECT_EQ(got, want) << what << " id " << id;
    return;
  }
  const double tol = 1e-9 * std::max(1.0, std::fabs(want));
  EXPECT_NEAR(got, want, tol) << what << " id " << id;
}

TEST(Plan, UnitsCoverEveryIdOnceAndNeverCrossAGroup) {
  const Grid g = grid_2p9m();
  for (std::uint64_t size : {7u, 2016u, 2017u, 4096u, 700u}) {
    const std::vector<WorkUnit> units = plan_units(g, size);
    ComboId next = 0;
    for (const WorkUnit& u : units) {
      ASSERT_EQ(u.begin, next);
      ASSERT_LT(u.begin, u.end);
      ASSERT_LE(u.size(), size);
      ASSERT_EQ(u.group, u.begin / g.group_size());
      ASSERT_EQ(u.group, (u.end - 1) / g.group_size());
      next = u.end;
    }
    EXPECT_EQ(next, g.size());
  }
  // 2016 per group in units of <= 700: three near-equal parts of 672.
  const std::vector<WorkUnit> units = plan_units(g, 700);
  EXPECT_EQ(units.size(), 1440u * 3);
  EXPECT_EQ(units[0].size(), 672u);
}

TEST(Plan, DoneFlagsRemoveFinishedIds) {
  const Grid g = mixed_grid();
  std::vector<std::uint8_t> done(g.size(), 0);
  for (ComboId id = 0; id < g.size(); ++id) done[id] = (id % 3 == 0 || id / 100 == 5) ? 1 : 0;
  std::vector<std::uint8_t> seen(g.size(), 0);
  for (const WorkUnit& u : plan_units(g, 16, &done)) {
    ASSERT_LE(u.size(), 16u);
    ASSERT_EQ(u.group, u.begin / g.group_size());
    ASSERT_EQ(u.group, (u.end - 1) / g.group_size());
    for (ComboId id = u.begin; id < u.end; ++id) {
      ASSERT_EQ(done[id], 0) << id;
      ASSERT_EQ(seen[id]++, 0) << id;
    }
  }
  for (ComboId id = 0; id < g.size(); ++id) EXPECT_EQ(seen[id] + done[id], 1) << id;
  std::vector<std::uint8_t> all(g.size(), 1);
  EXPECT_TRUE(plan_units(g, 16, &all).empty());
}

// The planner as it was written over flags, one id at a time: the oracle for the ranges planner.
std::vector<WorkUnit> plan_by_flags(const Grid& g, std::uint64_t max_unit,
                                    const std::vector<std::uint8_t>& done) {
  std::vector<WorkUnit> out;
  for (ComboId grp = 0; grp < g.group_count(); ++grp) {
    const ComboId last = (grp + 1) * g.group_size();
    for (ComboId id = grp * g.group_size(); id < last;) {
      while (id < last && done[id] != 0) ++id;
      const ComboId begin = id;
      while (id < last && done[id] == 0) ++id;
      if (id == begin) continue;
      const std::uint64_t len = id - begin, parts = (len + max_unit - 1) / max_unit;
      ComboId at = begin;
      for (std::uint64_t p = 0; p < parts; ++p) {
        const ComboId n = len / parts + (p < len % parts ? 1 : 0);
        out.push_back({at, at + n, grp});
        at += n;
      }
    }
  }
  return out;
}

// The planner on ranges (what a grid of 10^10 ids uses): the units of the flags, including ranges
// that cross groups, start before a group or end after the grid.
TEST(Plan, DoneRangesGiveTheUnitsOfTheirFlags) {
  const Grid g = mixed_grid();
  const ComboId gs = g.group_size();
  std::mt19937 rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<std::uint8_t> done(g.size(), 0);
    IdRanges ranges;
    for (ComboId id = 0; id < g.size();) {
      const ComboId len = 1 + rng() % (trial % 2 ? 3 * gs : 40);
      const ComboId end = std::min<ComboId>(g.size(), id + len);
      if (rng() % 2) {
        ranges.add(id, end);
        for (ComboId x = id; x < end; ++x) done[x] = 1;
      }
      id = end;
    }
    EXPECT_EQ(IdRanges::from_flags(done), ranges);
    for (const std::uint64_t unit : {1ull, 16ull, 1000ull})
      EXPECT_EQ(plan_units(g, unit, ranges), plan_by_flags(g, unit, done)) << trial << " " << unit;
  }
  IdRanges everything;
  everything.add(0, g.size());
  EXPECT_TRUE(plan_units(g, 16, everything).empty());
}

// Runs ids through run_unit_cpu one group at a time and checks each against the reference.
void check_against_reference(const Grid& g, const BarSeries& bars,
                             const std::vector<ComboId>& ids) {
  IndicatorBank bank(bars);
  std::size_t with_trades = 0;
  for (ComboId id : ids) {
    const bb_atr::Params p = bb_atr::decode(g.values_of(id));
    Metrics got{};
    run_unit_cpu({g, bank}, {id, id + 1, id / g.group_size()}, &got, Isa::Scalar);
    const auto ind = testing::reference_indicators(bars.high, bars.low, bars.close, p.bb_period,
                                                   p.atr_period, p.trend_period);
    const auto ref = testing::reference_backtest(bars.close, ind, p, bars.bars_per_year());
    const Metrics& w = ref.metrics;
    ASSERT_EQ(got.trades, w.trades) << "id " << id;
    with_trades += w.trades > 0;
    expect_close(got.total_return, w.total_return, "total_return", id);
    expect_close(got.sharpe, w.sharpe, "sharpe", id);
    expect_close(got.sortino, w.sortino, "sortino", id);
    expect_close(got.max_drawdown, w.max_drawdown, "max_drawdown", id);
    expect_close(got.win_rate, w.win_rate, "win_rate", id);
    expect_close(got.profit_factor, w.profit_factor, "profit_factor", id);
    expect_close(got.expectancy, w.expectancy, "expectancy", id);
    expect_close(got.exposure, w.exposure, "exposure", id);
    expect_close(got.fees, w.fees, "fees", id);
    expect_close(got.final_equity, w.final_equity, "final_equity", id);
  }
  EXPECT_GT(with_trades, ids.size() / 2) << "the sample should mostly trade";
}

TEST(EngineVsReference, Reference24GridOnRealBars) {
  const BarSeries bars = load_bars({testing::btc_960()});
  const Grid g = parse_grid_file(testing::repo_path("data/grids/reference_24.toml"));
  std::vector<ComboId> ids(g.size());
  std::iota(ids.begin(), ids.end(), 0);
  check_against_reference(g, bars, ids);
}

TEST(EngineVsReference, SampleOfProductionGridOnRealBars) {
  const BarSeries bars = load_bars({testing::btc_960()});
  const Grid g = grid_2p9m();
  std::vector<ComboId> ids;
  for (ComboId id = 17; id < g.size(); id += 9973) ids.push_back(id);
  check_against_reference(g, bars, ids);
}

TEST(EngineVsReference, EveryParameterSweptOnRealBars) {
  const BarSeries bars = load_bars({testing::btc_960()});
  const Grid g = mixed_grid();
  std::vector<ComboId> ids;
  for (ComboId id = 0; id < g.size(); id += 5) ids.push_back(id);
  check_against_reference(g, bars, ids);
}

TEST(EngineVsReference, LongHistoryOnRealBars) {
  const BarSeries bars = load_bars({testing::btc_49632()});
  const Grid g = grid_2p9m();
  std::vector<ComboId> ids;
  for (ComboId id = 1234; id < g.size(); id += 290'011) ids.push_back(id);
  check_against_reference(g, bars, ids);
}

// Every lane path this binary and CPU can run (sse2 at least; avx2 and avx512 where the CPU has
// them): each must give the scalar path's bits.
std::vector<Isa> lane_paths() {
  std::vector<Isa> out;
  for (Isa isa : supported_isas())
    if (isa != Isa::Scalar) out.push_back(isa);
  return out;
}

TEST(SimdLanes, EveryPathThisCpuRunsIsTested) {
  const std::vector<Isa> paths = lane_paths();
  ASSERT_FALSE(paths.empty());
  EXPECT_EQ(paths.back(), Isa::Baseline);
  std::cout << "lane paths tested against scalar:";
  for (Isa isa : paths) std::cout << ' ' << isa_name(isa);
  std::cout << '\n';
}

TEST(SimdLanes, BitIdenticalToScalarPath) {
  const BarSeries bars = load_bars({testing::btc_960()});
  IndicatorBank bank(bars);
  for (Isa isa : lane_paths())
    for (const Grid& g : {grid_2p9m(), mixed_grid()}) {
      // Whole groups, and a unit with a ragged tail (size not a multiple of the lane count).
      std::vector<WorkUnit> units;
      for (ComboId group : {ComboId{0}, g.group_count() / 2, g.group_count() - 1})
        units.push_back({group * g.group_size(), (group + 1) * g.group_size(), group});
      units.push_back({3, std::min<ComboId>(g.group_size(), 3 + 13), 0});
      for (const WorkUnit& u : units) {
        std::vector<Metrics> simd(u.size()), scalar(u.size());
        run_unit_cpu({g, bank}, u, simd.data(), isa);
        run_unit_cpu({g, bank}, u, scalar.data(), Isa::Scalar);
        for (std::size_t k = 0; k < u.size(); ++k)
          ASSERT_TRUE(same_bits(simd[k], scalar[k])) << isa_name(isa) << " id " << u.begin + k;
      }
    }
}

// Lanes of one SIMD block with different band widths k: the block may skip only bars where no
// lane's k has a signal (the union of the per-k candidate lists), and must match the scalar path.
TEST(SimdLanes, MixedBandWidthsInOneBlockBitIdenticalToScalarPath) {
  const BarSeries bars = load_bars({testing::btc_960()});
  IndicatorBank bank(bars);
  const Grid g = parse_grid_text(R"(strategy = "bb_atr"
[grid]
bb_period = [12, 30]
bb_std = [1.0, 1.75, 2.5, 3.25, 4.0]
atr_period = [10]
trend_period = [0, 40]
)",
                                 "mixed_k.toml");
  ASSERT_EQ(g.group_size(), 5u);
  std::int64_t trades = 0;
  for (Isa isa : lane_paths())
    for (ComboId group = 0; group < g.group_count(); ++group) {
      const WorkUnit u{group * g.group_size(), (group + 1) * g.group_size(), group};
      // Every block of this unit holds several k values: each id is its own bb_std.
      ASSERT_NE(bb_atr::decode(g.values_of(u.begin)).bb_std,
                bb_atr::decode(g.values_of(u.begin + 1)).bb_std);
      std::vector<Metrics> simd(u.size()), scalar(u.size());
      run_unit_cpu({g, bank}, u, simd.data(), isa);
      run_unit_cpu({g, bank}, u, scalar.data(), Isa::Scalar);
      for (std::size_t k = 0; k < u.size(); ++k) {
        ASSERT_TRUE(same_bits(simd[k], scalar[k])) << isa_name(isa) << " id " << u.begin + k;
        trades += scalar[k].trades;
      }
    }
  EXPECT_GT(trades, 0) << "the comparison should cover trades";
}

// The long history: many trades per combination, so lanes fall in and out of step often.
TEST(SimdLanes, LongHistoryBitIdenticalToScalarPath) {
  const BarSeries bars = load_bars({testing::btc_49632()});
  IndicatorBank bank(bars);
  const Grid g = grid_2p9m();
  for (ComboId group : {ComboId{0}, ComboId{777}, g.group_count() - 1}) {
    // Part of the group: every bb_std and atr_multiplier value would take too long in a test.
    const WorkUnit u{group * g.group_size() + 1, group * g.group_size() + 1 + 70, group};
    std::vector<Metrics> scalar(u.size());
    run_unit_cpu({g, bank}, u, scalar.data(), Isa::Scalar);
    for (Isa isa : lane_paths()) {
      std::vector<Metrics> simd(u.size());
      run_unit_cpu({g, bank}, u, simd.data(), isa);
      for (std::size_t k = 0; k < u.size(); ++k)
        ASSERT_TRUE(same_bits(simd[k], scalar[k])) << isa_name(isa) << " id " << u.begin + k;
    }
    for (std::size_t k = 0; k < u.size(); ++k) {
      EXPECT_GT(scalar[k].trades, 10) << "id " << u.begin + k;
    }
  }
}

class MemorySink final : public ResultSink {
 public:
  explicit MemorySink(ComboId n) : rows(n), writes(n, 0) {}
  void write(const WorkUnit& u, const RowsView& r) override {
    const auto s = static_cast<std::size_t>(r.block_count);
    if (s > 0) blocks.resize(rows.size() * s);
    for (std::size_t k = 0; k < r.size(); ++k) {
      rows[u.begin + k] = r.metrics[k];
      std::copy_n(r.blocks.begin() + static_cast<std::ptrdiff_t>(k * s), s,
                  blocks.begin() + static_cast<std::ptrdiff_t>((u.begin + k) * s));
      ++writes[u.begin + k];
    }
  }
  void flush() override { ++flushes; }
  std::vector<Metrics> rows;
  std::vector<BlockStats> blocks;  // S per row, when the rows carry blocks
  std::vector<int> writes;
  int flushes = 0;
};

TEST(CpuSweep, SameRowsForAnyThreadCountAndUnitSize) {
  const BarSeries bars = load_bars({testing::btc_960()});
  const Grid g = mixed_grid();
  std::vector<Metrics> baseline;
  for (auto [threads, unit] :
       {std::pair{1u, 4096u}, std::pair{2u, 7u}, std::pair{5u, 1u}, std::pair{3u, 100u}}) {
    IndicatorBank bank(bars);
    MemorySink sink(g.size());
    CpuSweepOptions o;
    o.threads = threads;
    const std::vector<WorkUnit> units = plan_units(g, unit);
    const CpuSweepReport r = run_cpu_sweep({g, bank}, units, sink, o);
    EXPECT_EQ(r.combos_done, g.size());
    EXPECT_FALSE(r.stopped);
    EXPECT_GE(sink.flushes, 1);
    for (int w : sink.writes) ASSERT_EQ(w, 1);
    if (baseline.empty()) {
      baseline = sink.rows;
      continue;
    }
    for (ComboId id = 0; id < g.size(); ++id)
      ASSERT_TRUE(same_bits(sink.rows[id], baseline[id])) << threads << "/" << unit << " id " << id;
  }
}

TEST(CpuSweep, StopFlagEndsEarlyAndKeepsFinishedUnits) {
  const BarSeries bars = load_bars({testing::btc_960()});
  const Grid g = mixed_grid();
  IndicatorBank bank(bars);
  MemorySink sink(g.size());
  std::atomic<bool> stop{false};
  CpuSweepOptions o;
  o.threads = 2;
  o.run.stop = &stop;
  o.run.progress_interval_s = 1e-9;
  int calls = 0;
  o.run.on_progress = [&](const SweepProgress& p) {
    if (++calls == 3) stop = true;  // stop from the consumer thread, mid-run
    EXPECT_LE(p.combos_done, p.combos_total);
  };
  const std::vector<WorkUnit> units = plan_units(g, 8);
  const CpuSweepReport r = run_cpu_sweep({g, bank}, units, sink, o);
  EXPECT_TRUE(r.stopped);
  EXPECT_LT(r.combos_done, g.size());
  std::uint64_t written = 0;
  for (int w : sink.writes) written += static_cast<std::uint64_t>(w);
  EXPECT_EQ(written, r.combos_done);
}

class FailingSink final : public ResultSink {
 public:
  void write(const WorkUnit&, const RowsView&) override {
    if (++n == 2) throw std::runtime_error("disk full");
  }
  void flush() override {}
  int n = 0;
};

TEST(CpuSweep, SinkErrorStopsTheRunAndIsRethrown) {
  const BarSeries bars = load_bars({testing::btc_960()});
  const Grid g = mixed_grid();
  IndicatorBank bank(bars);
  FailingSink sink;
  CpuSweepOptions o;
  o.threads = 2;
  const std::vector<WorkUnit> units = plan_units(g, 8);
  EXPECT_THROW(run_cpu_sweep({g, bank}, units, sink, o), std::runtime_error);
}

// A progress callback that throws (say, its output is closed) ends the run like a sink error:
// the workers are stopped and joined, and the error reaches the caller (it once escaped with the
// worker threads still running: std::terminate).
TEST(CpuSweep, ProgressCallbackErrorStopsTheRunAndIsRethrown) {
  const BarSeries bars = load_bars({testing::btc_960()});
  const Grid g = mixed_grid();
  IndicatorBank bank(bars);
  MemorySink sink(g.size());
  CpuSweepOptions o;
  o.threads = 2;
  o.run.progress_interval_s = 1e-9;
  o.run.on_progress = [](const SweepProgress&) { throw std::runtime_error("stdout closed"); };
  const std::vector<WorkUnit> units = plan_units(g, 8);
  EXPECT_THROW(run_cpu_sweep({g, bank}, units, sink, o), std::runtime_error);
}

// A source that fails after handing out `good` units (a worker's error).
class FailingSource final : public WorkSource {
 public:
  FailingSource(std::span<const WorkUnit> units, std::size_t good) : units_(units), good_(good) {}
  std::optional<WorkUnit> next() override {
    std::lock_guard lock(mutex_);
    if (next_ == good_) throw std::runtime_error("source failed");
    if (next_ == units_.size()) return std::nullopt;
    return units_[next_++];
  }

 private:
  std::mutex mutex_;
  std::span<const WorkUnit> units_;
  std::size_t good_, next_ = 0;
};

// A worker's error stops the run and is rethrown, after every unit finished before it is written
// (a resume then does not redo them): here the units handed out before the failure.
TEST(CpuSweep, WorkerErrorIsRethrownAfterTheFinishedUnitsAreWritten) {
  const BarSeries bars = load_bars({testing::btc_960()});
  const Grid g = mixed_grid();
  IndicatorBank bank(bars);
  MemorySink sink(g.size());
  const std::vector<WorkUnit> units = plan_units(g, 8);
  ASSERT_GT(units.size(), 12u);
  FailingSource source(units, 12);
  CpuSweepOptions o;
  o.threads = 2;
  EXPECT_THROW(run_cpu_sweep({g, bank}, source, sink, o), std::runtime_error);
  std::size_t written = 0;
  for (std::size_t k = 0; k < units.size(); ++k) {
    const bool all = std::all_of(sink.writes.begin() + static_cast<std::ptrdiff_t>(units[k].begin),
                                 sink.writes.begin() + static_cast<std::ptrdiff_t>(units[k].end),
                                 [](int w) { return w == 1; });
    if (k < 12) {
      EXPECT_TRUE(all) << "unit " << k << " was finished but not written";
    }
    written += all ? 1 : 0;
  }
  EXPECT_EQ(written, 12u);
}

}  // namespace
}  // namespace threadx
