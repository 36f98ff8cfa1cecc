// Indicator series of STRATEGY.md, each computed over a whole bar series. Values before a series
// is defined are NaN. Arithmetic follows the spec's definitions literally (direct window sums,
// two-pass population variance, Wilder ATR seeded with mean(tr[1..m]), EMA seeded with a mean),
// so every backend reads the same doubles.
#pragma once

#include <span>
#include <vector>

namespace threadx {

// mid_n[i] = mean(x[i-n+1 .. i]), defined for i >= n-1.
std::vector<double> rolling_mean(const std::vector<double>& x, int n);
// Population standard deviation (divide by n) of the same window, around rolling_mean.
std::vector<double> rolling_pstd(const std::vector<double>& x, std::span<const double> mean, int n);
// tr[0] = h[0]-l[0]; tr[i] = max(h[i]-l[i], |h[i]-c[i-1]|, |l[i]-c[i-1]|).
std::vector<double> true_range(const std::vector<double>& high, const std::vector<double>& low,
                               const std::vector<double>& close);
// Wilder ATR as TA-Lib: atr[m] = mean(tr[1..m]); atr[i] = (atr[i-1]*(m-1) + tr[i]) / m.
std::vector<double> atr_wilder(const std::vector<double>& tr, int m);
// ema[t-1] = mean(x[0..t-1]); ema[i] = ema[i-1] + alpha*(x[i]-ema[i-1]), alpha = 2/(t+1).
std::vector<double> ema(const std::vector<double>& x, int t);

}  // namespace threadx
