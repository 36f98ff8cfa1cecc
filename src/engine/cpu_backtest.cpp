// CPU execution of a work unit (see cpu_backtest.hpp). A lane path packs L combinations of the
// unit into one vector state and walks the bars once for all of them (the block kernel of the
// chosen instruction set, engine/lanes/); a short last block repeats its last combination in the
// spare lanes and discards them. Bars at which every lane of a block is flat and none has an entry
// signal are skipped (bb_atr::run_bars): the unit lists, once per band width k, the bars with a
// signal.
#include "engine/cpu_backtest.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <vector>

#include "engine/lanes/lane_kernel.hpp"
#include "strategies/bb_atr/spec.hpp"

namespace threadx {
namespace {

// As many lanes as the widest path has.
constexpr std::size_t kMaxLanes = 8;

lanes::BlockKernel block_kernel(Isa isa) {
  switch (isa) {
    case Isa::Baseline:
      return lanes::run_block_baseline;
#if defined(__x86_64__) || defined(__i386__)
    case Isa::Avx2:
      return lanes::run_block_avx2;
    case Isa::Avx512:
      return lanes::run_block_avx512;
#endif
    default:
      return nullptr;
  }
}

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
  const std::vector<std::int32_t>& of(const bb_atr::Params* sp, std::size_t lanes) {
    bool same = true;
    for (std::size_t j = 1; j < lanes; ++j) same = same && sp[j].bb_std == sp[0].bb_std;
    if (same) return of(sp[0].bb_std);
    merged_.clear();
    for (std::size_t j = 0; j < lanes; ++j) {
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

}  // namespace

void run_unit_cpu(const Grid& grid, IndicatorBank& bank, const WorkUnit& unit, Metrics* out,
                  Isa isa, const BlockOutput& blocks) {
  const bb_atr::Params key = bb_atr::decode(grid.key_of_group(unit.group));
  const bb_atr::SeriesView view = bank.group_view(key.bb_period, key.atr_period, key.trend_period);
  const double bars_per_year = bank.bars().bars_per_year();
  const auto n_bars = static_cast<double>(view.n_bars);
  const lanes::BlockKernel kernel = block_kernel(isa);
  if (kernel == nullptr) {
    BlockCell<double> cells[kMaxBlocks];
    for (ComboId id = unit.begin; id < unit.end; ++id) {
      if (!blocks.enabled()) {
        out[id - unit.begin] =
            bb_atr::run_one(view, bb_atr::decode(grid.values_of(id)), bars_per_year);
        continue;
      }
      out[id - unit.begin] =
          bb_atr::run_one(view, bb_atr::decode(grid.values_of(id)), bars_per_year,
                          BlockRecorder<double>(blocks.starts, blocks.blocks, cells));
      BlockStats* row = blocks.at(id - unit.begin).cells;
      for (int b = 0; b < blocks.blocks; ++b)
        row[b] = BlockStats{cells[b].sum_r, cells[b].sum_r2, cells[b].equity,
                            static_cast<std::int32_t>(cells[b].trades)};
    }
    return;
  }
  const std::size_t lanes = isa_lanes(isa);
  Candidates candidates(view);
  std::array<bb_atr::Params, kMaxLanes> sp{};
  std::array<bb_atr::LaneParams<double>, kMaxLanes> params{};
  std::array<bb_atr::State<double>, kMaxLanes> states{};
  // A short last block's spare lanes write their block rows here, not past the unit's rows.
  std::vector<BlockStats> spare(
      blocks.enabled() ? kMaxLanes * static_cast<std::size_t>(blocks.blocks) : 0);
  // The value indices of id, stepped like an odometer (no division per id).
  ParamIndex idx = grid.indices_of(unit.begin);
  for (ComboId id = unit.begin; id < unit.end; id += lanes) {
    const std::size_t used = static_cast<std::size_t>(std::min<ComboId>(lanes, unit.end - id));
    for (std::size_t j = 0; j < used; ++j) {
      sp[j] = bb_atr::decode(grid.values_at(idx));
      grid.advance(idx);
    }
    for (std::size_t j = used; j < lanes; ++j) sp[j] = sp[used - 1];
    for (std::size_t j = 0; j < lanes; ++j) params[j] = bb_atr::lane_params<double>(sp[j]);
    const std::vector<std::int32_t>& cand = candidates.of(sp.data(), lanes);
    const BlockOutput lane_blocks = used == lanes || !blocks.enabled()
                                        ? blocks.at(id - unit.begin)
                                        : BlockOutput{blocks.blocks, blocks.starts, spare.data()};
    kernel(view, params.data(), cand.data(), cand.data() + cand.size(), lane_blocks, states.data());
    if (lane_blocks.cells == spare.data())
      std::copy_n(spare.begin(), used * static_cast<std::size_t>(blocks.blocks),
                  blocks.at(id - unit.begin).cells);
    for (std::size_t j = 0; j < used; ++j)
      out[id - unit.begin + j] =
          bb_atr::metrics_of(states[j], sp[j].initial_capital, n_bars, bars_per_year);
  }
}

}  // namespace threadx
