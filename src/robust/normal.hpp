// The standard normal distribution function and its inverse, for the Deflated Sharpe Ratio. No
// external library: Phi from std::erfc, the quantile by Acklam's rational approximation (relative
// error below 1.2e-9) polished by one Halley step on std::erf/std::erfc, which brings it to a few
// units in the last place.
#pragma once

namespace threadx::robust {

// Phi(x) = erfc(-x / sqrt(2)) / 2.
double normal_cdf(double x);

// Z(p), the x with Phi(x) = p: -inf for p = 0, +inf for p = 1, NaN outside [0, 1] or for NaN.
// For p > 1/2 it is -Z(1 - p) (1 - p is exact there), so the upper tail is as accurate as the
// lower.
double normal_quantile(double p);

}  // namespace threadx::robust
