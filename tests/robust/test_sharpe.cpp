// SR_J (the Sharpe ratio of a set of blocks), the block-matrix view and its validation, and the
// distinct streams every CSCV and DSR figure is built on.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "common/error.hpp"
#include "robust/block_matrix.hpp"
#include "robust/sharpe.hpp"
#include "robust/streams.hpp"
#include "robust_support.hpp"

namespace threadx::robust {
namespace {

using testing::block_of;
using testing::OwnedMatrix;
using testing::same_bits;

TEST(RobustSharpe, FromSumsByHand) {
  // n = 4, s1 = 4, s2 = 7: var = (7 - 16/4) / 3 = 1, SR = (4/4) / 1 = 1.
  EXPECT_EQ(sharpe_from_sums(4, 7, 4), 1.0);
  // s1 = 2, s2 = 4: var = (4 - 4/4) / 3 = 1, SR = 0.5; the sign follows s1.
  EXPECT_EQ(sharpe_from_sums(2, 4, 4), 0.5);
  EXPECT_EQ(sharpe_from_sums(-2, 4, 4), -0.5);
  // var = 0 (four equal returns of 1: s1 = 4, s2 = 4): 0, not a division by zero.
  EXPECT_TRUE(same_bits(sharpe_from_sums(4, 4, 4), 0.0));
  // var < 0 (sums no return series can have, or rounding): 0.
  EXPECT_TRUE(same_bits(sharpe_from_sums(4, 3, 4), 0.0));
  // n < 2: 0 whatever the sums.
  EXPECT_TRUE(same_bits(sharpe_from_sums(0.5, 0.25, 1), 0.0));
  EXPECT_TRUE(same_bits(sharpe_from_sums(0, 0, 0), 0.0));
  // NaN variance: 0.
  EXPECT_TRUE(same_bits(sharpe_from_sums(1, std::numeric_limits<double>::quiet_NaN(), 5), 0.0));
}

TEST(RobustSharpe, OverBlocksWithUnequalSizes) {
  // Block 0: returns 1, 3 (sum 4, squares 10); block 1: 2 (2, 4); block 2: -1, 0, 5 (4, 26).
  const std::vector<BlockStats> row = {block_of({1, 3}), block_of({2}), block_of({-1, 0, 5})};
  const std::vector<std::int64_t> n_b = {2, 1, 3};
  // J = {0, 2}: n = 5, s1 = 8, s2 = 36, var = (36 - 64/5) / 4 = 23.2 / 4 = 5.8,
  // SR = 1.6 / sqrt(5.8) = 0.6643638388299198.
  EXPECT_EQ(sharpe_of_blocks(row, n_b, 0b101), 0.6643638388299198);
  EXPECT_EQ(sharpe_of_range(row, n_b, 0, 0), sharpe_from_sums(4, 10, 2));  // SR = 2 / sqrt 2
  // All blocks: n = 6, s1 = 10, s2 = 40, var = (40 - 100/6) / 5, SR = 0.7715167498104597.
  EXPECT_EQ(whole_run_sharpe(row, n_b), 0.7715167498104597);
  EXPECT_EQ(sharpe_of_range(row, n_b, 0, 2), 0.7715167498104597);
  // J = {1}: a single return, SR = 0.
  EXPECT_EQ(sharpe_of_blocks(row, n_b, 0b010), 0.0);
}

TEST(RobustSharpe, AgreesWithTheTwoPassSampleSharpe) {
  // Returns 0.01, -0.02, 0.015 | 0.003, -0.001: mean / sample deviation = 0.10397504898200728
  // (two-pass, computed independently); the one-pass form over the blocks gives the same digits.
  const std::vector<BlockStats> row = {block_of({0.01, -0.02, 0.015}), block_of({0.003, -0.001})};
  EXPECT_NEAR(whole_run_sharpe(row, std::vector<std::int64_t>{3, 2}), 0.10397504898200728, 1e-15);
}

TEST(RobustBlockMatrix, ViewSliceAndCapital) {
  OwnedMatrix m;
  m.blocks = 2;
  m.n_b = {3, 4};
  m.first_id = 100;
  for (int r = 0; r < 5; ++r) m.add_row({block_of({0.01 * r}), block_of({-0.01 * r})});
  m.capital = {1000, 2000, 3000, 4000, 5000};
  const BlockMatrix v = m.view();
  EXPECT_EQ(v.rows(), 5);
  EXPECT_EQ(v.id(4), 104);
  const BlockMatrix s = v.slice(1, 4);
  EXPECT_EQ(s.rows(), 3);
  EXPECT_EQ(s.first_id, 101);
  EXPECT_EQ(s.row(0)[0].sum_r, 0.01);
  EXPECT_EQ(s.capital(2), 4000.0);
  validate(s);

  m.capital = {7500};  // one capital shared by every row, also in a slice
  EXPECT_EQ(m.view().slice(3, 5).capital(1), 7500.0);
  m.capital.clear();
  EXPECT_THROW((void)m.view().capital(0), InputError);
}

TEST(RobustBlockMatrix, ValidationErrors) {
  OwnedMatrix m;
  m.blocks = 2;
  m.n_b = {3, 4};
  m.add_row({block_of({0.01}), block_of({0.02})});
  validate(m.view());
  auto fails = [](OwnedMatrix bad, const char* message) {
    try {
      validate(bad.view());
      ADD_FAILURE() << "no error for: " << message;
    } catch (const InputError& e) {
      EXPECT_STREQ(e.what(), message);
    }
  };
  OwnedMatrix one = m;
  one.blocks = 1;
  one.n_b = {3};
  fails(one, "block statistics: S = 1 blocks, expected 2 <= S <= 64");
  OwnedMatrix wide = m;
  wide.blocks = 65;
  fails(wide, "block statistics: S = 65 blocks, expected 2 <= S <= 64");
  OwnedMatrix counts = m;
  counts.n_b = {3, 4, 5};
  fails(counts, "block statistics: 3 returns-per-block counts for S = 2 blocks");
  OwnedMatrix empty_block = m;
  empty_block.n_b = {3, 0};
  fails(empty_block, "block statistics: block 1 holds 0 returns, expected >= 1");
  OwnedMatrix ragged = m;
  ragged.cells.push_back(BlockStats{});
  fails(ragged, "block statistics: 3 cells is not a whole number of rows of 2");
  OwnedMatrix negative = m;
  negative.first_id = -1;
  fails(negative, "block statistics: first combination id -1 < 0");
  OwnedMatrix caps = m;
  caps.add_row({block_of({0.01}), block_of({0.02})});
  caps.add_row({block_of({0.01}), block_of({0.02})});
  caps.capital = {1, 2};
  fails(caps, "block statistics: 2 initial capitals for 3 rows (expected 0, 1 or one per row)");
}

TEST(RobustStreams, IdenticalSumsAreOneStreamWithItsSmallestId) {
  // Ids 20..25. 20, 23 and 25 have the same sums (their equity and trades differ: not part of a
  // stream); 21 differs from them only by -0.0 against +0.0 in one sum (bitwise: another
  // stream); 22 and 24 are a second pair.
  OwnedMatrix m;
  m.blocks = 2;
  m.n_b = {2, 2};
  m.first_id = 20;
  const BlockStats a = block_of({0.01, 0.02}, 1010, 1), b = block_of({-0.01, 0.0}, 1000, 0);
  BlockStats zero_pos{0.0, 0.0, 1000, 0}, zero_neg{-0.0, 0.0, 1000, 0};
  m.add_row({a, zero_pos});                             // 20
  m.add_row({a, zero_neg});                             // 21
  m.add_row({b, a});                                    // 22
  m.add_row({block_of({0.01, 0.02}, 5, 7), zero_pos});  // 23: same sums as 20
  m.add_row({b, a});                                    // 24
  m.add_row({a, zero_pos});                             // 25
  const StreamSet s = distinct_streams(m.view());
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s.rows(), 6);
  EXPECT_EQ(s.id(0), 20);
  EXPECT_EQ(s.multiplicity(0), 3);
  EXPECT_EQ(s.id(1), 21);
  EXPECT_EQ(s.multiplicity(1), 1);
  EXPECT_EQ(s.id(2), 22);
  EXPECT_EQ(s.multiplicity(2), 2);
  EXPECT_TRUE(same_bits(s.sum_r(1)[1], -0.0));
  EXPECT_EQ(s.sum_r2(0)[2], b.sum_r2);
  EXPECT_EQ(s.stride() % kStreamPad, 0u);
  EXPECT_EQ(s.multiplicities()[3], 0);  // padding
  EXPECT_EQ(s.whole_run_sharpe(2), whole_run_sharpe(m.view().row(4), m.n_b));
}

TEST(RobustStreams, UnionOfRangesEqualsAllRows) {
  const OwnedMatrix m = testing::random_matrix(2500, 6, 700, 9, 40);
  const BlockMatrix all = m.view();
  const StreamSet whole = distinct_streams(all);
  StreamSetBuilder merged(all.blocks, all.returns_per_block);
  // Ranges added in reverse order, each deduplicated on its own first.
  for (const auto& [b, e] :
       {std::pair<std::int64_t, std::int64_t>{1800, 2500}, {900, 1800}, {0, 900}})
    merged.add(distinct_streams(all.slice(b, e)));
  const StreamSet u = std::move(merged).finish();
  ASSERT_EQ(u.size(), whole.size());
  EXPECT_EQ(u.rows(), 2500);
  for (std::size_t i = 0; i < whole.size(); ++i) {
    EXPECT_EQ(u.id(i), whole.id(i));
    EXPECT_EQ(u.multiplicity(i), whole.multiplicity(i));
    for (int b = 0; b < all.blocks; ++b) {
      EXPECT_TRUE(same_bits(u.sum_r(b)[i], whole.sum_r(b)[i]));
      EXPECT_TRUE(same_bits(u.sum_r2(b)[i], whole.sum_r2(b)[i]));
    }
  }
  // Every row's stream is found under the smallest id of its stream.
  for (std::size_t i = 1; i < whole.size(); ++i) EXPECT_LT(whole.id(i - 1), whole.id(i));
}

TEST(RobustStreams, DifferentLayoutsAreInputErrors) {
  OwnedMatrix m;
  m.blocks = 2;
  m.n_b = {2, 2};
  m.add_row({block_of({0.01}), block_of({0.02})});
  StreamSetBuilder other(2, std::vector<std::int64_t>{2, 3});
  EXPECT_THROW(other.add(m.view()), InputError);
  EXPECT_THROW(other.add(distinct_streams(m.view())), InputError);
  EXPECT_THROW(StreamSetBuilder(1, std::vector<std::int64_t>{2}), InputError);
}

}  // namespace
}  // namespace threadx::robust
