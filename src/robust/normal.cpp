#include "robust/normal.hpp"

#include <cmath>
#include <limits>
#include <numbers>

namespace threadx::robust {
namespace {

// Acklam's coefficients (P. J. Acklam, "An algorithm for computing the inverse normal cumulative
// distribution function", 2003).
constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                        1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                        6.680131188771972e+01, -1.328068155288572e+01};
constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                        -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                        3.754408661907416e+00};
constexpr double kLowBreak = 0.02425;

// Z(q) for 0 < q <= 1/2.
double lower_quantile(double q) {
  double x;
  if (q < kLowBreak) {
    const double t = std::sqrt(-2.0 * std::log(q));
    x = (((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5]) /
        ((((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1.0);
  } else {
    const double u = q - 0.5, r = u * u;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * u /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  }
  // One Halley step on f(x) = Phi(x) - q. Near the centre the residual is taken as
  // erf(x/sqrt2)/2 - (q - 1/2) (q - 1/2 is exact for q >= 1/4), so it keeps its relative
  // accuracy where x is small; in the tail erfc carries it.
  const double e = q >= 0.25 ? 0.5 * std::erf(x * std::numbers::sqrt2 / 2.0) - (q - 0.5)
                             : 0.5 * std::erfc(-x * std::numbers::sqrt2 / 2.0) - q;
  const double u = e * std::sqrt(2.0 * std::numbers::pi) * std::exp(x * x / 2.0);
  if (std::isfinite(u)) x = x - u / (1.0 + x * u / 2.0);
  return x;
}

}  // namespace

double normal_cdf(double x) {
  return 0.5 * std::erfc(-x * std::numbers::sqrt2 / 2.0);
}

double normal_quantile(double p) {
  if (!(p >= 0.0 && p <= 1.0)) return std::numeric_limits<double>::quiet_NaN();
  if (p == 0.0) return -std::numeric_limits<double>::infinity();
  if (p == 1.0) return std::numeric_limits<double>::infinity();
  if (p > 0.5) return -lower_quantile(1.0 - p);
  return lower_quantile(p);
}

}  // namespace threadx::robust
