// A sweep's in-job aggregates: hand-checked cells on a 12-combination grid (counts, sums, ties
// to the smaller id, non-finite values, the histogram), real rows of the production grid against
// a direct per-row computation, and the same bits for any split into runs, order and threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "grid/grid.hpp"
#include "results/aggregates.hpp"
#include "support/real_rows.hpp"

namespace threadx {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::size_t kSharpe = 1, kProfitFactor = 6;

// bb_period [10, 20] x bb_std [1, 2, 3] x atr_period [5, 7]: id = (x_bb * 2 + x_atr) * 3 + x_std
// (SWEEP.md: bb_period, atr_period, then bb_std); key groups of 3 (the bb_std values).
Grid small_grid() {
  return parse_grid_text(
      "[grid]\nbb_period = [10, 20]\nbb_std = [1.0, 2.0, 3.0]\natr_period = [5, 7]\n", "g.toml");
}

// Sharpe of combination id; ids 5 and 10 tie for the largest (9), ids 4 and 8 for the smallest.
const std::vector<double> kSharpes{3, -1, 4, 1, -5, 9, 2, 6, -5, 3, 9, 8};

std::vector<Metrics> small_rows() {
  std::vector<Metrics> rows(kSharpes.size());
  for (std::size_t id = 0; id < rows.size(); ++id) {
    Metrics& m = rows[id];
    m = Metrics{0.01 * static_cast<double>(id), kSharpes[id], 0, 0.1, 10, 0.5, 2.0, 1, 0.5, 3, 1e4};
    if (id == 3) m.profit_factor = kInf;  // no losing trade
    if (id == 7) m.sharpe = std::numeric_limits<double>::quiet_NaN();
  }
  return rows;
}

TEST(SweepAggregates, CellsOfAHandCheckedGrid) {
  const Grid g = small_grid();
  AggregateSpec spec;
  spec.block_rows = 2;  // blocks [0,2) [2,3) [3,5) [5,6) ...: every group of 3 is split
  const AggregateLayout layout(g, spec);
  ASSERT_EQ(layout.axes().size(), 3u);  // bb_period, bb_std, atr_period (table order)
  EXPECT_EQ(layout.cell_count(), 2u + 3u + 2u + 2u * 3u + 2u * 2u + 3u * 2u);
  EXPECT_EQ(layout.block_of(4), (std::pair<ComboId, ComboId>{3, 5}));
  EXPECT_EQ(layout.block_of(5), (std::pair<ComboId, ComboId>{5, 6}));

  const std::vector<Metrics> rows = small_rows();
  AggregateBuilder b(g, layout);
  b.add(0, rows);
  const SweepAggregates a = b.finish();
  EXPECT_EQ(a.combinations(), 12u);

  // Axis 0 (bb_period) = 10: ids 0..5, sharpes 3 -1 4 1 -5 9.
  const MetricStats& s = a.stats(layout.single(0, 0), kSharpe);
  EXPECT_EQ(s.count, 6u);
  EXPECT_EQ(s.sum.value(), 11.0);
  EXPECT_EQ(s.sumsq.value(), 133.0);
  EXPECT_EQ(s.max, 9.0);
  EXPECT_EQ(s.max_id, 5u);
  EXPECT_EQ(s.min, -5.0);
  EXPECT_EQ(s.min_id, 4u);
  // Axis 2 (atr_period) = 7: ids 3 4 5 9 10 11: 1 -5 9 3 9 8; the tie for 9 goes to id 5.
  const MetricStats& t = a.stats(layout.single(2, 1), kSharpe);
  EXPECT_EQ(t.count, 6u);
  EXPECT_EQ(t.sum.value(), 25.0);
  EXPECT_EQ(t.max_id, 5u);
  EXPECT_EQ(t.min_id, 4u);
  // Whole sharpe column: the NaN of id 7 is not counted; -5 ties between ids 4 and 8.
  std::uint64_t all = 0;
  for (std::size_t i = 0; i < 2; ++i) all += a.stats(layout.single(0, i), kSharpe).count;
  EXPECT_EQ(all, 11u);
  const MetricStats& high = a.stats(layout.single(0, 1), kSharpe);  // ids 6..11, 7 is NaN
  EXPECT_EQ(high.count, 5u);
  EXPECT_EQ(high.sum.value(), 2.0 - 5 + 3 + 9 + 8);
  EXPECT_EQ(high.min_id, 8u);
  // Pair (bb_period, bb_std) = (20, 1.0): ids 6 and 9, sharpes 2 and 3.
  const MetricStats& p = a.stats(layout.pair(0, 1, 1, 0), kSharpe);
  EXPECT_EQ(p.count, 2u);
  EXPECT_EQ(p.sum.value(), 5.0);
  EXPECT_EQ(p.max_id, 9u);
  EXPECT_EQ(p.min_id, 6u);
  // Pair (bb_std, atr_period) = (2.0, 7): ids 4 and 10.
  const MetricStats& q = a.stats(layout.pair(1, 2, 1, 1), kSharpe);
  EXPECT_EQ(q.count, 2u);
  EXPECT_EQ(q.sum.value(), 4.0);
  // profit_factor: the +inf of id 3 is left out of axis 0 = 10.
  EXPECT_EQ(a.stats(layout.single(0, 0), kProfitFactor).count, 5u);
  // Histogram of sharpe over [-10, 10) in 0.1 bins: 9 lands in bin 190 (twice), -5 in bin 50.
  const std::vector<std::uint64_t>& h = a.histogram();
  ASSERT_EQ(h.size(), 203u);
  EXPECT_EQ(h[190], 2u);
  EXPECT_EQ(h[50], 2u);
  EXPECT_EQ(h[202], 1u);  // not a number: id 7
  std::uint64_t total = 0;
  for (const std::uint64_t c : h) total += c;
  EXPECT_EQ(total, 12u);
}

TEST(SweepAggregates, BuilderChecksItsInput) {
  const Grid g = small_grid();
  AggregateSpec spec;
  spec.block_rows = 2;
  const AggregateLayout layout(g, spec);
  const std::vector<Metrics> rows = small_rows();
  AggregateBuilder b(g, layout);
  b.add(0, std::span(rows).first(4));  // ids 0..3: block [3,5) is open
  EXPECT_EQ(b.open_blocks(), 1u);
  EXPECT_THROW(b.add(3, std::span(rows).subspan(3, 1)), std::logic_error);  // id 3 again
  EXPECT_THROW(b.add(11, std::span(rows).first(2)), std::logic_error);      // past the end
  EXPECT_THROW((void)b.finish(), std::logic_error);
  EXPECT_EQ(b.finish(/*allow_open=*/true).combinations(), 3u);
  BlockSummarizer bs(layout);
  SweepAggregates a(layout);
  EXPECT_THROW(bs.add_block(g, 1, std::span(rows).subspan(1, 2), a), std::logic_error);
}

TEST(SweepAggregates, EncodingRoundTripsAndIsChecked) {
  const Grid g = small_grid();
  const AggregateLayout layout(g, AggregateSpec{});
  AggregateBuilder b(g, layout);
  const std::vector<Metrics> rows = small_rows();
  b.add(0, rows);
  const SweepAggregates a = b.finish();
  const std::vector<std::int64_t> e = a.encode();
  EXPECT_TRUE(SweepAggregates::decode(layout, e) == a);
  std::vector<std::int64_t> bad = e;
  bad.pop_back();
  EXPECT_THROW((void)SweepAggregates::decode(layout, bad), std::invalid_argument);
  bad = e;
  bad.push_back(0);
  EXPECT_THROW((void)SweepAggregates::decode(layout, bad), std::invalid_argument);
  const Grid other = parse_grid_text("[grid]\nbb_period = [10, 20, 30]\n", "o.toml");
  const AggregateLayout other_layout(other, AggregateSpec{});
  EXPECT_THROW((void)SweepAggregates::decode(other_layout, e), std::invalid_argument);
}

using testing::RealRows;

const RealRows& real() {
  return testing::real_rows();
}

// Block sizes: a sixteenth of a key group (the slow non-key axes constant in a block), about half
// of one (the default), the whole group.
class SweepAggregatesBlocks : public ::testing::TestWithParam<std::uint64_t> {
 protected:
  // The real rows' grid with blocks of GetParam() rows.
  static AggregateLayout layout_of(const Grid& grid) {
    AggregateSpec spec;
    spec.block_rows = GetParam();
    return AggregateLayout(grid, spec);
  }
};

TEST_P(SweepAggregatesBlocks, RealRowsMatchADirectComputation) {
  const RealRows& r = real();
  const AggregateLayout layout = layout_of(r.grid);
  AggregateBuilder b(r.grid, layout);
  b.add(0, r.rows);
  const SweepAggregates a = b.finish();
  ASSERT_EQ(a.combinations(), r.n);
  // Direct: every row into every cell it belongs to, sums in long double.
  struct Direct {
    std::uint64_t count = 0;
    long double sum = 0, sumsq = 0;
    double max = -kInf, min = kInf;
    ComboId max_id = 0, min_id = 0;
  };
  std::vector<Direct> d(layout.cell_count() * kAggMetrics);
  const std::vector<std::size_t>& axes = layout.axes();
  for (ComboId id = 0; id < r.n; ++id) {
    const ParamIndex idx = r.grid.indices_of(id);
    std::vector<std::size_t> cells;
    for (std::size_t x = 0; x < axes.size(); ++x) {
      cells.push_back(layout.single(x, idx[axes[x]]));
      for (std::size_t y = x + 1; y < axes.size(); ++y)
        cells.push_back(layout.pair(x, y, idx[axes[x]], idx[axes[y]]));
    }
    for (const std::size_t c : cells)
      for (std::size_t m = 0; m < kAggMetrics; ++m) {
        const double v = metric_value(r.rows[id], m);
        if (!std::isfinite(v)) continue;
        Direct& e = d[c * kAggMetrics + m];
        ++e.count;
        e.sum += v;
        e.sumsq += static_cast<long double>(v) * v;
        if (v > e.max) {
          e.max = v;
          e.max_id = id;
        }
        if (v < e.min) {
          e.min = v;
          e.min_id = id;
        }
      }
  }
  std::size_t nonempty = 0;
  for (std::size_t c = 0; c < layout.cell_count(); ++c)
    for (std::size_t m = 0; m < kAggMetrics; ++m) {
      const Direct& e = d[c * kAggMetrics + m];
      const MetricStats& s = a.stats(c, m);
      ASSERT_EQ(s.count, e.count) << "cell " << c << " metric " << kMetrics[m].name;
      if (e.count == 0) continue;
      ++nonempty;
      ASSERT_EQ(s.max, e.max) << c << ' ' << m;
      ASSERT_EQ(s.max_id, e.max_id) << c << ' ' << m;
      ASSERT_EQ(s.min, e.min) << c << ' ' << m;
      ASSERT_EQ(s.min_id, e.min_id) << c << ' ' << m;
      const double scale =
          static_cast<double>(e.count) * std::max(std::fabs(e.max), std::fabs(e.min));
      ASSERT_NEAR(s.sum.value(), static_cast<double>(e.sum), 1e-12 * scale + 1e-300)
          << c << ' ' << m;
      ASSERT_NEAR(s.sumsq.value(), static_cast<double>(e.sumsq),
                  1e-12 * scale * std::max(std::fabs(e.max), std::fabs(e.min)) + 1e-300)
          << c << ' ' << m;
    }
  EXPECT_GT(nonempty, 1000u);
}

TEST_P(SweepAggregatesBlocks, SameBitsForAnySplitOrderAndThreads) {
  const RealRows& r = real();
  const AggregateLayout layout = layout_of(r.grid);
  AggregateBuilder whole(r.grid, layout);
  whole.add(0, r.rows);
  const std::vector<std::int64_t> reference = whole.finish().encode();
  std::mt19937_64 rng(5);
  for (const unsigned threads : {1u, 3u}) {
    // Runs of 1..3000 ids, in a random order, spread over `threads` threads.
    std::vector<std::pair<ComboId, ComboId>> runs;
    for (ComboId at = 0; at < r.n;) {
      const ComboId end = std::min<ComboId>(r.n, at + 1 + rng() % 3000);
      runs.emplace_back(at, end);
      at = end;
    }
    std::shuffle(runs.begin(), runs.end(), rng);
    AggregateBuilder b(r.grid, layout);
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (std::size_t k = t; k < runs.size(); k += threads)
          b.add(runs[k].first,
                std::span(r.rows).subspan(runs[k].first, runs[k].second - runs[k].first));
      });
    for (std::thread& th : pool) th.join();
    EXPECT_EQ(b.open_blocks(), 0u);
    EXPECT_EQ(b.finish().encode(), reference)
        << threads << " thread(s), " << runs.size() << " runs";
  }
  // Two builders (two ranks) merged in either order.
  AggregateBuilder x(r.grid, layout), y(r.grid, layout);
  const ComboId half = 2 * r.grid.group_size();  // a group boundary: no block is split
  x.add(0, std::span(r.rows).first(half));
  y.add(half, std::span(r.rows).subspan(half));
  SweepAggregates xy = x.finish(), yx = y.finish();
  xy.merge(y.finish());
  yx.merge(x.finish());
  EXPECT_EQ(xy.encode(), reference);
  EXPECT_EQ(yx.encode(), reference);
}

INSTANTIATE_TEST_SUITE_P(BlockRows, SweepAggregatesBlocks, ::testing::Values(126, 1024, 4096));

}  // namespace
}  // namespace threadx
