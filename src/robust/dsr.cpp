#include "robust/dsr.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include <fmt/format.h>

#include "common/error.hpp"
#include "robust/normal.hpp"
#include "robust/sharpe.hpp"

namespace threadx::robust {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool ranks_before(const RankedCombination& a, const RankedCombination& b) {
  return a.sharpe > b.sharpe || (a.sharpe == b.sharpe && a.id < b.id);
}

void check_k(std::int64_t k) {
  if (k < 1) throw InputError(fmt::format("dsr: K = {} combinations, expected K >= 1", k));
}

}  // namespace

std::vector<RankedCombination> top_by_sharpe(const BlockMatrix& rows, std::int64_t k) {
  check_k(k);
  validate(rows);
  const auto keep = static_cast<std::size_t>(std::min(k, rows.rows()));
  std::vector<RankedCombination> best;
  best.reserve(keep + 1);
  for (std::int64_t r = 0; r < rows.rows(); ++r) {
    const RankedCombination c{rows.id(r), whole_run_sharpe(rows.row(r), rows.returns_per_block)};
    if (best.size() == keep && !ranks_before(c, best.back())) continue;
    best.insert(std::upper_bound(best.begin(), best.end(), c, ranks_before), c);
    if (best.size() > keep) best.pop_back();
  }
  return best;
}

void merge_top(std::vector<RankedCombination>& into, const std::vector<RankedCombination>& from,
               std::int64_t k) {
  check_k(k);
  std::vector<RankedCombination> all;
  all.reserve(into.size() + from.size());
  std::merge(into.begin(), into.end(), from.begin(), from.end(), std::back_inserter(all),
             ranks_before);
  if (all.size() > static_cast<std::size_t>(k)) all.resize(static_cast<std::size_t>(k));
  into = std::move(all);
}

double expected_max_sharpe(std::int64_t trials, double var_sharpe) {
  if (trials < 2) return 0.0;
  const double n = static_cast<double>(trials);
  const double z1 = normal_quantile(1.0 - 1.0 / n);
  const double z2 = normal_quantile(1.0 - 1.0 / (n * std::numbers::e));
  return std::sqrt(var_sharpe) * ((1.0 - kEulerGamma) * z1 + kEulerGamma * z2);
}

TrialStats trial_stats(const StreamSet& all_streams) {
  const std::size_t n = all_streams.size();
  if (n == 0) throw InputError("dsr: no combinations");
  TrialStats t;
  t.trials = static_cast<std::int64_t>(n);
  if (n < 2) {
    t.var_sharpe = kNaN;
    t.sr0 = 0.0;
    return t;
  }
  std::vector<double> sr(n);
  for (std::size_t i = 0; i < n; ++i) sr[i] = all_streams.whole_run_sharpe(i);
  double sum = 0.0;
  for (const double x : sr) sum += x;
  const double mean = sum / static_cast<double>(n);
  double ss = 0.0;
  for (const double x : sr) {
    const double dx = x - mean;
    ss += dx * dx;
  }
  t.var_sharpe = ss / static_cast<double>(n - 1);
  t.sr0 = expected_max_sharpe(t.trials, t.var_sharpe);
  return t;
}

ReturnMoments return_moments(std::span<const double> returns) {
  if (returns.empty()) throw InputError("dsr: the selected combination has no returns");
  ReturnMoments m;
  m.returns = static_cast<std::int64_t>(returns.size());
  double s1 = 0.0, s2 = 0.0;
  for (const double r : returns) {
    s1 += r;
    s2 += r * r;
  }
  m.sharpe = sharpe_from_sums(s1, s2, m.returns);
  const double t = static_cast<double>(m.returns);
  const double mean = s1 / t;
  double c2 = 0.0, c3 = 0.0, c4 = 0.0;
  for (const double r : returns) {
    const double dev = r - mean;
    const double dev2 = dev * dev;
    c2 += dev2;
    c3 += dev2 * dev;
    c4 += dev2 * dev2;
  }
  const double inv_t = 1.0 / t;
  m.m2 = inv_t * c2;
  const double m3 = inv_t * c3, m4 = inv_t * c4;
  if (m.m2 == 0.0) {
    m.skewness = m.kurtosis = kNaN;
  } else {
    m.skewness = m3 / (m.m2 * std::sqrt(m.m2));
    m.kurtosis = m4 / (m.m2 * m.m2);
  }
  return m;
}

double probabilistic_sharpe(double sharpe, double benchmark, std::int64_t returns, double skewness,
                            double kurtosis) {
  const double arg = 1.0 - skewness * sharpe + (kurtosis - 1.0) / 4.0 * (sharpe * sharpe);
  if (!(arg > 0) || returns < 1) return kNaN;
  const double z =
      (sharpe - benchmark) * std::sqrt(static_cast<double>(returns - 1)) / std::sqrt(arg);
  if (std::isnan(z)) return kNaN;
  return normal_cdf(z);
}

DsrRow dsr_row(std::int64_t combo_id, std::span<const double> returns, const TrialStats& trials) {
  const ReturnMoments m = return_moments(returns);
  DsrRow row;
  row.combo_id = combo_id;
  row.sharpe = m.sharpe;
  row.skewness = m.skewness;
  row.kurtosis = m.kurtosis;
  row.trials = trials.trials;
  row.var_sharpe = trials.var_sharpe;
  row.sr0 = trials.sr0;
  if (m.m2 == 0.0) {
    row.dsr = row.psr0 = kNaN;
  } else {
    row.dsr = probabilistic_sharpe(m.sharpe, trials.sr0, m.returns, m.skewness, m.kurtosis);
    row.psr0 = probabilistic_sharpe(m.sharpe, 0.0, m.returns, m.skewness, m.kurtosis);
  }
  return row;
}

}  // namespace threadx::robust
