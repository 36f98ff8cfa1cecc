// CSCV and PBO: the split numbering, a 6 x 4 matrix worked by hand, degenerate cases, and the
// fast path (deduplication, tiles, depth-first partial sums, the product filter, threads, row
// ranges merged) against the contract's naive definition, bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.hpp"
#include "robust/cscv.hpp"
#include "robust/splits.hpp"
#include "robust/streams.hpp"
#include "robust_support.hpp"

namespace threadx::robust {
namespace {

using testing::block_of;
using testing::OwnedMatrix;
using testing::same_bits;

TEST(RobustCscvSplits, LexicographicOrderOfSortedBlockLists) {
  // S = 4: {0,1} {0,2} {0,3} {1,2} {1,3} {2,3}.
  EXPECT_EQ(cscv_split_masks(4),
            (std::vector<std::uint64_t>{0b0011, 0b0101, 0b1001, 0b0110, 0b1010, 0b1100}));
  EXPECT_EQ(cscv_split_count(2), 2);
  EXPECT_EQ(cscv_split_count(16), 12870);
  EXPECT_EQ(cscv_split_count(24), 2704156);
}

TEST(RobustCscvSplits, MatchTheDefinitionAndComplementIsReversed) {
  for (const int s : {2, 6, 8, 10}) {
    const std::vector<std::uint64_t> masks = cscv_split_masks(s);
    // Independent enumeration: every mask with S/2 bits, sorted by their sorted block lists.
    std::vector<std::vector<int>> lists;
    for (std::uint64_t m = 0; m < (std::uint64_t{1} << s); ++m) {
      if (std::popcount(m) != s / 2) continue;
      std::vector<int> l;
      for (int b = 0; b < s; ++b)
        if ((m >> b) & 1U) l.push_back(b);
      lists.push_back(l);
    }
    std::sort(lists.begin(), lists.end());
    ASSERT_EQ(masks.size(), lists.size()) << "S = " << s;
    const std::uint64_t all = (std::uint64_t{1} << s) - 1;
    for (std::size_t j = 0; j < masks.size(); ++j) {
      std::uint64_t m = 0;
      for (const int b : lists[j]) m |= std::uint64_t{1} << b;
      EXPECT_EQ(masks[j], m) << "S = " << s << " split " << j;
      EXPECT_EQ(masks[masks.size() - 1 - j], all & ~masks[j]) << "S = " << s << " split " << j;
    }
  }
}

TEST(RobustCscvSplits, OddOrTooManyBlocksAreInputErrors) {
  EXPECT_THROW(cscv_split_count(7), InputError);
  EXPECT_THROW(cscv_split_count(0), InputError);
  EXPECT_THROW(cscv_split_count(26), InputError);
  try {
    cscv_split_count(9);
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "cscv: needs an even number of blocks S >= 2 (got S = 9)");
  }
}

// Six combinations, S = 4 blocks of one return each (n_b = 1), returns x_b per block:
//   id 0: ( 2,  0, 2, 0)
//   id 1: ( 1,  3, 3, 1)
//   id 2: ( 0,  1, 2, 3)
//   id 3: ( 1,  3, 3, 1)   the same stream as id 1
//   id 4: ( 0,  0, 0, 0)   never trades
//   id 5: (-1, -3, 4, 5)
// With two returns a, b: n = 2, s1 = a + b, s2 = a^2 + b^2, var = (s2 - s1*s1/2) / 1 and
// R = (s1/2) / sqrt(var); a == b gives var = 0, R = 0. In doubles:
//   {1,3}: var 2,   R = 2/sqrt(2)     = 1.414213562373095   (1 ulp below the double of sqrt 2)
//   {2,0}, {0,2}: var 2, R = 1/sqrt(2) = 0.7071067811865475
//   {0,1}: var 0.5, R = 0.5/sqrt(0.5)  = 0.7071067811865475
//   {0,3}: var 4.5, R = 1.5/sqrt(4.5)  = 0.7071067811865476  (1 ulp above the three before)
//   {1,2}: var 0.5, R = 2.1213203435596424     {2,3}: var 0.5, R = 3.5355339059327373
//   {4,5}: R = 6.363961030678928   {-1,-3}: R = -1.414213562373095
//   {-1,4}: 0.4242640687119285  {-3,5}: 0.17677669529663687  {-1,5}: 0.47140452079103173
//   {-3,4}: 0.10101525445522107
// Per split (J; J'): n*, R_n*, R'_n*, L, Q; w = (L + (Q+1)/2) / 7; lambda = ln(w / (1-w)):
//   0 {0,1}; {2,3}: ids 1 and 3 tie at 1.414..., n* = 1 (smaller id). R' = 1.414... (3,1);
//     R' of ids 0,2,4,5: 0.707, 3.536, 0, 6.364: L = 2 (ids 0, 4), Q = 2 (ids 1, 3 identical).
//     w = 3.5/7 = 0.5, lambda = 0: counts as overfit (lambda <= 0).
//   1 {0,2}; {1,3}: n* = 1 (R 1.414, id 3 equal), R' 1.414; R' = 0, 1.414, 1.414, 1.414, 0, 0.177:
//     L = 3 (ids 0, 4, 5), Q = 3 (ids 1, 2, 3; id 2 a different stream): w = 5/7, ln(5/2).
//   2 {0,3}; {1,2}: R of id 0 ({2,0}) and id 2 ({0,3}) differ by one ulp: n* = 2, R' = {1,2}
//     = 2.121..., every other R' is below: L = 5, Q = 1, w = 6/7, ln 6.
//   3 {1,2}; {0,3}: n* = 2 ({1,2}), R' = {0,3} = 0.7071067811865476; id 0's R' ({2,0}) is one ulp
//     below it: L = 5 (ids 0, 1, 3, 4, 5), Q = 1, w = 6/7, ln 6.
//   4 {1,3}; {0,2}: ids 1, 2, 3 tie at 1.414 (2 is another stream): n* = 1, R' = {1,3} = 1.414;
//     L = 4 (ids 0, 2, 4, 5), Q = 2, w = 5.5/7, ln(11/3).
//   5 {2,3}; {0,1}: n* = 5 ({4,5} = 6.364), R' = {-1,-3} = -1.414: L = 0, Q = 1, w = 1/7, ln(1/6).
// pbo = 2/6 (splits 0 and 5), prob_oos_loss = 1/6 (split 5). Least squares over the 6 points
// (R, R') = (1.414, 1.414) x3, (0.707, 2.121), (2.121, 0.707), (6.364, -1.414):
// slope = -0.5914396887159533, intercept = 2.2671439210027824.
OwnedMatrix hand_matrix() {
  OwnedMatrix m;
  m.blocks = 4;
  m.n_b = {1, 1, 1, 1};
  const std::vector<std::vector<double>> x = {{2, 0, 2, 0}, {1, 3, 3, 1}, {0, 1, 2, 3},
                                              {1, 3, 3, 1}, {0, 0, 0, 0}, {-1, -3, 4, 5}};
  for (const auto& row : x) {
    std::vector<BlockStats> cells;
    for (const double v : row) cells.push_back(block_of({v}));
    m.add_row(cells);
  }
  return m;
}

TEST(RobustCscv, HandWorkedMatrix) {
  const OwnedMatrix m = hand_matrix();
  for (const unsigned threads : {1u, 2u}) {
    const CscvResult r = cscv(distinct_streams(m.view()), threads);
    EXPECT_EQ(r.blocks, 4);
    EXPECT_EQ(r.splits, 6);
    EXPECT_EQ(r.candidates, 6);
    ASSERT_EQ(r.per_split.size(), 6u);
    const std::int64_t chosen[] = {1, 1, 2, 2, 1, 5};
    const double is[] = {1.414213562373095,  1.414213562373095, 0.7071067811865476,
                         2.1213203435596424, 1.414213562373095, 6.363961030678928};
    const double oos[] = {1.414213562373095,  1.414213562373095, 2.1213203435596424,
                          0.7071067811865476, 1.414213562373095, -1.414213562373095};
    const double lambda[] = {0.0,           std::log(5.0 / 2.0),  std::log(6.0),
                             std::log(6.0), std::log(11.0 / 3.0), std::log(1.0 / 6.0)};
    for (std::size_t j = 0; j < 6; ++j) {
      EXPECT_EQ(r.per_split[j].chosen, chosen[j]) << "split " << j;
      EXPECT_EQ(r.per_split[j].is_sharpe, is[j]) << "split " << j;
      EXPECT_EQ(r.per_split[j].oos_sharpe, oos[j]) << "split " << j;
      EXPECT_NEAR(r.per_split[j].lambda, lambda[j], 1e-15) << "split " << j;
    }
    EXPECT_EQ(r.per_split[0].lambda, 0.0);  // w = 0.5 exactly
    EXPECT_EQ(r.pbo, 2.0 / 6.0);
    EXPECT_EQ(r.prob_oos_loss, 1.0 / 6.0);
    EXPECT_NEAR(r.slope, -0.5914396887159533, 1e-15);
    EXPECT_NEAR(r.intercept, 2.2671439210027824, 1e-15);
  }
}

TEST(RobustCscv, HandWorkedMatrixRankCounts) {
  const StreamSet streams = distinct_streams(hand_matrix().view());
  EXPECT_EQ(streams.size(), 5u);  // ids 1 and 3 are one stream
  const CscvSelection sel = cscv_select(streams);
  const CscvRanks ranks = cscv_rank(streams, sel);
  EXPECT_EQ(ranks.below, (std::vector<std::int64_t>{2, 3, 5, 5, 4, 0}));
  EXPECT_EQ(ranks.equal, (std::vector<std::int64_t>{2, 3, 1, 1, 2, 1}));
  EXPECT_EQ(ranks.candidates, 6);
}

TEST(RobustCscv, SingleReturnHalvesGiveZeroSharpeEverywhere) {
  // S = 2, one return per block: every J holds n = 1 < 2 returns, so every R and R' is 0. Split
  // 0 ({0}) and split 1 ({1}) both choose id 10 (the smallest); all 3 candidates tie out of
  // sample: L = 0, Q = 3, w = 2/4 = 0.5, lambda = 0 <= 0, pbo = 1; no R' < 0.
  OwnedMatrix m;
  m.blocks = 2;
  m.n_b = {1, 1};
  m.first_id = 10;
  m.add_row({block_of({0.5}), block_of({-0.25})});
  m.add_row({block_of({-1}), block_of({2})});
  m.add_row({block_of({3}), block_of({3})});
  const CscvResult r = cscv(distinct_streams(m.view()));
  ASSERT_EQ(r.per_split.size(), 2u);
  for (const CscvSplit& s : r.per_split) {
    EXPECT_EQ(s.chosen, 10);
    EXPECT_EQ(s.is_sharpe, 0.0);
    EXPECT_EQ(s.oos_sharpe, 0.0);
    EXPECT_EQ(s.lambda, 0.0);
  }
  EXPECT_EQ(r.pbo, 1.0);
  EXPECT_EQ(r.prob_oos_loss, 0.0);
  EXPECT_TRUE(std::isnan(r.slope));  // every R_n* is 0: no line
  EXPECT_TRUE(std::isnan(r.intercept));
}

TEST(RobustCscv, OddBlocksAndMismatchedPartialsAreInputErrors) {
  OwnedMatrix m;
  m.blocks = 3;
  m.n_b = {2, 2, 2};
  m.add_row({block_of({0.1, 0.2}), block_of({0.1, -0.2}), block_of({0.3, 0.2})});
  EXPECT_THROW(cscv(distinct_streams(m.view())), InputError);

  const StreamSet streams = distinct_streams(hand_matrix().view());
  CscvSelection sel = cscv_select(streams);
  CscvRanks ranks = cscv_rank(streams, sel);
  ranks.candidates += 1;  // ranks from other rows than the selection
  EXPECT_THROW(cscv_result(sel, ranks), InputError);

  const StreamSet empty = [] {
    StreamSetBuilder b(4, std::vector<std::int64_t>{1, 1, 1, 1});
    return std::move(b).finish();
  }();
  const CscvSelection none = cscv_select(empty);
  EXPECT_EQ(none.candidates, 0);
  EXPECT_EQ(none.splits[0].chosen, kNoCombination);
  EXPECT_THROW(cscv_result(none, cscv_rank(empty, none)), InputError);  // no candidate at all
}

// The fast path against the contract's definition on random matrices with many identical
// streams, several tiles (more than 512 distinct streams) and ties between different streams.
void expect_matches_naive(const OwnedMatrix& m) {
  const std::vector<testing::NaiveSplit> naive = testing::naive_cscv(m.view());
  const StreamSet streams = distinct_streams(m.view());
  ASSERT_GT(streams.size(), 1024u);                                      // several tiles
  ASSERT_LT(streams.size(), static_cast<std::size_t>(m.view().rows()));  // duplicates
  for (const unsigned threads : {1u, 2u, 3u}) {
    const CscvSelection sel = cscv_select(streams, threads);
    const CscvRanks ranks = cscv_rank(streams, sel, threads);
    ASSERT_EQ(sel.splits.size(), naive.size());
    std::size_t mismatches = 0;
    for (std::size_t j = 0; j < naive.size(); ++j) {
      const bool same = sel.splits[j].chosen == naive[j].chosen &&
                        same_bits(sel.splits[j].is_sharpe, naive[j].is_sharpe) &&
                        same_bits(sel.splits[j].oos_sharpe, naive[j].oos_sharpe) &&
                        ranks.below[j] == naive[j].below && ranks.equal[j] == naive[j].equal;
      if (!same && ++mismatches <= 5)
        ADD_FAILURE() << "S = " << m.blocks << " threads " << threads << " split " << j
                      << ": chosen " << sel.splits[j].chosen << " vs " << naive[j].chosen << ", L "
                      << ranks.below[j] << " vs " << naive[j].below << ", Q " << ranks.equal[j]
                      << " vs " << naive[j].equal;
    }
    EXPECT_EQ(mismatches, 0u);
  }
  // Equal R between different streams happen (quantised streams), so ties are exercised.
  std::int64_t ties = 0;
  for (const testing::NaiveSplit& s : naive) ties += s.equal > 1 ? 1 : 0;
  EXPECT_GT(ties, 0);
}

TEST(RobustCscv, FastPathEqualsNaiveDefinitionS8) {
  expect_matches_naive(testing::random_matrix(3000, 8, 1300, 1));
}

TEST(RobustCscv, FastPathEqualsNaiveDefinitionS10) {
  expect_matches_naive(testing::random_matrix(3000, 10, 1100, 2, 500));
}

// Rows split into ranges (as ranks would hold them), each deduplicated on its own, the partials
// merged in another order: the same bits as one range.
TEST(RobustCscv, RowRangesMergedEqualOneRange) {
  const OwnedMatrix m = testing::random_matrix(3000, 8, 900, 3, 1000);
  const BlockMatrix all = m.view();
  const StreamSet whole_set = distinct_streams(all);
  const CscvSelection whole_sel = cscv_select(whole_set, 2);
  const CscvResult whole = cscv_result(whole_sel, cscv_rank(whole_set, whole_sel, 2));

  const std::vector<std::int64_t> cuts = {0, 700, 701, 701, 2000, 2999, 3000};  // one empty
  std::vector<StreamSet> parts;
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    StreamSetBuilder b(all.blocks, all.returns_per_block);
    b.add(all.slice(cuts[i], cuts[i + 1]));
    parts.push_back(std::move(b).finish());
  }
  const std::vector<std::size_t> order = {3, 0, 5, 1, 4, 2};
  CscvSelection sel = cscv_select(parts[order[0]]);
  for (std::size_t k = 1; k < order.size(); ++k) merge_into(sel, cscv_select(parts[order[k]]));
  CscvRanks ranks = cscv_rank(parts[order[5]], sel);
  for (std::size_t k = 0; k + 1 < order.size(); ++k)
    merge_into(ranks, cscv_rank(parts[order[k]], sel));
  const CscvResult merged = cscv_result(sel, ranks);

  EXPECT_EQ(merged.candidates, 3000);
  EXPECT_TRUE(same_bits(merged.pbo, whole.pbo));
  EXPECT_TRUE(same_bits(merged.prob_oos_loss, whole.prob_oos_loss));
  EXPECT_TRUE(same_bits(merged.slope, whole.slope));
  EXPECT_TRUE(same_bits(merged.intercept, whole.intercept));
  ASSERT_EQ(merged.per_split.size(), whole.per_split.size());
  for (std::size_t j = 0; j < whole.per_split.size(); ++j) {
    EXPECT_EQ(merged.per_split[j].chosen, whole.per_split[j].chosen) << j;
    EXPECT_TRUE(same_bits(merged.per_split[j].lambda, whole.per_split[j].lambda)) << j;
    EXPECT_TRUE(same_bits(merged.per_split[j].is_sharpe, whole.per_split[j].is_sharpe)) << j;
    EXPECT_TRUE(same_bits(merged.per_split[j].oos_sharpe, whole.per_split[j].oos_sharpe)) << j;
  }
  EXPECT_GT(whole.pbo, 0.0);  // a non-trivial result
  EXPECT_LT(whole.pbo, 1.0);
}

}  // namespace
}  // namespace threadx::robust
