// Walk-forward selection (docs/ROBUST.md, "Walk-forward selection"), worked by hand on a 4 x 4
// matrix: rolling and anchored windows, ties to the smallest id, the min_trades filter, folds with
// no candidate, growth, the stitched result and wf_efficiency; then the merge of row ranges
// against one range, bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "common/error.hpp"
#include "robust/walk_forward.hpp"
#include "robust_support.hpp"

namespace threadx::robust {
namespace {

using testing::block_of;
using testing::OwnedMatrix;
using testing::same_bits;

// Four combinations, S = 4 blocks of two returns each (n_b = 2). With two returns x, y:
// s1 = x + y, s2 = x^2 + y^2, var = (s2 - s1^2/2)/1 = (x - y)^2/2, SR = (x + y)/(sqrt(2) |x - y|).
// (Returns are integers to keep the arithmetic readable; SR does not depend on the scale.)
//
//        block 0           block 1           block 2            block 3
//   id   r      E    tr    r      E    tr    r       E    tr    r       E    tr
//   0    1,3  1100   1     0,2  1210   2    -1,1   1089   1     1,1   1200   1
//   1    1,3  1050   1     1,1  1050   1     2,4   1260   3    -2,0   1008   4
//   2    0,0  1000   1     1,2  1250   0     0,1   1500   1     3,5   1875   1
//   3    0,0  1000   1     1,2  1200   1     0,1   1500   2     3,5   1800   1
//
// SR of single blocks: {1,3} = 4/(2 sqrt 2) = sqrt 2 = 1.414213562373095 (2/sqrt(2) in doubles),
// {0,2} = 1/sqrt 2 = 0.7071067811865475, {-1,1} = 0, {1,1} = 0 (var = 0), {2,4} = 3/sqrt 2 =
// 2.1213203435596424, {-2,0} = -0.7071067811865475, {0,0} = 0 (var = 0), {1,2} = 1.5/sqrt(0.5) =
// 2.1213203435596424 (the same double as 3/sqrt 2), {0,1} = 0.7071067811865475.
// Ids 2 and 3 are the same stream; their equity and trades differ.
OwnedMatrix hand_matrix() {
  OwnedMatrix m;
  m.blocks = 4;
  m.n_b = {2, 2, 2, 2};
  m.add_row({block_of({1, 3}, 1100, 1), block_of({0, 2}, 1210, 2), block_of({-1, 1}, 1089, 1),
             block_of({1, 1}, 1200, 1)});
  m.add_row({block_of({1, 3}, 1050, 1), block_of({1, 1}, 1050, 1), block_of({2, 4}, 1260, 3),
             block_of({-2, 0}, 1008, 4)});
  m.add_row({block_of({0, 0}, 1000, 1), block_of({1, 2}, 1250, 0), block_of({0, 1}, 1500, 1),
             block_of({3, 5}, 1875, 1)});
  m.add_row({block_of({0, 0}, 1000, 1), block_of({1, 2}, 1200, 1), block_of({0, 1}, 1500, 2),
             block_of({3, 5}, 1800, 1)});
  m.capital = {1000};
  return m;
}

constexpr double kSqrt2 = 1.414213562373095;            // SR of {1,3}
constexpr double kHalfSqrt2 = 0.7071067811865475;       // SR of {0,2}, {0,1}
constexpr double kThreeHalfSqrt2 = 2.1213203435596424;  // SR of {2,4}, {1,2}
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct FoldWant {
  int fold, first, last;
  std::int64_t chosen;
  double is_sharpe, oos_sharpe, growth;
  std::int64_t trades;
};

void expect_folds(const WalkForwardResult& r, const std::vector<FoldWant>& want) {
  ASSERT_EQ(r.folds.size(), want.size());
  for (std::size_t f = 0; f < want.size(); ++f) {
    SCOPED_TRACE(::testing::Message() << "fold " << want[f].fold);
    const WalkForwardFold& g = r.folds[f];
    EXPECT_EQ(g.fold, want[f].fold);
    EXPECT_EQ(g.is_first_block, want[f].first);
    EXPECT_EQ(g.is_last_block, want[f].last);
    EXPECT_EQ(g.chosen, want[f].chosen);
    if (std::isnan(want[f].is_sharpe))
      EXPECT_TRUE(std::isnan(g.is_sharpe));
    else
      EXPECT_TRUE(same_bits(g.is_sharpe, want[f].is_sharpe)) << g.is_sharpe;
    EXPECT_TRUE(same_bits(g.oos_sharpe, want[f].oos_sharpe)) << g.oos_sharpe;
    EXPECT_TRUE(same_bits(g.oos_growth, want[f].growth)) << g.oos_growth;
    EXPECT_EQ(g.oos_trades, want[f].trades);
  }
}

WalkForwardConfig config(int window, WalkMode mode, std::int64_t min_trades) {
  WalkForwardConfig c;
  c.window = window;
  c.mode = mode;
  c.min_trades = min_trades;
  return c;
}

// Rolling, W = 1, min_trades = 1 (the default): folds k = 1, 2, 3, in-sample = block k-1.
//   fold 1 (in-sample block 0): ids 0 and 1 both have {1,3}, SR sqrt 2, bit for bit: the tie
//     goes to id 0. Out of sample: id 0's block 1 {0,2}: SR 1/sqrt 2, growth 1210/1100 = 1.1
//     (equity at the end of block 1 over the end of block 0), 2 trades.
//   fold 2 (block 1): ids 2 and 3 tie at 3/sqrt 2, but id 2 made no trade in block 1 and is no
//     candidate: id 3. Out of sample: id 3's block 2 {0,1}: SR 1/sqrt 2, growth 1500/1200 = 1.25,
//     2 trades.
//   fold 3 (block 2): id 1 ({2,4}, 3/sqrt 2) beats ids 2, 3 (1/sqrt 2) and 0 (0). Out of sample:
//     id 1's block 3 {-2,0}: SR -1/sqrt 2, growth 1008/1260 = 0.8, 4 trades.
// Stitched returns 0,2 | 0,1 | -2,0: n = 6, s1 = ((0 + 2) + 1) + -2 = 1, s2 = ((0 + 4) + 1) + 4
// = 9, var = (9 - 1/6)/5 = 53/30, oos_sharpe = (1/6)/sqrt(53/30) = 0.1253924656438798;
// oos_total_return = 1.1 * 1.25 * 0.8 - 1 = 0.1 (0.10000000000000009 in doubles); trades 8.
// wf_efficiency = 0.12539 / ((sqrt 2 + 3/sqrt 2 + 3/sqrt 2)/3) = 0.12539 / (4 sqrt 2 / 3)
//               = 0.12539 / 1.88562 = 0.06649939707486645.
TEST(RobustWalkForward, RollingWindowByHand) {
  const OwnedMatrix m = hand_matrix();
  const WalkForwardResult r = walk_forward(m.view(), config(1, WalkMode::rolling, 1));
  expect_folds(r, {{1, 0, 0, 0, kSqrt2, kHalfSqrt2, 1210.0 / 1100.0, 2},
                   {2, 1, 1, 3, kThreeHalfSqrt2, kHalfSqrt2, 1500.0 / 1200.0, 2},
                   {3, 2, 2, 1, kThreeHalfSqrt2, -kHalfSqrt2, 1008.0 / 1260.0, 4}});
  EXPECT_EQ(r.folds[0].oos_growth, 1.1);
  EXPECT_EQ(r.folds[1].oos_growth, 1.25);
  EXPECT_EQ(r.folds[2].oos_growth, 0.8);
  EXPECT_EQ(r.oos_sharpe, 0.1253924656438798);
  EXPECT_NEAR(r.oos_sharpe, (1.0 / 6.0) / std::sqrt(53.0 / 30.0), 1e-16);
  EXPECT_EQ(r.oos_total_return, 0.10000000000000009);
  EXPECT_EQ(r.oos_trades, 8);
  EXPECT_EQ(r.wf_efficiency, 0.06649939707486645);
  EXPECT_EQ(r.config.window, 1);
  EXPECT_EQ(r.config.mode, WalkMode::rolling);
}

// min_trades = 0: id 2 is a candidate in fold 2 and wins the tie with id 3 (smaller id). Its block
// 2 has the same returns as id 3's (SR 1/sqrt 2) but its own equity: growth 1500/1250 = 1.2, and
// 1 trade. The stitched sums are unchanged (same stream), oos_total_return = 1.1 * 1.2 * 0.8 - 1
// = 0.056 (0.05600000000000005), trades 2 + 1 + 4 = 7.
TEST(RobustWalkForward, MinTradesZeroAdmitsEveryCombination) {
  const WalkForwardResult r = walk_forward(hand_matrix().view(), config(1, WalkMode::rolling, 0));
  expect_folds(r, {{1, 0, 0, 0, kSqrt2, kHalfSqrt2, 1.1, 2},
                   {2, 1, 1, 2, kThreeHalfSqrt2, kHalfSqrt2, 1.2, 1},
                   {3, 2, 2, 1, kThreeHalfSqrt2, -kHalfSqrt2, 0.8, 4}});
  EXPECT_EQ(r.oos_sharpe, 0.1253924656438798);
  EXPECT_EQ(r.oos_total_return, 0.05600000000000005);
  EXPECT_EQ(r.oos_trades, 7);
}

// Anchored, W = 1: in-sample = blocks 0 .. k-1.
//   fold 1 (block 0): as rolling, id 0.
//   fold 2 (blocks 0-1, n = 4): id 0 (1,3,0,2): s1 6, s2 14, var (14 - 9)/3 = 5/3, SR 1.5/sqrt(5/3)
//     = 1.1619; id 1 (1,3,1,1): s1 6, s2 12, var 1, SR 1.5; ids 2, 3 (0,0,1,2): s1 3, s2 5,
//     var 11/12, SR 0.7833. id 1 (1.5 exactly); out of sample its block 2 {2,4}: SR 3/sqrt 2,
//     growth 1260/1050 = 1.2, 3 trades.
//   fold 3 (blocks 0-2, n = 6): id 0: s1 6, s2 16, var 2, SR 1/sqrt 2; id 1: s1 12, s2 32,
//     var 8/5, SR 2/sqrt(1.6) = 1.5811388300841895; ids 2, 3: s1 4, s2 6, var 2/3, SR 0.8165.
//     id 1; block 3 {-2,0}: SR -1/sqrt 2, growth 0.8, 4 trades.
// Stitched 0,2 | 2,4 | -2,0: n = 6, s1 = 6, s2 = 28, var = (28 - 6)/5 = 4.4, SR = 1/sqrt 4.4
// = 0.4767312946227961; total return 1.1 * 1.2 * 0.8 - 1 = 0.05600000000000005; trades 9;
// wf_efficiency = 0.47673 / ((1.41421 + 1.5 + 1.58114)/3 = 1.49845) = 0.3181494483654049.
TEST(RobustWalkForward, AnchoredWindowByHand) {
  const WalkForwardResult r = walk_forward(hand_matrix().view(), config(1, WalkMode::anchored, 1));
  expect_folds(r, {{1, 0, 0, 0, kSqrt2, kHalfSqrt2, 1.1, 2},
                   {2, 0, 1, 1, 1.5, kThreeHalfSqrt2, 1.2, 3},
                   {3, 0, 2, 1, 1.5811388300841895, -kHalfSqrt2, 0.8, 4}});
  EXPECT_EQ(r.oos_sharpe, 0.4767312946227961);
  EXPECT_NEAR(r.oos_sharpe, 1.0 / std::sqrt(4.4), 1e-16);
  EXPECT_EQ(r.oos_total_return, 0.05600000000000005);
  EXPECT_EQ(r.oos_trades, 9);
  EXPECT_EQ(r.wf_efficiency, 0.3181494483654049);
}

// W = 2: folds 2 and 3 only. Rolling: fold 2 in-sample blocks 0-1 (as anchored fold 2: id 1,
// SR 1.5); fold 3 blocks 1-2: id 0 (0,2,-1,1): SR 0.5/sqrt(5/3) = 0.387; id 1 (1,1,2,4): s1 8,
// s2 22, var 2, SR 2/sqrt 2 = sqrt 2; id 2 (1,2,0,1; 1 trade): SR 1/sqrt(2/3) = 1.2247: id 1.
// Stitched 2,4 | -2,0: n = 4, s1 = 4, s2 = 24, var = (24 - 4)/3 = 20/3, SR = 1/sqrt(20/3) =
// 0.3872983346207417; growth 1.2 * 0.8 - 1 = -0.04 (-0.040000000000000036); trades 7;
// wf_efficiency = 0.38730 / ((1.5 + 1.41421)/2) = 0.2657995554075714.
// Anchored W = 2 chooses the same (fold 3 as anchored W = 1) with in-sample SRs 1.5 and 1.58114:
// wf_efficiency = 0.38730 / 1.54057 = 0.25139947011745595.
TEST(RobustWalkForward, WiderWindowRollingAndAnchored) {
  const WalkForwardResult r = walk_forward(hand_matrix().view(), config(2, WalkMode::rolling, 1));
  expect_folds(
      r, {{2, 0, 1, 1, 1.5, kThreeHalfSqrt2, 1.2, 3}, {3, 1, 2, 1, kSqrt2, -kHalfSqrt2, 0.8, 4}});
  EXPECT_EQ(r.oos_sharpe, 0.3872983346207417);
  EXPECT_EQ(r.oos_total_return, -0.040000000000000036);
  EXPECT_EQ(r.oos_trades, 7);
  EXPECT_EQ(r.wf_efficiency, 0.2657995554075714);

  const WalkForwardResult a = walk_forward(hand_matrix().view(), config(2, WalkMode::anchored, 1));
  expect_folds(a, {{2, 0, 1, 1, 1.5, kThreeHalfSqrt2, 1.2, 3},
                   {3, 0, 2, 1, 1.5811388300841895, -kHalfSqrt2, 0.8, 4}});
  EXPECT_EQ(a.oos_sharpe, 0.3872983346207417);
  EXPECT_EQ(a.wf_efficiency, 0.25139947011745595);
}

// Anchored, W = 1, min_trades = 3. In-sample trades: fold 1 (block 0) 1, 1, 1, 1: no candidate;
// fold 2 (blocks 0-1) 3, 2, 1, 2: only id 0 (SR 1.5/sqrt(5/3) = 1.161895003862225), out of sample
// its block 2 {-1,1}: SR 0, growth 1089/1210 = 0.9, 1 trade; fold 3 (blocks 0-2) 4, 5, 2, 4: ids
// 0, 1, 3, id 1 (1.58114) as before.
// Fold 1 is flat: chosen -1, in-sample SR NaN, its 2 returns count as zeros, growth 1, no trade.
// Stitched 0,0 | -1,1 | -2,0: n = 6, s1 = ((0 + 0) + 0) + -2 = -2, s2 = 0 + 2 + 4 = 6,
// var = (6 - 4/6)/5 = 16/15, SR = (-1/3)/sqrt(16/15) = -0.3227486121839514 (leaving the flat
// fold out, over 4 returns, it would be -0.5/sqrt(5/3) = -0.3873); total return
// 1 * 0.9 * 0.8 - 1 = -0.28 (-0.2799999999999999); trades 5; wf_efficiency over the 2 folds that
// chose:
// -0.32275 / ((1.16190 + 1.58114)/2) = -0.32275 / 1.37152 = -0.23532237057361524.
TEST(RobustWalkForward, FoldWithoutCandidateStaysFlat) {
  const WalkForwardResult r = walk_forward(hand_matrix().view(), config(1, WalkMode::anchored, 3));
  expect_folds(r, {{1, 0, 0, kNoCombination, kNaN, 0.0, 1.0, 0},
                   {2, 0, 1, 0, 1.161895003862225, 0.0, 0.9, 1},
                   {3, 0, 2, 1, 1.5811388300841895, -kHalfSqrt2, 0.8, 4}});
  EXPECT_EQ(r.oos_sharpe, -0.3227486121839514);
  EXPECT_NEAR(r.oos_sharpe, (-1.0 / 3.0) / std::sqrt(16.0 / 15.0), 1e-16);
  EXPECT_EQ(r.oos_total_return, -0.2799999999999999);
  EXPECT_EQ(r.oos_trades, 5);
  EXPECT_EQ(r.wf_efficiency, -0.23532237057361524);
}

// min_trades = 100: no fold has a candidate. Every fold is flat; the stitched record is 6 zeros
// (SR 0: var = 0), total return 0, no trade, and wf_efficiency is NaN (no fold chose).
TEST(RobustWalkForward, NoFoldChoosesGivesNaNEfficiency) {
  const WalkForwardResult r = walk_forward(hand_matrix().view(), config(1, WalkMode::rolling, 100));
  expect_folds(r, {{1, 0, 0, kNoCombination, kNaN, 0.0, 1.0, 0},
                   {2, 1, 1, kNoCombination, kNaN, 0.0, 1.0, 0},
                   {3, 2, 2, kNoCombination, kNaN, 0.0, 1.0, 0}});
  EXPECT_TRUE(same_bits(r.oos_sharpe, 0.0));
  EXPECT_TRUE(same_bits(r.oos_total_return, 0.0));
  EXPECT_EQ(r.oos_trades, 0);
  EXPECT_TRUE(std::isnan(r.wf_efficiency));
}

// S = 3 blocks of one return each, rolling W = 1: every in-sample SR is over n = 1 return, so 0;
// every combination ties and the smallest id (10) is chosen in both folds. Its out-of-sample
// returns 0.25 and 0.75 each have SR 0 alone (n = 1) but stitched: n = 2, s1 = 1, s2 = 0.625,
// var = (0.625 - 0.5)/1 = 0.125, SR = 0.5/sqrt(0.125) = sqrt 2 = 1.414213562373095. The mean
// in-sample SR is 0, so wf_efficiency is NaN. Growth from the equities: 1250/1000 = 1.25, then
// 2187.5/1250 = 1.75; total 1.25 * 1.75 - 1 = 1.1875.
TEST(RobustWalkForward, ZeroMeanInSampleSharpeGivesNaNEfficiency) {
  OwnedMatrix m;
  m.blocks = 3;
  m.n_b = {1, 1, 1};
  m.first_id = 10;
  m.add_row({block_of({0.5}, 1000, 1), block_of({0.25}, 1250, 1), block_of({0.75}, 2187.5, 1)});
  m.add_row({block_of({0.5}, 1500, 1), block_of({0.5}, 2250, 1), block_of({0.5}, 3375, 1)});
  const WalkForwardResult r = walk_forward(m.view(), config(1, WalkMode::rolling, 1));
  expect_folds(r, {{1, 0, 0, 10, 0.0, 0.0, 1.25, 1}, {2, 1, 1, 10, 0.0, 0.0, 1.75, 1}});
  EXPECT_EQ(r.oos_sharpe, 1.414213562373095);
  EXPECT_EQ(r.oos_total_return, 1.1875);
  EXPECT_EQ(r.oos_trades, 2);
  EXPECT_TRUE(std::isnan(r.wf_efficiency));
}

// Growth of fold k is equity_k / equity_{k-1} of the chosen combination. Folds start at k = W >= 1,
// so equity_{k-1} is always a block's equity: the first fold divides by the equity at the end of
// block W-1 (1100 for id 0: growth 1.1), never by the initial capital (1000 would give 1.21), and
// the initial capital given (none, one shared, one per row) changes no bit.
TEST(RobustWalkForward, GrowthOfTheFirstFoldUsesBlockEquityNotCapital) {
  OwnedMatrix m = hand_matrix();
  const WalkForwardResult shared = walk_forward(m.view(), config(1, WalkMode::rolling, 1));
  EXPECT_EQ(shared.folds[0].oos_growth, 1.1);
  m.capital.clear();
  const WalkForwardResult none = walk_forward(m.view(), config(1, WalkMode::rolling, 1));
  m.capital = {1, 2, 3, 4};
  const WalkForwardResult per_row = walk_forward(m.view(), config(1, WalkMode::rolling, 1));
  for (const WalkForwardResult* r : {&none, &per_row}) {
    for (std::size_t f = 0; f < 3; ++f)
      EXPECT_TRUE(same_bits(r->folds[f].oos_growth, shared.folds[f].oos_growth));
    EXPECT_TRUE(same_bits(r->oos_total_return, shared.oos_total_return));
  }
}

// Nothing of block k or later is used to choose for fold k: rewriting every block from k on (sums,
// equity, trades) leaves fold k's choice and in-sample SR as they were.
TEST(RobustWalkForward, ChoiceIgnoresBlocksFromTheFoldOn) {
  for (const WalkMode mode : {WalkMode::rolling, WalkMode::anchored}) {
    const OwnedMatrix m = hand_matrix();
    const WalkForwardResult base = walk_forward(m.view(), config(1, mode, 1));
    for (int k = 1; k < 4; ++k) {
      OwnedMatrix changed = m;
      for (std::int64_t r = 0; r < 4; ++r)
        for (int b = k; b < 4; ++b)
          changed.cells[static_cast<std::size_t>(r * 4 + b)] =
              block_of({5.0 * static_cast<double>(r), -1.0}, 1.0 + static_cast<double>(r),
                       static_cast<std::int32_t>(r == 3 ? 9 : 0));
      const WalkForwardResult r = walk_forward(changed.view(), config(1, mode, 1));
      const std::size_t f = static_cast<std::size_t>(k - 1);
      EXPECT_EQ(r.folds[f].chosen, base.folds[f].chosen) << "fold " << k;
      EXPECT_TRUE(same_bits(r.folds[f].is_sharpe, base.folds[f].is_sharpe)) << "fold " << k;
    }
  }
}

void expect_same_result(const WalkForwardResult& a, const WalkForwardResult& b) {
  ASSERT_EQ(a.folds.size(), b.folds.size());
  for (std::size_t f = 0; f < a.folds.size(); ++f) {
    EXPECT_EQ(a.folds[f].chosen, b.folds[f].chosen) << f;
    EXPECT_TRUE(same_bits(a.folds[f].is_sharpe, b.folds[f].is_sharpe)) << f;
    EXPECT_TRUE(same_bits(a.folds[f].oos_sharpe, b.folds[f].oos_sharpe)) << f;
    EXPECT_TRUE(same_bits(a.folds[f].oos_growth, b.folds[f].oos_growth)) << f;
    EXPECT_EQ(a.folds[f].oos_trades, b.folds[f].oos_trades) << f;
  }
  EXPECT_TRUE(same_bits(a.oos_sharpe, b.oos_sharpe));
  EXPECT_TRUE(same_bits(a.oos_total_return, b.oos_total_return));
  EXPECT_EQ(a.oos_trades, b.oos_trades);
  EXPECT_TRUE(same_bits(a.wf_efficiency, b.wf_efficiency));
}

// merge_into over any split of the rows, merged in either order, gives one range's bits: every cut
// of the hand matrix (where the ties between ids 0/1 and 2/3 may fall in different parts), then
// random rows cut into uneven parts (one empty) merged in a shuffled order, and thread counts.
TEST(RobustWalkForward, MergedRangesEqualOneRange) {
  const OwnedMatrix hand = hand_matrix();
  for (const WalkForwardConfig& c :
       {config(1, WalkMode::rolling, 1), config(1, WalkMode::rolling, 0),
        config(1, WalkMode::anchored, 3), config(2, WalkMode::rolling, 1)}) {
    const WalkForwardResult whole = walk_forward(hand.view(), c);
    for (std::int64_t cut = 0; cut <= 4; ++cut) {
      const WalkForwardSelection lo = walk_forward_select(hand.view().slice(0, cut), c);
      const WalkForwardSelection hi = walk_forward_select(hand.view().slice(cut, 4), c);
      WalkForwardSelection a = lo, b = hi;
      merge_into(a, hi);
      merge_into(b, lo);
      SCOPED_TRACE(::testing::Message() << "W " << c.window << " cut " << cut);
      expect_same_result(walk_forward_result(a), whole);
      expect_same_result(walk_forward_result(b), whole);
    }
  }

  const OwnedMatrix m = testing::random_matrix(3000, 8, 900, 4, 300);
  const BlockMatrix all = m.view();
  for (const WalkForwardConfig& c :
       {config(3, WalkMode::rolling, 1), config(2, WalkMode::anchored, 2),
        config(1, WalkMode::rolling, 0), config(7, WalkMode::anchored, 20)}) {
    SCOPED_TRACE(::testing::Message() << "W " << c.window << " min_trades " << c.min_trades);
    const WalkForwardResult whole = walk_forward(all, c, 1);
    for (const unsigned threads : {2u, 3u})
      expect_same_result(walk_forward(all, c, threads), whole);
    const std::vector<std::int64_t> cuts = {0, 700, 701, 701, 2000, 2999, 3000};
    std::vector<WalkForwardSelection> parts;
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i)
      parts.push_back(walk_forward_select(all.slice(cuts[i], cuts[i + 1]), c));
    WalkForwardSelection merged = parts[4];
    for (const std::size_t p : {2u, 0u, 5u, 3u, 1u}) merge_into(merged, parts[p]);
    expect_same_result(walk_forward_result(merged), whole);
  }
}

TEST(RobustWalkForward, SettingsAreChecked) {
  const OwnedMatrix m = hand_matrix();
  EXPECT_THROW(walk_forward(m.view(), config(0, WalkMode::rolling, 1)), InputError);
  EXPECT_THROW(walk_forward(m.view(), config(4, WalkMode::rolling, 1)), InputError);  // W = S
  EXPECT_THROW(walk_forward(m.view(), config(1, WalkMode::rolling, -1)), InputError);
  EXPECT_NO_THROW(walk_forward(m.view(), config(3, WalkMode::anchored, 0)));  // W = S - 1
  EXPECT_EQ(parse_walk_mode("rolling"), WalkMode::rolling);
  EXPECT_EQ(parse_walk_mode("anchored"), WalkMode::anchored);
  EXPECT_THROW(parse_walk_mode("Rolling"), InputError);
  EXPECT_STREQ(walk_mode_name(WalkMode::anchored), "anchored");
  WalkForwardSelection a = walk_forward_select(m.view(), config(1, WalkMode::rolling, 1));
  EXPECT_THROW(merge_into(a, walk_forward_select(m.view(), config(1, WalkMode::anchored, 1))),
               InputError);
  EXPECT_THROW(merge_into(a, walk_forward_select(m.view(), config(1, WalkMode::rolling, 2))),
               InputError);
}

}  // namespace
}  // namespace threadx::robust
