#include "report/rerun.hpp"

#include <cmath>

#include "common/error.hpp"
#include "strategies/bb_atr/spec.hpp"
#include "strategy/block_recorder.hpp"

namespace threadx::report {

Rerun rerun_combination(const Grid& grid, IndicatorBank& bank, ComboId id) {
  if (id >= grid.size())
    throw InputError("combination id " + std::to_string(id) + " is outside the grid (" +
                     std::to_string(grid.size()) + " combinations)");
  const bb_atr::Params key = bb_atr::decode(grid.key_of_group(id / grid.group_size()));
  const bb_atr::SeriesView s = bank.group_view(key.bb_period, key.atr_period, key.trend_period);
  const bb_atr::Params sp = bb_atr::decode(grid.values_of(id));
  const bb_atr::LaneParams<double> p = bb_atr::lane_params<double>(sp);
  const auto n = static_cast<std::size_t>(s.n_bars);

  Rerun out;
  out.equity.assign(n, sp.initial_capital);
  Overlay upper{"upper band", std::vector<double>(n, std::nan(""))};
  Overlay mid{"middle band", std::vector<double>(n, std::nan(""))};
  Overlay lower{"lower band", std::vector<double>(n, std::nan(""))};
  for (std::size_t i = static_cast<std::size_t>(key.bb_period) - 1; i < n; ++i) {
    mid.value[i] = s.mid[i];
    upper.value[i] = s.mid[i] + sp.bb_std * s.sd[i];
    lower.value[i] = s.mid[i] - sp.bb_std * s.sd[i];
  }
  out.overlays = {upper, mid, lower};

  // run_one's loop (every bar stepped), watching the state for entries and exits.
  bb_atr::State<double> st;
  bb_atr::init(st, p);
  NoBlocks blocks;
  const bool trend = s.ema != nullptr;
  Trade open;
  for (std::int64_t i = bb_atr::first_bar(s); i < s.n_bars; ++i) {
    const double side_before = st.side;
    const double trades_before = st.trades;
    const double pnl_before = st.pnl_sum;
    const bb_atr::BarInputs b = bb_atr::bar_inputs(s, i);
    double e = bb_atr::step(st, p, b, static_cast<double>(i), i >= s.warmup, trend);
    // An entry happens only on a bar that started flat, so never on an exit bar; checked before
    // finish() so that a position opened on the last bar and closed at once is recorded too.
    if (side_before == 0.0 && st.side != 0.0) {
      open = Trade{};
      open.entry_bar = i;
      open.side = st.side > 0.0 ? 1 : -1;
      open.entry_price = st.entry_price;
    }
    if (i == s.n_bars - 1) e = bb_atr::finish(st, p, b.c);
    if (st.trades > trades_before) {
      open.exit_bar = i;
      open.exit_close = b.c;
      open.pnl = st.pnl_sum - pnl_before;
      out.trades.push_back(open);
    }
    bb_atr::observe(st, e, i > 0, blocks);
    out.equity[static_cast<std::size_t>(i)] = e;
  }
  out.metrics = bb_atr::metrics_of(st, sp.initial_capital, static_cast<double>(s.n_bars),
                                   bank.bars().bars_per_year());
  return out;
}

}  // namespace threadx::report
