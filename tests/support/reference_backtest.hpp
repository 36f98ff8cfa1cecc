// An independent, deliberately naive implementation of STRATEGY.md for tests: plain loops, if/else
// branches, per-bar equity arrays and two-pass statistics, written from the spec text without
// reusing any engine code. The engine (scalar, SIMD, any thread or unit count) must agree with it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "strategies/bb_atr/spec.hpp"
#include "strategy/metrics.hpp"

namespace threadx::testing {

struct RefSeries {
  std::vector<double> mid, sd, atr, ema;  // ema empty when the trend filter is off
};

inline RefSeries reference_indicators(const std::vector<double>& h, const std::vector<double>& l,
                                      const std::vector<double>& c, int n, int m, int t) {
  const auto N = c.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  RefSeries s;
  s.mid.assign(N, nan);
  s.sd.assign(N, nan);
  s.atr.assign(N, nan);
  for (std::size_t i = static_cast<std::size_t>(n) - 1; i < N; ++i) {
    double sum = 0;
    for (std::size_t j = i + 1 - static_cast<std::size_t>(n); j <= i; ++j) sum += c[j];
    const double mean = sum / n;
    double ss = 0;
    for (std::size_t j = i + 1 - static_cast<std::size_t>(n); j <= i; ++j)
      ss += (c[j] - mean) * (c[j] - mean);
    s.mid[i] = mean;
    s.sd[i] = std::sqrt(ss / n);
  }
  std::vector<double> tr(N);
  tr[0] = h[0] - l[0];
  for (std::size_t i = 1; i < N; ++i)
    tr[i] = std::max({h[i] - l[i], std::fabs(h[i] - c[i - 1]), std::fabs(l[i] - c[i - 1])});
  const auto um = static_cast<std::size_t>(m);
  if (um < N) {
    double sum = 0;
    for (std::size_t j = 1; j <= um; ++j) sum += tr[j];
    s.atr[um] = sum / m;
    for (std::size_t i = um + 1; i < N; ++i) s.atr[i] = (s.atr[i - 1] * (m - 1) + tr[i]) / m;
  }
  if (t > 0) {
    s.ema.assign(N, nan);
    const auto ut = static_cast<std::size_t>(t);
    if (ut <= N) {
      double sum = 0;
      for (std::size_t j = 0; j < ut; ++j) sum += c[j];
      s.ema[ut - 1] = sum / t;
      const double alpha = 2.0 / (t + 1);
      for (std::size_t i = ut; i < N; ++i) s.ema[i] = s.ema[i - 1] + alpha * (c[i] - s.ema[i - 1]);
    }
  }
  return s;
}

struct RefTrade {
  int side;
  std::int64_t entry_bar, exit_bar;
  double pnl;
};

struct RefResult {
  Metrics metrics{};
  std::vector<double> equity;
  std::vector<RefTrade> trades;
};

inline RefResult reference_backtest(const std::vector<double>& c, const RefSeries& ind,
                                    const bb_atr::Params& p, double bars_per_year) {
  const auto N = static_cast<std::int64_t>(c.size());
  const double f = p.fee_bps / 1e4, s = p.slippage_bps / 1e4, a = p.atr_multiplier;
  const std::int64_t warmup = std::max({p.bb_period, p.atr_period, p.trend_period});
  RefResult out;
  double cash = p.initial_capital;
  int side = 0;
  double qty = 0, entry_price = 0, stop = 0, fee_in = 0, fees = 0;
  std::int64_t entry_bar = 0, last_entry_bar = 0, exposure = 0;
  bool entered_before = false;

  auto exit_at = [&](std::int64_t i) {
    const double p_out = side > 0 ? c[static_cast<std::size_t>(i)] * (1 - s)
                                  : c[static_cast<std::size_t>(i)] * (1 + s);
    const double fee_out = qty * p_out * f;
    const double pnl = side * qty * (p_out - entry_price) - fee_in - fee_out;
    cash += side * qty * (p_out - entry_price) - fee_out;
    fees += fee_out;
    out.trades.push_back({side, entry_bar, i, pnl});
    side = 0;
  };

  out.equity.resize(static_cast<std::size_t>(N));
  for (std::int64_t i = 0; i < N; ++i) {
    const auto u = static_cast<std::size_t>(i);
    if (side != 0) {
      bool exit = false;
      if (side > 0 ? c[u] <= stop : c[u] >= stop)
        exit = true;
      else if (side > 0 ? c[u] >= ind.mid[u] : c[u] <= ind.mid[u])
        exit = true;
      else if (i - entry_bar >= p.max_hold_bars)
        exit = true;
      if (exit) {
        exit_at(i);
      } else if (p.trailing_stop) {
        if (side > 0)
          stop = std::max(stop, c[u] - a * ind.atr[u]);
        else
          stop = std::min(stop, c[u] + a * ind.atr[u]);
      }
    } else if (i >= warmup && (!entered_before || i - last_entry_bar >= p.spacing_bars)) {
      const double lower = ind.mid[u] - p.bb_std * ind.sd[u];
      const double upper = ind.mid[u] + p.bb_std * ind.sd[u];
      const double lower_prev = ind.mid[u - 1] - p.bb_std * ind.sd[u - 1];
      const double upper_prev = ind.mid[u - 1] + p.bb_std * ind.sd[u - 1];
      int signal = 0;
      if (c[u] < lower && c[u - 1] >= lower_prev && (p.trend_period == 0 || c[u] > ind.ema[u]))
        signal = 1;
      else if (c[u] > upper && c[u - 1] <= upper_prev && (p.trend_period == 0 || c[u] < ind.ema[u]))
        signal = -1;
      if (signal != 0) {
        const double p_in = signal > 0 ? c[u] * (1 + s) : c[u] * (1 - s);
        const double d = a * ind.atr[u];
        if (d > 0 && cash > 0) {
          side = signal;
          qty = std::min(cash * p.risk_per_trade / d, cash * p.leverage / p_in);
          fee_in = qty * p_in * f;
          cash -= fee_in;
          fees += fee_in;
          entry_price = p_in;
          stop = p_in - side * d;
          entry_bar = last_entry_bar = i;
          entered_before = true;
        }
      }
    }
    if (side != 0) ++exposure;
    out.equity[u] = side != 0 ? cash + side * qty * (c[u] - entry_price) : cash;
  }
  if (side != 0) exit_at(N - 1);
  out.equity[static_cast<std::size_t>(N - 1)] = cash;

  // Metrics, two-pass, from the stored equity curve.
  Metrics& m = out.metrics;
  const std::vector<double>& E = out.equity;
  std::vector<double> r;
  for (std::size_t i = 1; i < E.size(); ++i) r.push_back(E[i - 1] <= 0 ? 0.0 : E[i] / E[i - 1] - 1);
  double mean = 0;
  for (double x : r) mean += x;
  mean /= static_cast<double>(r.size());
  double var = 0, down = 0;
  for (double x : r) {
    var += (x - mean) * (x - mean);
    down += std::min(x, 0.0) * std::min(x, 0.0);
  }
  var = r.size() > 1 ? var / static_cast<double>(r.size() - 1) : 0;
  down = std::sqrt(down / static_cast<double>(r.size()));
  m.final_equity = E.back();
  m.total_return = E.back() / p.initial_capital - 1;
  m.sharpe = var > 0 ? mean / std::sqrt(var) * std::sqrt(bars_per_year) : 0;
  m.sortino = down > 0 ? mean / down * std::sqrt(bars_per_year) : 0;
  double peak = E[0], dd = 0;
  for (double e : E) {
    peak = std::max(peak, e);
    dd = std::max(dd, 1 - e / peak);
  }
  m.max_drawdown = dd;
  m.trades = static_cast<std::int64_t>(out.trades.size());
  double wins = 0, gw = 0, gl = 0, sum = 0;
  for (const RefTrade& t : out.trades) {
    if (t.pnl > 0) {
      wins += 1;
      gw += t.pnl;
    } else if (t.pnl < 0) {
      gl -= t.pnl;
    }
    sum += t.pnl;
  }
  m.win_rate = m.trades ? wins / static_cast<double>(m.trades) : 0;
  m.profit_factor = gl > 0 ? gw / gl : (gw > 0 ? std::numeric_limits<double>::infinity() : 0);
  m.expectancy = m.trades ? sum / static_cast<double>(m.trades) : 0;
  m.exposure = static_cast<double>(exposure) / static_cast<double>(N);
  m.fees = fees;
  return out;
}

}  // namespace threadx::testing
