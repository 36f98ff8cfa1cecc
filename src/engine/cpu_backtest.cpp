// CPU execution of a work unit (see cpu_backtest.hpp). The SIMD path packs kLanes combinations
// of the unit into one vector state and walks the bars once for all of them; a short last block
// repeats its last combination in the spare lanes and discards them.
#include "engine/cpu_backtest.hpp"

#include <array>
#include <cstddef>

#include "strategy/simd.hpp"

namespace threadx {
namespace {

using bb_atr::kLanes;
using bb_atr::VecD;

void run_block_simd(const bb_atr::SeriesView& view, const std::array<StrategyParams, kLanes>& sp,
                    std::size_t used, double bars_per_year, Metrics* out) {
  bb_atr::LaneParams<VecD> p{};
  for (std::size_t j = 0; j < kLanes; ++j) {
    const bb_atr::LaneParams<double> q = bb_atr::lane_params<double>(sp[j]);
    p.k[j] = q.k;
    p.a[j] = q.a;
    p.max_hold[j] = q.max_hold;
    p.spacing[j] = q.spacing;
    p.trailing[j] = q.trailing;
    p.risk[j] = q.risk;
    p.leverage[j] = q.leverage;
    p.f[j] = q.f;
    p.s[j] = q.s;
    p.initial[j] = q.initial;
  }
  bb_atr::State<VecD> st;
  bb_atr::init(st, p);
  const bool trend = view.ema != nullptr;
  const std::int64_t n = view.n_bars;
  for (std::int64_t i = bb_atr::first_bar(view); i < n; ++i) {
    const bb_atr::BarInputs b = bb_atr::bar_inputs(view, i);
    VecD e = bb_atr::step(st, p, b, static_cast<double>(i), i >= view.warmup, trend);
    if (i == n - 1) e = bb_atr::finish(st, p, b.c);
    bb_atr::observe(st, e, i > 0);
  }
  for (std::size_t j = 0; j < used; ++j)
    out[j] = bb_atr::metrics_of(bb_atr::lane_state(st, j), sp[j].initial_capital,
                                static_cast<double>(n), bars_per_year);
}

}  // namespace

void run_unit_cpu(const Grid& grid, IndicatorBank& bank, const WorkUnit& unit, Metrics* out,
                  LaneMode mode) {
  const Grid::Key key = grid.key_of_group(unit.group);
  const bb_atr::SeriesView view = bank.group_view(key.bb_period, key.atr_period, key.trend_period);
  const double bars_per_year = bank.bars().bars_per_year();
  if (mode == LaneMode::Scalar) {
    for (ComboId id = unit.begin; id < unit.end; ++id)
      out[id - unit.begin] = bb_atr::run_one(view, grid.params_of(id), bars_per_year);
    return;
  }
  std::array<StrategyParams, kLanes> sp{};
  for (ComboId id = unit.begin; id < unit.end; id += kLanes) {
    const std::size_t used = static_cast<std::size_t>(std::min<ComboId>(kLanes, unit.end - id));
    for (std::size_t j = 0; j < kLanes; ++j) sp[j] = grid.params_of(id + std::min(j, used - 1));
    run_block_simd(view, sp, used, bars_per_year, out + (id - unit.begin));
  }
}

}  // namespace threadx
