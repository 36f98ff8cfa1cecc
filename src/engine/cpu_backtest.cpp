// CPU execution of a work unit (see cpu_backtest.hpp). The SIMD path packs kLanes combinations
// of the unit into one vector state and walks the bars once for all of them; a short last block
// repeats its last combination in the spare lanes and discards them. Bars at which every lane of
// a block is flat and none has an entry signal are skipped (bb_atr::run_bars): the unit lists,
// once per band width k, the bars with a signal.
#include "engine/cpu_backtest.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <vector>

#include "strategy/simd.hpp"

namespace threadx {
namespace {

using bb_atr::kLanes;
using bb_atr::VecD;

// The entry-candidate bars of one key group, per band width k, built on first use.
class Candidates {
 public:
  explicit Candidates(const bb_atr::SeriesView& view) : view_(view) {}

  const std::vector<std::int32_t>& of(double k) {
    for (const Entry& e : lists_)
      if (e.k == k) return e.bars;
    Entry& e = lists_.emplace_back();
    e.k = k;
    for (std::int64_t i = view_.warmup; i < view_.n_bars; ++i)
      if (bb_atr::entry_candidate(view_, i, k)) e.bars.push_back(static_cast<std::int32_t>(i));
    return e.bars;
  }

  // The union of the lists of the lanes' k values (usually all equal).
  const std::vector<std::int32_t>& of(const std::array<StrategyParams, kLanes>& sp) {
    bool same = true;
    for (std::size_t j = 1; j < kLanes; ++j) same = same && sp[j].bb_std == sp[0].bb_std;
    if (same) return of(sp[0].bb_std);
    merged_.clear();
    for (std::size_t j = 0; j < kLanes; ++j) {
      const std::vector<std::int32_t>& l = of(sp[j].bb_std);
      scratch_.clear();
      std::set_union(merged_.begin(), merged_.end(), l.begin(), l.end(),
                     std::back_inserter(scratch_));
      merged_.swap(scratch_);
    }
    return merged_;
  }

 private:
  struct Entry {
    double k = 0.0;
    std::vector<std::int32_t> bars;
  };
  bb_atr::SeriesView view_;
  std::vector<Entry> lists_;
  std::vector<std::int32_t> merged_, scratch_;
};

void run_block_simd(const bb_atr::SeriesView& view, const std::array<StrategyParams, kLanes>& sp,
                    std::size_t used, double bars_per_year, const std::vector<std::int32_t>& cand,
                    Metrics* out) {
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
  bb_atr::run_bars(st, p, view, cand.data(), cand.data() + cand.size());
  for (std::size_t j = 0; j < used; ++j)
    out[j] = bb_atr::metrics_of(bb_atr::lane_state(st, j), sp[j].initial_capital,
                                static_cast<double>(view.n_bars), bars_per_year);
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
  Candidates candidates(view);
  std::array<StrategyParams, kLanes> sp{};
  // The value indices of id, stepped like an odometer (no division per id).
  std::array<std::uint32_t, kParamCount> idx = grid.indices_of(unit.begin);
  const auto next = [&] {
    for (std::size_t k = kParamCount; k-- > 0;) {  // least significant digit first
      const ParamId q = kIdOrder[k];
      if (++idx[q] < grid.values[q].size()) return;
      idx[q] = 0;
    }
  };
  for (ComboId id = unit.begin; id < unit.end; id += kLanes) {
    const std::size_t used = static_cast<std::size_t>(std::min<ComboId>(kLanes, unit.end - id));
    for (std::size_t j = 0; j < used; ++j) {
      sp[j] = grid.params_at(idx);
      next();
    }
    for (std::size_t j = used; j < kLanes; ++j) sp[j] = sp[used - 1];
    run_block_simd(view, sp, used, bars_per_year, candidates.of(sp), out + (id - unit.begin));
  }
}

}  // namespace threadx
