// Indicator series (see indicators.hpp). Windows are summed directly rather than with a running
// sum: it costs O(n) per bar for n <= a few hundred, and keeps every value independent of the
// bars before its window, so no rounding error accumulates over 100k+ bars.
#include "indicators/indicators.hpp"

#include <cmath>
#include <cstddef>
#include <limits>

namespace threadx {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
std::size_t to_size(int n) {
  return static_cast<std::size_t>(n);
}
}  // namespace

std::vector<double> rolling_mean(const std::vector<double>& x, int n) {
  const std::size_t w = to_size(n);
  std::vector<double> out(x.size(), kNaN);
  for (std::size_t i = w - 1; i < x.size(); ++i) {
    double sum = 0.0;
    for (std::size_t j = i + 1 - w; j <= i; ++j) sum += x[j];
    out[i] = sum / static_cast<double>(n);
  }
  return out;
}

std::vector<double> rolling_pstd(const std::vector<double>& x, std::span<const double> mean,
                                 int n) {
  const std::size_t w = to_size(n);
  std::vector<double> out(x.size(), kNaN);
  for (std::size_t i = w - 1; i < x.size(); ++i) {
    double ss = 0.0;
    for (std::size_t j = i + 1 - w; j <= i; ++j) {
      const double d = x[j] - mean[i];
      ss += d * d;
    }
    out[i] = std::sqrt(ss / static_cast<double>(n));
  }
  return out;
}

std::vector<double> true_range(const std::vector<double>& high, const std::vector<double>& low,
                               const std::vector<double>& close) {
  std::vector<double> tr(close.size());
  if (close.empty()) return tr;
  tr[0] = high[0] - low[0];
  for (std::size_t i = 1; i < close.size(); ++i) {
    const double hl = high[i] - low[i];
    const double hc = std::fabs(high[i] - close[i - 1]);
    const double lc = std::fabs(low[i] - close[i - 1]);
    tr[i] = std::fmax(hl, std::fmax(hc, lc));
  }
  return tr;
}

std::vector<double> atr_wilder(const std::vector<double>& tr, int m) {
  const std::size_t w = to_size(m);
  std::vector<double> out(tr.size(), kNaN);
  if (tr.size() <= w) return out;
  double sum = 0.0;
  for (std::size_t j = 1; j <= w; ++j) sum += tr[j];
  const double md = static_cast<double>(m);
  out[w] = sum / md;
  for (std::size_t i = w + 1; i < tr.size(); ++i) out[i] = (out[i - 1] * (md - 1.0) + tr[i]) / md;
  return out;
}

std::vector<double> ema(const std::vector<double>& x, int t) {
  const std::size_t w = to_size(t);
  std::vector<double> out(x.size(), kNaN);
  if (x.size() < w) return out;
  const double td = static_cast<double>(t);
  const double alpha = 2.0 / (td + 1.0);
  double sum = 0.0;
  for (std::size_t j = 0; j < w; ++j) sum += x[j];
  out[w - 1] = sum / td;
  for (std::size_t i = w; i < x.size(); ++i) out[i] = out[i - 1] + alpha * (x[i] - out[i - 1]);
  return out;
}

}  // namespace threadx
