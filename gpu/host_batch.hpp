// A batch as built on the host for strategy policy P: the series views of its pieces (the bank's
// host pointers), where each piece ends and its first id, the grid's id digits, and the candidate
// lists (one per key group and candidate key of the batch) with each combination's list; no
// parameters (threads decode their own). The host batch runner runs it in place; the CUDA runner
// copies it to the device.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

#include "engine/plan.hpp"
#include "engine/sweep_context.hpp"
#include "gpu/batch_kernel.hpp"
#include "strategy/candidates.hpp"

namespace threadx::gpu {

template <class P>
struct HostBatch {
  std::vector<typename P::Series> views;   // one per piece
  std::vector<std::uint64_t> piece_end;    // exclusive end offset of each piece
  std::vector<std::uint64_t> piece_first;  // first id of each piece
  std::vector<double> values;              // the grid's values, end to end
  IdDigits digits;                         // the grid's digits (view() points them at values)
  std::vector<std::int32_t> cand;          // the candidate lists, end to end
  std::vector<std::uint64_t> list_end;     // exclusive end of each list in cand
  std::vector<std::uint32_t> list_of;      // one per combination: its list
  double bars_per_year = 0;

  // The batch over these host arrays, without block statistics.
  [[nodiscard]] BatchView<P> view() const {
    BatchView<P> b{};
    b.views = views.data();
    b.piece_end = piece_end.data();
    b.piece_first = piece_first.data();
    b.n_pieces = static_cast<std::uint32_t>(views.size());
    b.n_combos = piece_end.empty() ? 0 : piece_end.back();
    b.bars_per_year = bars_per_year;
    b.cand = cand.data();
    b.list_end = list_end.data();
    b.list_of = list_of.data();
    b.digits = digits;
    b.digits.values = values.data();
    return b;
  }
};

// Candidate lists kept across the batches of one runner, so that a key group's list at a
// candidate key is built once (as the CPU builds it once per unit), not once per batch: the
// balancer cuts a unit into many batches. Dropped when the bank changes, and all at once when they
// exceed `budget_bytes` (the balancer hands out ids in order, so old groups are not needed again).
template <class P>
class CandidateCache {
 public:
  explicit CandidateCache(std::size_t budget_bytes = std::size_t{64} << 20)
      : budget_(budget_bytes) {}

  const std::vector<std::int32_t>& of(const IndicatorBank& bank, ComboId group, double key,
                                      const typename P::Series& view) {
    if (bank.generation() != generation_) {
      lists_.clear();
      bytes_ = 0;
      generation_ = bank.generation();
    }
    if (const auto it = lists_.find({group, key}); it != lists_.end()) return it->second;
    std::vector<std::int32_t> bars;
    append_candidate_bars<P>(view, key, bars);
    if (bytes_ + bars.size() * sizeof(std::int32_t) > budget_) {
      lists_.clear();
      bytes_ = 0;
    }
    bytes_ += bars.size() * sizeof(std::int32_t);
    return lists_.emplace(std::pair{group, key}, std::move(bars)).first->second;
  }

 private:
  std::size_t budget_, bytes_ = 0;
  std::uint64_t generation_ = 0;
  std::map<std::pair<ComboId, double>, std::vector<std::int32_t>> lists_;
};

// Lays out `pieces` (non-empty, each non-empty and inside one key group of `grid`, whose
// strategy is P's) end to end: one odometer walk per piece finds each combination's candidate
// key, and each (group, key) of the batch gets its list once (from `cache` when given).
template <class P>
HostBatch<P> make_batch(const SweepContext& ctx, std::span<const WorkUnit> pieces,
                        CandidateCache<P>* cache = nullptr) {
  const Grid& grid = ctx.grid();
  IndicatorBank& bank = ctx.bank();
  if (pieces.empty()) throw std::invalid_argument("make_batch: no pieces");
  if (grid.strategy != &P::spec()) throw std::logic_error("make_batch: another strategy's grid");
  HostBatch<P> b;
  b.digits = grid.digits(b.values);
  b.bars_per_year = bank.bars().bars_per_year();
  b.views.reserve(pieces.size());
  b.piece_end.reserve(pieces.size());
  std::uint64_t n = 0;
  for (const WorkUnit& p : pieces) n += p.size();
  b.piece_first.reserve(pieces.size());
  b.list_of.reserve(n);
  std::map<std::pair<ComboId, double>, std::uint32_t> lists;  // (group, candidate key) -> list
  for (const WorkUnit& p : pieces) {
    if (p.size() == 0) throw std::invalid_argument("make_batch: empty piece");
    const typename P::Series& view =
        b.views.emplace_back(P::series(bank, grid.key_of_group(p.group)));
    b.piece_first.push_back(p.begin);
    Grid::Odometer odometer(grid, p.begin);
    // Ids run through the candidate key in long stretches: look up only when it changes.
    double last_key = 0;
    std::uint32_t last_list = 0;
    for (ComboId id = p.begin; id < p.end; ++id, odometer.next()) {
      const double key = P::candidate_key(P::decode(odometer.values()));
      if (id == p.begin || key != last_key) {
        const auto [at, added] =
            lists.try_emplace({p.group, key}, static_cast<std::uint32_t>(b.list_end.size()));
        if (added) {
          if (cache != nullptr) {
            const std::vector<std::int32_t>& l = cache->of(bank, p.group, key, view);
            b.cand.insert(b.cand.end(), l.begin(), l.end());
          } else {
            append_candidate_bars<P>(view, key, b.cand);
          }
          b.list_end.push_back(b.cand.size());
        }
        last_key = key;
        last_list = at->second;
      }
      b.list_of.push_back(last_list);
    }
    b.piece_end.push_back(b.list_of.size());
  }
  return b;
}

}  // namespace threadx::gpu
