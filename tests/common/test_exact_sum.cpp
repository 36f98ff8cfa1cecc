// The exact sum: hand-checked cancellations, subnormals and overflow, the same bits for any order
// or split of the additions, and the value against a 113-bit reference where that is exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "common/exact_sum.hpp"

namespace threadx {
namespace {

double sum_of(const std::vector<double>& v) {
  ExactSum s;
  for (const double x : v) s.add(x);
  return s.value();
}

TEST(ExactSum, KeepsWhatDoublesLose) {
  EXPECT_EQ(sum_of({1e16, 1.0, -1e16}), 1.0);  // in doubles: 0
  // 0.1 + 0.2 - 0.3 exactly: the three doubles' exact sum is 2^-55 (their rounding errors).
  EXPECT_EQ(sum_of({0.1, 0.2, -0.3}), std::ldexp(1.0, -55));
  EXPECT_EQ(sum_of({1.0, std::ldexp(1.0, -60), -1.0}), std::ldexp(1.0, -60));
  EXPECT_EQ(sum_of({-2.5, -0.5}), -3.0);
  EXPECT_EQ(sum_of({}), 0.0);
  ExactSum z;
  z.add(3.25);
  z.add(-3.25);
  EXPECT_TRUE(z.is_zero());
  EXPECT_EQ(z.value(), 0.0);
}

TEST(ExactSum, SubnormalsAndTheEdgesOfTheRange) {
  const double tiny = std::ldexp(1.0, -1074);  // the smallest subnormal
  EXPECT_EQ(sum_of({tiny, tiny, tiny}), 3 * tiny);
  EXPECT_EQ(sum_of({DBL_MIN, -tiny}), DBL_MIN - tiny);
  EXPECT_EQ(sum_of({DBL_MAX, -DBL_MAX, 1.0}), 1.0);
  EXPECT_EQ(sum_of({DBL_MAX, DBL_MAX}), HUGE_VAL);  // beyond the double range: infinity
  EXPECT_EQ(sum_of({-DBL_MAX, -DBL_MAX, DBL_MAX}), -DBL_MAX);
}

// Whole multiples of 2^-10 below 2^40 in magnitude: 5,000 of them sum to under 2^53 x 2^-10, 63
// significant bits, which the long double inside value() holds exactly; so value() is the exact
// sum rounded once, as __float128's exact sum rounded to double is.
std::vector<double> moderate_values(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> mant(-(std::int64_t{1} << 40), std::int64_t{1} << 40);
  std::uniform_int_distribution<int> exp(-10, 0);
  std::vector<double> v(n);
  for (double& x : v) x = std::ldexp(static_cast<double>(mant(rng)), exp(rng));
  return v;
}

TEST(ExactSum, ValueIsTheExactSumRounded) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    const std::vector<double> v = moderate_values(5000, seed);
    __extension__ __float128 ref = 0;
    for (const double x : v) ref += x;
    EXPECT_EQ(sum_of(v), static_cast<double>(ref)) << "seed " << seed;
  }
}

// Values spread over the whole double range, both signs.
std::vector<double> wild_values(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> mant(-1.0, 1.0);
  std::uniform_int_distribution<int> exp(-1070, 1000);
  std::vector<double> v(n);
  for (double& x : v) x = std::ldexp(mant(rng), exp(rng));
  return v;
}

TEST(ExactSum, AnyOrderAndAnySplitGiveTheSameSum) {
  std::vector<double> v = wild_values(20000, 7);
  for (std::size_t k = 0; k < v.size(); k += 3) v.push_back(-v[k]);  // cancellations too
  ExactSum in_order;
  for (const double x : v) in_order.add(x);
  std::mt19937 rng(11);
  for (int trial = 0; trial < 5; ++trial) {
    std::shuffle(v.begin(), v.end(), rng);
    // Split into random parts, summed apart, merged in a random order.
    std::vector<ExactSum> parts(1 + static_cast<std::size_t>(trial) * 7);
    for (std::size_t k = 0; k < v.size(); ++k) parts[rng() % parts.size()].add(v[k]);
    std::shuffle(parts.begin(), parts.end(), rng);
    ExactSum merged;
    for (const ExactSum& p : parts) merged.merge(p);
    EXPECT_TRUE(merged == in_order) << "trial " << trial;
    EXPECT_EQ(merged.to_compact(), in_order.to_compact());
    EXPECT_EQ(merged.value(), in_order.value());
  }
}

TEST(ExactSum, CompactFormRoundTripsAndIsChecked) {
  std::vector<double> v = wild_values(1000, 3);
  ExactSum s;
  for (const double x : v) s.add(x);
  const std::vector<std::int64_t> c = s.to_compact();
  EXPECT_TRUE(ExactSum::from_compact(c) == s);
  EXPECT_TRUE(ExactSum::from_compact({}) == ExactSum{});
  EXPECT_TRUE(ExactSum{}.to_compact().empty());
  std::vector<std::int64_t> bad = c;
  bad[0] = ExactSum::kLimbs;  // starts past the last limb
  EXPECT_THROW((void)ExactSum::from_compact(bad), std::invalid_argument);
  bad = {0, -1, 5};  // a lower limb out of [0, 2^32)
  EXPECT_THROW((void)ExactSum::from_compact(bad), std::invalid_argument);
}

}  // namespace
}  // namespace threadx
