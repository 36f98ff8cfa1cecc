// The CSCV inner loops (cscv_kernel.hpp) against plain scalar loops over sharpe_from_sums, on
// values built to defeat the product filter: R within a few ulps of the threshold, variances that
// cancel (|R| up to 1e7), zero, negative and NaN variances, signed zeros, infinities, tiny and
// huge magnitudes, thresholds of 0, -0, tiny, huge and infinite, n < 2.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "robust/cscv_kernel.hpp"
#include "robust/sharpe.hpp"
#include "robust_support.hpp"

namespace threadx::robust {
namespace {

using testing::same_bits;

struct Tile {
  std::vector<double> p1, p2, c1, c2;
  std::vector<std::int64_t> mult;
  std::size_t len = 0;
};

double ulps(double x, int k) {
  for (int i = 0; i < std::abs(k); ++i)
    x = std::nextafter(x, k > 0 ? std::numeric_limits<double>::infinity()
                                : -std::numeric_limits<double>::infinity());
  return x;
}

// Sums (s1, s2) for n returns: a mixture of hard cases. Split into parent + column in one of
// three ways (the kernel adds them; the scalar reference adds them the same way).
Tile make_tile(std::mt19937_64& rng, std::size_t len, std::int64_t n, double anchor_s1,
               double anchor_s2) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> z(0.0, 1.0);
  const double inf = std::numeric_limits<double>::infinity();
  const double dn = static_cast<double>(n);
  Tile t;
  t.len = len;
  const std::size_t even = (len + 1) / 2 * 2;
  t.p1.assign(even, 0.0);
  t.p2.assign(even, 0.0);
  t.c1.assign(even, 0.0);
  t.c2.assign(even, 0.0);
  t.mult.assign(even, 0);
  for (std::size_t i = 0; i < len; ++i) {
    double s1 = 0, s2 = 0;
    const int kind = static_cast<int>(u(rng) * 12);
    const double scale = std::pow(10.0, -3.0 + 2.0 * z(rng));
    switch (kind) {
      case 0:  // near the anchor (whose R is the threshold): a few ulps either way
        s1 = ulps(anchor_s1, static_cast<int>(u(rng) * 7) - 3);
        s2 = ulps(anchor_s2, static_cast<int>(u(rng) * 7) - 3);
        break;
      case 1:  // the anchor itself, or its negation
        s1 = u(rng) < 0.5 ? anchor_s1 : -anchor_s1;
        s2 = anchor_s2;
        break;
      case 2:  // cancelling variance: s2 just above s1^2/n, |R| large
        s1 = scale * z(rng);
        s2 = s1 * s1 / dn * (1.0 + std::pow(10.0, -14.0 + 10.0 * u(rng)));
        break;
      case 3:  // zero or negative variance
        s1 = scale * z(rng);
        s2 = s1 * s1 / dn * (u(rng) < 0.5 ? 1.0 : 0.999);
        break;
      case 4:  // signed zeros
        s1 = u(rng) < 0.5 ? 0.0 : -0.0;
        s2 = u(rng) < 0.5 ? 0.0 : scale;
        break;
      case 5: {  // non-finite
        const double specials[] = {inf, -inf, std::numeric_limits<double>::quiet_NaN(), 1.0};
        s1 = specials[static_cast<int>(u(rng) * 4)];
        s2 = specials[static_cast<int>(u(rng) * 4)];
        break;
      }
      case 6:  // tiny and huge magnitudes
        s1 = std::pow(10.0, -320.0 + 640.0 * u(rng)) * (u(rng) < 0.5 ? -1 : 1);
        s2 = std::pow(10.0, -320.0 + 640.0 * u(rng));
        break;
      case 7:  // at the edge of the filter's region: s1^2 = n s2 / 2
        s1 = scale * z(rng);
        s2 = ulps(2.0 * s1 * s1 / dn, static_cast<int>(u(rng) * 5) - 2);
        break;
      default: {  // realistic: per-bar mean and volatility
        const double sigma = 0.001 + 0.01 * u(rng), mu = 0.001 * z(rng);
        s1 = dn * mu + std::sqrt(dn) * sigma * z(rng);
        s2 = dn * (sigma * sigma + mu * mu) * (0.3 + u(rng));
        break;
      }
    }
    switch (static_cast<int>(u(rng) * 3)) {  // how the sums are cut into parent + column
      case 0:
        t.p1[i] = s1, t.p2[i] = s2;
        break;
      case 1:
        t.c1[i] = s1, t.c2[i] = s2;
        break;
      default:
        t.p1[i] = s1 * 0.375, t.c1[i] = s1 - t.p1[i];
        t.p2[i] = s2 * 0.625, t.c2[i] = s2 - t.p2[i];
        break;
    }
    t.mult[i] = 1 + static_cast<std::int64_t>(u(rng) * 5);
  }
  return t;
}

TEST(RobustCscvKernel, FilterNeverChangesARankOrAChoice) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const std::int64_t ns[] = {1, 2, 3, 41, 165, 1000000};
  std::int64_t exact_ties = 0, trials = 0;
  for (int trial = 0; trial < 600; ++trial) {
    const std::int64_t n = ns[trial % 6];
    const double anchor_s1 = (u(rng) - 0.3) * 0.05 * std::sqrt(static_cast<double>(n));
    const double anchor_s2 = 0.0004 * static_cast<double>(n) * (0.5 + u(rng));
    const std::size_t len = 1 + static_cast<std::size_t>(u(rng) * 700);
    const Tile t = make_tile(rng, len, n, anchor_s1, anchor_s2);
    std::vector<double> r(len);
    for (std::size_t i = 0; i < len; ++i)
      r[i] = sharpe_from_sums(t.p1[i] + t.c1[i], t.p2[i] + t.c2[i], n);

    // Thresholds: the anchor's R (so exact ties and 1-ulp neighbours), its negation, 0, -0,
    // tiny, huge, infinite, and an R of the tile.
    const double anchor_r = sharpe_from_sums(anchor_s1, anchor_s2, n);
    const double thresholds[] = {anchor_r,
                                 -anchor_r,
                                 0.0,
                                 -0.0,
                                 1e-60,
                                 -1e60,
                                 std::numeric_limits<double>::infinity(),
                                 r[static_cast<std::size_t>(u(rng) * static_cast<double>(len))]};
    for (const double thr : thresholds) {
      std::int64_t below = 0, equal = 0, want_below = 0, want_equal = 0;
      detail::rank_leaf(t.p1.data(), t.p2.data(), t.c1.data(), t.c2.data(), t.mult.data(), len, n,
                        thr, below, equal);
      for (std::size_t i = 0; i < len; ++i) {
        want_below += r[i] < thr ? t.mult[i] : 0;
        want_equal += r[i] == thr ? t.mult[i] : 0;
      }
      ASSERT_EQ(below, want_below) << "trial " << trial << " n " << n << " threshold " << thr;
      ASSERT_EQ(equal, want_equal) << "trial " << trial << " n " << n << " threshold " << thr;
      exact_ties += want_equal > 0 && thr != 0.0 ? 1 : 0;
      ++trials;

      // Selection, from no best and from a best already set to the threshold (index 7 earlier).
      for (const bool preset : {false, true}) {
        double best = preset ? thr : 0.0;
        std::int64_t index = preset ? 7 : -1;
        detail::select_leaf(t.p1.data(), t.p2.data(), t.c1.data(), t.c2.data(), len, n, 100, best,
                            index);
        double want = preset ? thr : 0.0;
        std::int64_t want_index = preset ? 7 : -1;
        for (std::size_t i = 0; i < len; ++i)
          if (want_index < 0 || r[i] > want) {
            want = r[i];
            want_index = 100 + static_cast<std::int64_t>(i);
          }
        ASSERT_EQ(index, want_index) << "trial " << trial << " preset " << preset;
        ASSERT_TRUE(same_bits(best, want)) << "trial " << trial << " preset " << preset;
      }
    }
  }
  EXPECT_GT(exact_ties, trials / 20);  // the near-threshold cases really were exercised
}

TEST(RobustCscvKernel, AddColumnsAddsInOrder) {
  const std::vector<double> a = {0.0, -0.0, 1.5, 1e308}, b = {-0.0, -0.0, 0.25, 1e308};
  std::vector<double> out(4);
  detail::add_columns(a.data(), b.data(), 4, out.data());
  EXPECT_TRUE(same_bits(out[0], 0.0));   // +0 + -0 = +0
  EXPECT_TRUE(same_bits(out[1], -0.0));  // -0 + -0 = -0
  EXPECT_EQ(out[2], 1.75);
  EXPECT_EQ(out[3], std::numeric_limits<double>::infinity());
}

}  // namespace
}  // namespace threadx::robust
