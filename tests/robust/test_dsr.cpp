// The Deflated Sharpe Ratio (docs/ROBUST.md, "Deflated Sharpe Ratio"), worked by hand: the
// contract's check value, SR over all blocks, the trial count N_t over distinct streams, V, SR0,
// the selected combination's moments, the NaN cases, and the top-K selection with its merge.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "robust/dsr.hpp"
#include "robust/normal.hpp"
#include "robust/sharpe.hpp"
#include "robust/streams.hpp"
#include "robust_support.hpp"

namespace threadx::robust {
namespace {

using testing::block_of;
using testing::OwnedMatrix;
using testing::same_bits;

void expect_relative(double got, double want, double rel) {
  EXPECT_LE(std::fabs(got - want), rel * std::fabs(want)) << got << " vs " << want;
}

// The contract's check value (the paper's example, per bar with 250 bars a year):
//   N_t = 100, V = 0.5/250 = 0.002, sqrt(V) = 0.044721359549995794
//   Z(1 - 1/100) = Z(0.99) = 2.3263478740408408
//   Z(1 - 1/(100 e)) = Z(0.9963212055882856) = 2.680210444966887
//   SR0 = 0.0447213595 * (0.4227843351 * 2.3263478740 + 0.5772156649 * 2.6802104450)
//       = 0.0447213595 * (0.9835434391 + 1.5470594541) = 0.0447213595 * 2.5306028932
//       = 0.11317200186513214                                             -> 0.1132
//   SR* = 2.5 / sqrt(250) = 0.15811388300841897, T = 1250, g3 = -3, g4 = 10:
//   argument = 1 - (-3)(0.158113883) + (10 - 1)/4 * 0.025 = 1 + 0.474341649 + 0.05625
//            = 1.530591649025257
//   z = (0.158113883 - 0.113172002) * sqrt(1249) / sqrt(1.530591649)
//     = 0.044941881 * 35.341194094 / 1.237170825 = 1.2838160365336546
//   DSR = Phi(1.28381604) = 0.9003968344493904                             -> 0.900
TEST(RobustDsr, CheckValueOfTheContract) {
  const double sr0 = expected_max_sharpe(100, 0.5 / 250.0);
  EXPECT_NEAR(sr0, 0.1132, 0.5e-4);  // to the digits the contract shows
  expect_relative(sr0, 0.11317200186513214, 1e-14);
  const double sr = 2.5 / std::sqrt(250.0);
  const double dsr = probabilistic_sharpe(sr, sr0, 1250, -3.0, 10.0);
  EXPECT_NEAR(dsr, 0.900, 0.5e-3);
  expect_relative(dsr, 0.9003968344493904, 1e-13);
  // Excess kurtosis (g4 - 3 = 7) in place of the kurtosis would give another figure:
  // argument 1 + 0.474341649 + 6/4 * 0.025 = 1.511841649, z = 1.2917, DSR = 0.9018.
  EXPECT_GT(std::fabs(probabilistic_sharpe(sr, sr0, 1250, -3.0, 7.0) - dsr), 1e-3);
}

// SR0 with few trials. N_t = 2: Z(1 - 1/2) = 0, so SR0 = sqrt(V) * g * Z(1 - 1/(2e));
// V = 0.125: 0.3535533905932738 * 0.5772156649015329 * 0.9004525966377903 = 0.1837612642493783.
// N_t < 2: SR0 = 0 whatever V (no luck to deflate by).
TEST(RobustDsr, ExpectedMaximumWithFewTrials) {
  expect_relative(expected_max_sharpe(2, 0.125), 0.1837612642493783, 1e-14);
  EXPECT_TRUE(same_bits(expected_max_sharpe(1, 0.125), 0.0));
  EXPECT_TRUE(same_bits(expected_max_sharpe(1, std::numeric_limits<double>::quiet_NaN()), 0.0));
  EXPECT_TRUE(same_bits(expected_max_sharpe(0, 0.125), 0.0));
  // V = 0 (every trial has the same Sharpe ratio): SR0 = 0.
  EXPECT_EQ(expected_max_sharpe(100, 0.0), 0.0);
}

// Six combinations, S = 4 blocks of one return each (n_b = 1, T = 4), returns per block:
//   id 0: (-1, 0, 0,  3)   equity 1000.., 1 trade per block
//   id 1: ( 1, 1, 1,  1)   constant: s1 = 4, s2 = 4, var = (4 - 16/4)/3 = 0 -> SR = 0
//   id 2: ( 3, 0, 0, -1)   id 0's returns in another order: the same whole-run sums (s1 = 2,
//                          s2 = 10, both exact), so the same SR, but other block sums: another
//                          stream
//   id 3: (-1, 0, 0,  3)   id 0's stream (its equity and trades differ: not part of a stream)
//   id 4: ( 2, 0, 2,  0)   s1 = 4, s2 = 8, var = (8 - 16/4)/3 = 4/3, SR = 1/sqrt(4/3) = sqrt(3)/2
//   id 5: ( 0, 0, 0,  0)   never trades: s1 = s2 = 0, var = 0 -> SR = 0
// id 0: n = 4, s1 = 2, s2 = 10, var = (10 - 4/4)/3 = 3, SR = 0.5/sqrt(3) = a = 0.2886751345948129,
// and id 4's SR is 3a = 0.8660254037844387 (one ulp above the double of sqrt(3)/2).
OwnedMatrix hand_matrix() {
  OwnedMatrix m;
  m.blocks = 4;
  m.n_b = {1, 1, 1, 1};
  const std::vector<std::vector<double>> x = {{-1, 0, 0, 3}, {1, 1, 1, 1}, {3, 0, 0, -1},
                                              {-1, 0, 0, 3}, {2, 0, 2, 0}, {0, 0, 0, 0}};
  for (std::size_t r = 0; r < x.size(); ++r) {
    std::vector<BlockStats> cells;
    double equity = 1000;
    for (const double v : x[r]) {
      equity *= 1.0 + v;
      cells.push_back(block_of({v}, equity, r == 3 ? 2 : 1));
    }
    m.add_row(cells);
  }
  m.capital = {1000};
  return m;
}

constexpr double kA = 0.2886751345948129;  // 0.5 / sqrt(3)
constexpr double kB = 0.8660254037844387;  // 1 / sqrt(4/3)

TEST(RobustDsr, WholeRunAndBlockSharpeOfTheHandMatrix) {
  const OwnedMatrix m = hand_matrix();
  const BlockMatrix v = m.view();
  const double whole[] = {kA, 0.0, kA, kA, kB, 0.0};
  for (std::int64_t r = 0; r < v.rows(); ++r)
    EXPECT_TRUE(same_bits(whole_run_sharpe(v.row(r), v.returns_per_block), whole[r])) << r;
  // id 0, J = {0, 3}: returns -1, 3: n = 2, s1 = 2, s2 = 10, var = (10 - 4/2)/1 = 8,
  // SR = 1/sqrt(8) = 0.35355339059327373.
  EXPECT_EQ(sharpe_of_blocks(v.row(0), v.returns_per_block, 0b1001), 0.35355339059327373);
  // id 0, J = {3}: a single return, n = 1 < 2: SR = 0.
  EXPECT_TRUE(same_bits(sharpe_of_blocks(v.row(0), v.returns_per_block, 0b1000), 0.0));
  // id 4, J = {1, 3}: returns 0, 0: var = 0 -> SR = 0.
  EXPECT_TRUE(same_bits(sharpe_of_blocks(v.row(4), v.returns_per_block, 0b1010), 0.0));
  // id 4, J = {0, 2}: returns 2, 2: var = (8 - 16/2)/1 = 0 -> SR = 0, not a division by zero.
  EXPECT_TRUE(same_bits(sharpe_of_blocks(v.row(4), v.returns_per_block, 0b0101), 0.0));
  // id 2, J = {0, 3}: returns 3, -1: var = 8, SR = 0.35355339059327373 as id 0's.
  EXPECT_EQ(sharpe_of_blocks(v.row(2), v.returns_per_block, 0b1001), 0.35355339059327373);
}

// Trials: the 6 combinations are 5 streams ({0, 3}, {1}, {2}, {4}, {5}), N_t = 5, not 6.
// V over one SR per stream, in stream order (a, 0, a, 3a, 0): mean = 5a/5 = a, centred
// squares 0 + a^2 + 0 + 4a^2 + a^2 = 6a^2, V = 6a^2 / 4 = 1.5 * (1/12) = 0.125 (exact in doubles).
// Counting the 6 combinations would give (a, 0, a, a, 3a, 0): V = 6a^2 / 5 = 0.1.
// SR0 = sqrt(0.125) * (0.4227843351 * Z(0.8) + 0.5772156649 * Z(1 - 1/(5e)))
//     = 0.3535533906 * (0.4227843351 * 0.8416212336 + 0.5772156649 * 1.4496656592)
//     = 0.3535533906 * 1.1926056047 = 0.4216456526599769.
TEST(RobustDsr, TrialsAreDistinctStreams) {
  const OwnedMatrix m = hand_matrix();
  const StreamSet streams = distinct_streams(m.view());
  const TrialStats t = trial_stats(streams);
  EXPECT_EQ(t.trials, 5);
  EXPECT_EQ(t.var_sharpe, 0.125);
  expect_relative(t.sr0, 0.4216456526599769, 1e-14);

  // A seventh combination with id 0's returns except one bit: block 1's sum_r2 is the smallest
  // subnormal instead of +0. Its whole-run SR is a, bit for bit (1 + 5e-324 rounds to 1), yet the
  // sums are not bitwise equal: a sixth trial. V over (a, 0, a, 3a, 0, a) = 6a^2 / 5 = 0.1.
  OwnedMatrix more = m;
  std::vector<BlockStats> row(more.cells.begin(), more.cells.begin() + 4);
  row[1].sum_r2 = std::numeric_limits<double>::denorm_min();
  more.add_row(row);
  EXPECT_TRUE(same_bits(whole_run_sharpe(more.view().row(6), more.n_b), kA));
  const TrialStats t6 = trial_stats(distinct_streams(more.view()));
  EXPECT_EQ(t6.trials, 6);
  EXPECT_NEAR(t6.var_sharpe, 0.1, 1e-16);
  EXPECT_EQ(t6.sr0, expected_max_sharpe(6, t6.var_sharpe));
}

// N_t and V do not depend on how the rows were split (ranks): the union of per-range stream sets,
// added in any order, gives the same bits as all rows at once.
TEST(RobustDsr, TrialStatsOfMergedRangesEqualOneRange) {
  const OwnedMatrix hand = hand_matrix();
  const TrialStats whole = trial_stats(distinct_streams(hand.view()));
  for (std::int64_t cut = 0; cut <= 6; ++cut) {
    StreamSetBuilder b(4, hand.n_b);
    b.add(distinct_streams(hand.view().slice(cut, 6)));
    b.add(distinct_streams(hand.view().slice(0, cut)));
    const TrialStats t = trial_stats(std::move(b).finish());
    EXPECT_EQ(t.trials, whole.trials) << cut;
    EXPECT_TRUE(same_bits(t.var_sharpe, whole.var_sharpe)) << cut;
    EXPECT_TRUE(same_bits(t.sr0, whole.sr0)) << cut;
  }
  const OwnedMatrix m = testing::random_matrix(2000, 6, 500, 11, 7);
  const TrialStats all = trial_stats(distinct_streams(m.view()));
  EXPECT_GT(all.trials, 400);  // 500 patterns, the never-trading ones all one stream
  EXPECT_LT(all.trials, 500);
  StreamSetBuilder b(m.blocks, m.n_b);
  for (const auto& [lo, hi] :
       {std::pair<std::int64_t, std::int64_t>{1500, 2000}, {0, 333}, {333, 1500}})
    b.add(distinct_streams(m.view().slice(lo, hi)));
  const TrialStats merged = trial_stats(std::move(b).finish());
  EXPECT_EQ(merged.trials, all.trials);
  EXPECT_TRUE(same_bits(merged.var_sharpe, all.var_sharpe));
  EXPECT_TRUE(same_bits(merged.sr0, all.sr0));
}

// One stream: N_t = 1, V undefined (NaN), SR0 = 0, so the DSR is the PSR against 0.
TEST(RobustDsr, OneStreamHasNoVarianceAndSr0Zero) {
  OwnedMatrix m;
  m.blocks = 2;
  m.n_b = {2, 2};
  m.add_row({block_of({0.5, -0.25}, 1, 1), block_of({0.25, 0.25}, 2, 3)});
  m.add_row({block_of({0.5, -0.25}, 7, 0), block_of({0.25, 0.25}, 8, 0)});
  const TrialStats t = trial_stats(distinct_streams(m.view()));
  EXPECT_EQ(t.trials, 1);
  EXPECT_TRUE(std::isnan(t.var_sharpe));
  EXPECT_TRUE(same_bits(t.sr0, 0.0));
  const std::vector<double> r = {0.5, -0.25, 0.25, 0.25};
  const DsrRow row = dsr_row(1, r, t);
  EXPECT_TRUE(same_bits(row.dsr, row.psr0));
  EXPECT_FALSE(std::isnan(row.dsr));

  StreamSetBuilder none(2, m.n_b);
  EXPECT_THROW((void)trial_stats(std::move(none).finish()), InputError);
}

// id 0's returns r = (-1, 0, 0, 3), T = 4: mean = 2/4 = 0.5; deviations -1.5, -0.5, -0.5, 2.5;
//   m2 = (2.25 + 0.25 + 0.25 + 6.25)/4 = 2.25
//   m3 = (-3.375 - 0.125 - 0.125 + 15.625)/4 = 3
//   m4 = (5.0625 + 0.0625 + 0.0625 + 39.0625)/4 = 11.0625
//   g3 = 3 / 2.25^1.5 = 3 / 3.375 = 8/9 = 0.8888888888888888
//   g4 = 11.0625 / 5.0625 = 59/27 = 2.185185185185185 (not excess: excess would be -0.81)
//   SR* = a = 0.5/sqrt(3) (the sample deviation, divisor T - 1)
//   argument = 1 - (8/9) a + (32/27)/4 a^2 = 1 - 0.2566001197 + 0.0246913580 = 0.7680912383848576
//   PSR0: z = a * sqrt(3) / sqrt(0.76809124) = 0.5 / 0.8764081 = 0.5705104434, Phi = 0.7158342295
//   DSR:  z = (a - 0.42164565) * sqrt(3) / 0.8764081 = -0.2627904524, Phi = 0.3963560474
TEST(RobustDsr, SelectedCombinationByHand) {
  const TrialStats t = trial_stats(distinct_streams(hand_matrix().view()));
  const std::vector<double> r = {-1, 0, 0, 3};
  const ReturnMoments mo = return_moments(r);
  EXPECT_EQ(mo.returns, 4);
  EXPECT_TRUE(same_bits(mo.sharpe, kA));
  EXPECT_EQ(mo.m2, 2.25);
  EXPECT_EQ(mo.skewness, 8.0 / 9.0);
  EXPECT_EQ(mo.kurtosis, 11.0625 / 5.0625);

  const DsrRow row = dsr_row(0, r, t);
  EXPECT_EQ(row.combo_id, 0);
  EXPECT_TRUE(same_bits(row.sharpe, kA));
  EXPECT_EQ(row.skewness, 8.0 / 9.0);
  EXPECT_EQ(row.kurtosis, 11.0625 / 5.0625);
  EXPECT_EQ(row.trials, 5);
  EXPECT_EQ(row.var_sharpe, 0.125);
  EXPECT_TRUE(same_bits(row.sr0, t.sr0));
  expect_relative(row.psr0, 0.7158342295424509, 1e-14);
  expect_relative(row.dsr, 0.3963560474193096, 1e-13);
}

// Undefined DSR: m2 = 0 (constant returns, or a single return) gives NaN skewness, kurtosis, DSR
// and PSR0; so does a square root's argument <= 0, which the moments of one series only reach at
// the boundary (g4 - 1 >= g3^2 makes the argument >= (1 - g3 SR/2)^2 >= 0) but the formula can be
// given anything.
TEST(RobustDsr, UndefinedCasesAreNaN) {
  const TrialStats t = trial_stats(distinct_streams(hand_matrix().view()));
  // (0.25, 0.25, 0.25, 0.25): mean 0.25, every deviation 0: m2 = 0. SR: var = (0.25 - 1/4)/3 = 0
  // -> 0.
  const std::vector<double> flat = {0.25, 0.25, 0.25, 0.25};
  const DsrRow f = dsr_row(1, flat, t);
  EXPECT_TRUE(same_bits(f.sharpe, 0.0));
  EXPECT_TRUE(std::isnan(f.skewness));
  EXPECT_TRUE(std::isnan(f.kurtosis));
  EXPECT_TRUE(std::isnan(f.dsr));
  EXPECT_TRUE(std::isnan(f.psr0));
  EXPECT_EQ(f.trials, 5);  // the trial figures are still reported
  // A single return (T = 1): m2 = 0, and SR = 0 (n < 2).
  const std::vector<double> one = {0.5};
  const DsrRow o = dsr_row(1, one, t);
  EXPECT_TRUE(same_bits(o.sharpe, 0.0));
  EXPECT_TRUE(std::isnan(o.dsr));
  EXPECT_TRUE(std::isnan(o.psr0));
  EXPECT_THROW((void)dsr_row(1, std::vector<double>{}, t), InputError);

  // SR* = 1, g3 = 3, g4 = 1: argument 1 - 3 + 0 = -2.
  EXPECT_TRUE(std::isnan(probabilistic_sharpe(1.0, 0.0, 100, 3.0, 1.0)));
  // SR* = 1, g3 = 2, g4 = 5: argument 1 - 2 + (4/4) * 1 = 0 exactly.
  EXPECT_TRUE(std::isnan(probabilistic_sharpe(1.0, 0.0, 100, 2.0, 5.0)));
  // Just above 0 (g4 = 5.5: argument 0.125): defined, z = 1 * sqrt(99) / sqrt(0.125) = 28.1,
  // Phi = 1.
  EXPECT_EQ(probabilistic_sharpe(1.0, 0.0, 100, 2.0, 5.5), 1.0);
  EXPECT_TRUE(std::isnan(
      probabilistic_sharpe(std::numeric_limits<double>::quiet_NaN(), 0.0, 100, 0.0, 3.0)));
  EXPECT_TRUE(std::isnan(
      probabilistic_sharpe(0.1, std::numeric_limits<double>::quiet_NaN(), 100, 0.0, 3.0)));
}

// The K best by whole-run SR, ties to the smaller id: SRs are 0: a, 1: 0, 2: a, 3: a, 4: 3a,
// 5: 0, so the order is 4, 0, 2, 3, 1, 5 (0, 2 and 3 tie bit for bit; so do 1 and 5).
TEST(RobustDsr, TopBySharpeTiesToTheSmallerId) {
  const OwnedMatrix m = hand_matrix();
  const std::vector<RankedCombination> top3 = top_by_sharpe(m.view(), 3);
  ASSERT_EQ(top3.size(), 3u);
  EXPECT_EQ(top3[0].id, 4);
  EXPECT_TRUE(same_bits(top3[0].sharpe, kB));
  EXPECT_EQ(top3[1].id, 0);
  EXPECT_EQ(top3[2].id, 2);
  EXPECT_TRUE(same_bits(top3[2].sharpe, kA));
  const std::vector<RankedCombination> all = top_by_sharpe(m.view(), 10);  // K > rows: all 6
  std::vector<std::int64_t> ids;
  for (const RankedCombination& c : all) ids.push_back(c.id);
  EXPECT_EQ(ids, (std::vector<std::int64_t>{4, 0, 2, 3, 1, 5}));
  EXPECT_THROW((void)top_by_sharpe(m.view(), 0), InputError);

  // Ids are the view's: rows 2..5 seen from first_id 102 are ids 104, 105, 106, 107.
  OwnedMatrix shifted = m;
  shifted.first_id = 100;
  const std::vector<RankedCombination> s = top_by_sharpe(shifted.view().slice(2, 6), 2);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].id, 104);
  EXPECT_EQ(s[1].id, 102);
}

// merge_top over any cut of the rows, in either order, equals the top of all rows.
TEST(RobustDsr, MergeTopOverAnySplitEqualsOneRange) {
  const OwnedMatrix m = hand_matrix();
  const BlockMatrix v = m.view();
  for (std::int64_t k = 1; k <= 7; ++k) {
    const std::vector<RankedCombination> whole = top_by_sharpe(v, k);
    for (std::int64_t cut = 1; cut < 6; ++cut) {
      const std::vector<RankedCombination> lo = top_by_sharpe(v.slice(0, cut), k);
      const std::vector<RankedCombination> hi = top_by_sharpe(v.slice(cut, 6), k);
      for (const bool reverse : {false, true}) {
        std::vector<RankedCombination> merged = reverse ? hi : lo;
        merge_top(merged, reverse ? lo : hi, k);
        ASSERT_EQ(merged.size(), whole.size()) << k << " " << cut;
        for (std::size_t i = 0; i < whole.size(); ++i) {
          EXPECT_EQ(merged[i].id, whole[i].id) << "K " << k << " cut " << cut << " #" << i;
          EXPECT_TRUE(same_bits(merged[i].sharpe, whole[i].sharpe));
        }
      }
    }
  }
  // Merging into an empty list, and K = 2 cuts a longer list.
  std::vector<RankedCombination> empty;
  merge_top(empty, top_by_sharpe(v, 6), 2);
  ASSERT_EQ(empty.size(), 2u);
  EXPECT_EQ(empty[0].id, 4);
  EXPECT_EQ(empty[1].id, 0);
  EXPECT_THROW(merge_top(empty, empty, 0), InputError);

  // Random rows split in three, merged in another order.
  const OwnedMatrix r = testing::random_matrix(3000, 8, 900, 5, 20);
  const std::vector<RankedCombination> whole = top_by_sharpe(r.view(), 25);
  std::vector<RankedCombination> merged = top_by_sharpe(r.view().slice(2000, 3000), 25);
  merge_top(merged, top_by_sharpe(r.view().slice(0, 1000), 25), 25);
  merge_top(merged, top_by_sharpe(r.view().slice(1000, 2000), 25), 25);
  ASSERT_EQ(merged.size(), 25u);
  for (std::size_t i = 0; i < whole.size(); ++i) EXPECT_EQ(merged[i].id, whole[i].id) << i;
}

}  // namespace
}  // namespace threadx::robust
