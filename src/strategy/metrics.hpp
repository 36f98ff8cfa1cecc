// The per-combination metrics of STRATEGY.md and their names (one table for HDF5 columns,
// `threadx top --by`, and the docs).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace threadx {

struct Metrics {
  double total_return;
  double sharpe;
  double sortino;
  double max_drawdown;
  std::int64_t trades;
  double win_rate;
  double profit_factor;
  double expectancy;
  double exposure;
  double fees;
  double final_equity;
};

struct MetricSpec {
  std::string_view name;
  std::string_view help;
};

inline constexpr std::array<MetricSpec, 11> kMetrics{{
    {"total_return", "E[N-1]/initial_capital - 1"},
    {"sharpe", "mean(r)/stdev(r)*sqrt(bars per year)"},
    {"sortino", "mean(r)/sqrt(mean(min(r,0)^2))*sqrt(bars per year)"},
    {"max_drawdown", "largest fall from a running equity peak, a fraction"},
    {"trades", "closed trades, the final forced exit included"},
    {"win_rate", "trades with pnl > 0 / trades"},
    {"profit_factor", "sum of gains / sum of losses (+inf: no loss)"},
    {"expectancy", "mean trade pnl, currency"},
    {"exposure", "fraction of bars with a position open at the close"},
    {"fees", "total fees paid"},
    {"final_equity", "E[N-1]"},
}};

// Metric i of m as a double (trades converted), in kMetrics order.
inline double metric_value(const Metrics& m, std::size_t i) {
  switch (i) {
    case 0:
      return m.total_return;
    case 1:
      return m.sharpe;
    case 2:
      return m.sortino;
    case 3:
      return m.max_drawdown;
    case 4:
      return static_cast<double>(m.trades);
    case 5:
      return m.win_rate;
    case 6:
      return m.profit_factor;
    case 7:
      return m.expectancy;
    case 8:
      return m.exposure;
    case 9:
      return m.fees;
    default:
      return m.final_equity;
  }
}

// The index in kMetrics of the metric called `name`, or kMetrics.size() when there is none.
inline std::size_t metric_index(std::string_view name) {
  std::size_t i = 0;
  while (i < kMetrics.size() && kMetrics[i].name != name) ++i;
  return i;
}

// Whether a smaller value of metric i is better (max_drawdown, fees).
inline bool lower_is_better(std::size_t i) {
  return kMetrics[i].name == "max_drawdown" || kMetrics[i].name == "fees";
}

// "total_return, sharpe, ...": the metric names, for error messages.
inline std::string metric_names() {
  std::string names;
  for (const MetricSpec& m : kMetrics) {
    if (!names.empty()) names += ", ";
    names += m.name;
  }
  return names;
}

}  // namespace threadx
