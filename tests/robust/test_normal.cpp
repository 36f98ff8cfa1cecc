// The standard normal CDF and its inverse, against quantiles computed to 25 digits elsewhere
// (of the double nearest each p, which is what the function is given).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "robust/normal.hpp"
#include "robust_support.hpp"

namespace threadx::robust {
namespace {

void expect_relative(double got, double want, double rel, const char* what) {
  EXPECT_LE(std::fabs(got - want), rel * std::fabs(want)) << what << ": " << got << " vs " << want;
}

TEST(RobustNormal, QuantilesToAFewUlps) {
  struct Case {
    double p, z;
  };
  const Case cases[] = {
      {0.75, 0.674489750196081743202227},
      {0.9, 1.281551565544600593487448},
      {0.975, 1.959963984540053855604431},
      {0.99, 2.326347874040840767637189},
      {0.999, 3.090232306167813277758202},
      {1e-10, -6.361340902404056199100397},
      {0.025, -1.959963984540054211779584},
      {1e-300, -37.04709629936119923654704},
      {0.3, -0.5244005127080408159694544},
      {0.02425, -1.972961051311884837602748},
      {0.0001, -3.719016485455680552287564},
      {0.02, -2.053748910631823044338639},
      {0.2, -0.8416212335729141655224906},
      {2.0 / 3.0, 0.4307272992954573884252553},
      {1.0 - 1.0 / (100.0 * 2.718281828459045), 2.680210444966887533346313},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.p);
    expect_relative(normal_quantile(c.p), c.z, 1e-15, "Z(p)");
  }
}

TEST(RobustNormal, QuantileEdgesAndSymmetry) {
  EXPECT_EQ(normal_quantile(0.5), 0.0);
  EXPECT_EQ(normal_quantile(0.0), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(normal_quantile(1.0), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(normal_quantile(-0.1)));
  EXPECT_TRUE(std::isnan(normal_quantile(1.5)));
  EXPECT_TRUE(std::isnan(normal_quantile(std::numeric_limits<double>::quiet_NaN())));
  // For p > 1/2, Z(p) = -Z(1 - p) with 1 - p exact: the two tails are mirror images bit for bit.
  // (p = 1 - q is rounded, so 1 - p need not be q: the mirror is taken of 1 - p itself.)
  for (const double q : {0.25, 0.1, 0.01, 1e-5, 1e-12}) {
    const double p = 1.0 - q;
    EXPECT_TRUE(testing::same_bits(normal_quantile(p), -normal_quantile(1.0 - p))) << q;
  }
}

TEST(RobustNormal, CdfKnownValues) {
  EXPECT_EQ(normal_cdf(0.0), 0.5);
  expect_relative(normal_cdf(-1.0), 0.15865525393145705, 1e-15, "Phi(-1)");
  expect_relative(normal_cdf(3.0), 0.9986501019683699, 1e-15, "Phi(3)");
  expect_relative(normal_cdf(-8.0), 6.220960574271784e-16, 1e-14, "Phi(-8)");
  expect_relative(normal_cdf(1.959963984540054), 0.975, 1e-15, "Phi(1.96)");
  EXPECT_EQ(normal_cdf(-std::numeric_limits<double>::infinity()), 0.0);
  EXPECT_EQ(normal_cdf(std::numeric_limits<double>::infinity()), 1.0);
}

TEST(RobustNormal, RoundTripOverThreeHundredDecades) {
  // Phi(Z(p)) = p to the accuracy the conditioning allows: an error of one ulp in x = Z(p) moves
  // Phi(x) by a relative |x| * ulp(x) ~ x^2 * eps, so the bound is 4 eps (1 + x^2) (1.6e-13 at
  // p = 1e-300, x = -37; 2e-15 near the centre).
  constexpr double eps = std::numeric_limits<double>::epsilon();
  for (double p = 1e-300; p < 0.5; p *= 1.37) {
    const double x = normal_quantile(p);
    const double tol = 4.0 * eps * (1.0 + x * x);
    expect_relative(normal_cdf(x), p, tol, "Phi(Z(p))");
    // The upper tail: u = 1 - p (rounded) has the exact complement 1 - u, and
    // 1 - Phi(Z(u)) = Phi(-Z(u)) must give it back.
    const double u = 1.0 - p;
    if (u < 1.0) {
      const double xu = normal_quantile(u);
      expect_relative(normal_cdf(-xu), 1.0 - u, 4.0 * eps * (1.0 + xu * xu), "Phi(-Z(1-p))");
    }
  }
}

}  // namespace
}  // namespace threadx::robust
