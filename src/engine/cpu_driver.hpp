// CpuDriver<P>: the CPU execution of strategy policy P (strategies/<name>/policy.hpp) behind
// StrategyDriver. Instantiated once per strategy by the registry (src/strategies/registry.cpp).
//
// A unit runs on the calling thread. A lane path packs L combinations of the unit into one vector
// state and walks the bars once for all of them (the block kernel of the chosen instruction set,
// engine/lanes/); a short last block repeats its last combination in the spare lanes and discards
// them. Bars at which every lane of a block is flat and none has an entry candidate are skipped
// (run_bars): the unit lists, once per candidate key (P::candidate_key), the candidate bars.
// Isa::Scalar runs one combination at a time through run_one, the reference path (the GPU's
// threads step run_bars over the same candidate lists and give its rows).
//
// The kernel's own functions are found in the strategy's namespace by argument-dependent lookup
// (see strategies/bb_atr/policy.hpp): lane_params, init, run_bars, run_one, first_bar, metrics_of.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <stdexcept>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "engine/lanes/lane_kernel.hpp"
#include "engine/strategy_driver.hpp"
#include "strategy/account.hpp"
#include "strategy/block_recorder.hpp"
#include "strategy/candidates.hpp"
#include "strategy/returns_recorder.hpp"

namespace threadx {

template <class P>
class CpuDriver final : public StrategyDriver {
 public:
  using Params = typename P::Params;
  using Series = typename P::Series;
  template <class V>
  using LaneParams = typename P::template LaneParams<V>;
  template <class V>
  using State = typename P::template State<V>;

  void run_unit(const SweepContext& ctx, const WorkUnit& unit, Metrics* out, Isa isa,
                const BlockOutput& blocks) const override {
    const Grid& grid = ctx.grid();
    const Series view = P::series(ctx.bank(), grid.key_of_group(unit.group));
    const double bars_per_year = ctx.bars().bars_per_year();
    const lanes::BlockKernel<P> kernel = block_kernel(isa);
    if (kernel == nullptr) {
      run_scalar(grid, view, bars_per_year, unit, out, blocks);
      return;
    }
    const auto n_bars = static_cast<double>(view.n_bars);
    const std::size_t lanes = isa_lanes(isa);
    if (lanes > kMaxLanes) throw std::logic_error("a lane path wider than CpuDriver::kMaxLanes");
    Candidates candidates(view);
    std::array<Params, kMaxLanes> sp{};
    std::array<LaneParams<double>, kMaxLanes> params{};
    std::array<State<double>, kMaxLanes> states{};
    // A short last block's spare lanes write their block rows here, not past the unit's rows.
    std::vector<BlockStats> spare(
        blocks.enabled() ? kMaxLanes * static_cast<std::size_t>(blocks.blocks) : 0);
    Grid::Odometer odometer(grid, unit.begin);
    for (ComboId id = unit.begin; id < unit.end; id += lanes) {
      const auto used = static_cast<std::size_t>(std::min<ComboId>(lanes, unit.end - id));
      for (std::size_t j = 0; j < used; ++j) {
        sp[j] = P::decode(odometer.values());
        odometer.next();
      }
      for (std::size_t j = used; j < lanes; ++j) sp[j] = sp[used - 1];
      for (std::size_t j = 0; j < lanes; ++j) params[j] = lane_params<double>(sp[j]);
      const std::vector<std::int32_t>& cand = candidates.of(sp.data(), lanes);
      const BlockOutput lane_blocks = used == lanes || !blocks.enabled()
                                          ? blocks.at(id - unit.begin)
                                          : BlockOutput{blocks.blocks, blocks.starts, spare.data()};
      kernel(view, params.data(), cand.data(), cand.data() + cand.size(), lane_blocks,
             states.data());
      if (lane_blocks.cells == spare.data())
        std::copy_n(spare.begin(), used * static_cast<std::size_t>(blocks.blocks),
                    blocks.at(id - unit.begin).cells);
      for (std::size_t j = 0; j < used; ++j)
        out[id - unit.begin + j] =
            metrics_of(states[j], P::initial_capital(sp[j]), n_bars, bars_per_year);
    }
  }

  std::vector<double> replay_returns(const SweepContext& ctx, ComboId id) const override {
    const Series s = P::series(ctx.bank(), ctx.key_of(id));
    ReturnsRecorder recorder(s.n_bars);
    run_one(s, P::decode(ctx.values_of(id)), ctx.bars().bars_per_year(), recorder);
    return std::move(recorder).take();
  }

  // run_one's loop (every bar stepped), watching the state for exits and entries: an exit adds a
  // trade (its pnl is the change of pnl_sum), an entry at bar i sets entry_bar = i. A strategy
  // may exit and enter on one bar (ma_cross's reversal), so the exit is taken first.
  Trace trace(const SweepContext& ctx, ComboId id) const override {
    const Series s = P::series(ctx.bank(), ctx.key_of(id));
    const Params sp = P::decode(ctx.values_of(id));
    const LaneParams<double> p = lane_params<double>(sp);
    Trace out;
    out.equity.assign(static_cast<std::size_t>(s.n_bars), P::initial_capital(sp));
    out.overlays = P::overlays(s, sp);
    State<double> st;
    init(st, p);
    NoBlocks blocks;
    Trade open;
    auto watch = [&](std::int64_t i, double trades_before, double pnl_before) {
      if (st.trades > trades_before) {
        open.exit_bar = i;
        open.exit_close = s.close[i];
        open.pnl = st.pnl_sum - pnl_before;
        out.trades.push_back(open);
      }
    };
    for (std::int64_t i = first_bar(s); i < s.n_bars; ++i) {
      double trades_before = st.trades, pnl_before = st.pnl_sum;
      double e = P::step(st, p, s, i);
      watch(i, trades_before, pnl_before);
      if (st.side != 0.0 && st.entry_bar == static_cast<double>(i)) {
        open = Trade{};
        open.entry_bar = i;
        open.side = st.side > 0.0 ? 1 : -1;
        open.entry_price = st.entry_price;
      }
      if (i == s.n_bars - 1) {
        trades_before = st.trades, pnl_before = st.pnl_sum;
        e = P::finish(st, p, s);
        watch(i, trades_before, pnl_before);
      }
      account::observe(st, e, i > 0, blocks);
      out.equity[static_cast<std::size_t>(i)] = e;
    }
    out.metrics = metrics_of(st, P::initial_capital(sp), static_cast<double>(s.n_bars),
                             ctx.bars().bars_per_year());
    return out;
  }

 private:
  // As many lanes as the widest path has.
  static constexpr std::size_t kMaxLanes = 8;

  static lanes::BlockKernel<P> block_kernel(Isa isa) {
    switch (isa) {
      case Isa::Baseline:
        return &lanes::run_block_baseline<P>;
#if defined(__x86_64__) || defined(__i386__)
      case Isa::Avx2:
        return &lanes::run_block_avx2<P>;
      case Isa::Avx512:
        return &lanes::run_block_avx512<P>;
#endif
      default:
        return nullptr;
    }
  }

  static void run_scalar(const Grid& grid, const Series& view, double bars_per_year,
                         const WorkUnit& unit, Metrics* out, const BlockOutput& blocks) {
    BlockCell<double> cells[kMaxBlocks];
    Grid::Odometer odometer(grid, unit.begin);
    for (ComboId id = unit.begin; id < unit.end; ++id, odometer.next()) {
      const Params sp = P::decode(odometer.values());
      if (!blocks.enabled()) {
        out[id - unit.begin] = run_one(view, sp, bars_per_year);
        continue;
      }
      out[id - unit.begin] = run_one(view, sp, bars_per_year,
                                     BlockRecorder<double>(blocks.starts, blocks.blocks, cells));
      BlockStats* row = blocks.at(id - unit.begin).cells;
      for (int b = 0; b < blocks.blocks; ++b) row[b] = to_stats(cells[b]);
    }
  }

  // The entry-candidate bars of one key group, per candidate key, built on first use.
  class Candidates {
   public:
    explicit Candidates(const Series& view) : view_(view) {}

    const std::vector<std::int32_t>& of(double key) {
      for (const Entry& e : lists_)
        if (e.key == key) return e.bars;
      Entry& e = lists_.emplace_back();
      e.key = key;
      append_candidate_bars<P>(view_, key, e.bars);
      return e.bars;
    }

    // The union of the lists of the lanes' keys (usually all equal).
    const std::vector<std::int32_t>& of(const Params* sp, std::size_t lanes) {
      const double first = P::candidate_key(sp[0]);
      bool same = true;
      for (std::size_t j = 1; j < lanes; ++j) same = same && P::candidate_key(sp[j]) == first;
      if (same) return of(first);
      merged_.clear();
      for (std::size_t j = 0; j < lanes; ++j) {
        const std::vector<std::int32_t>& l = of(P::candidate_key(sp[j]));
        scratch_.clear();
        std::set_union(merged_.begin(), merged_.end(), l.begin(), l.end(),
                       std::back_inserter(scratch_));
        merged_.swap(scratch_);
      }
      return merged_;
    }

   private:
    struct Entry {
      double key = 0.0;
      std::vector<std::int32_t> bars;
    };
    Series view_;
    std::vector<Entry> lists_;
    std::vector<std::int32_t> merged_, scratch_;
  };
};

}  // namespace threadx
