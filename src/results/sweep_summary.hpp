// What a sweep summarises of its rows, beside or instead of storing them (docs/SWEEP.md,
// "Aggregates" and "What a sweep keeps"): the aggregates (aggregates.hpp), the rows kept by
// --keep top:... (keep.hpp), and which ids both cover.
//
// Every rank builds one from the units it computes (Role::Rank) and sends what it added since
// its last message to rank 0 (take_delta); rank 0's (Role::Root) merges them with its own units,
// completes the blocks that ranks share, is checkpointed into the results file (checkpoint(),
// restored by merge()) and gives the final aggregates and kept rows. Everything in it is exact
// (integers, exact sums, extremes with their ids), so the result does not depend on the number
// of ranks, on which rank computed which unit, or on the order the deltas arrive in.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <vector>

#include "engine/id_ranges.hpp"
#include "engine/plan.hpp"
#include "results/aggregates.hpp"
#include "results/keep.hpp"

namespace threadx {

class SweepSummary {
 public:
  enum class Role { Rank, Root };
  // grid and layout must outlive the summary.
  SweepSummary(const Grid& grid, const AggregateLayout& layout, const KeepSpec& keep, Role role);

  // The rows of a finished run of ids (a unit, or a piece of one), from any number of threads at
  // once (their blocks are summarised in parallel).
  void add(const WorkUnit& unit, std::span<const Metrics> rows);
  // Rank: what was added since the last call, for the root; empty bytes when nothing was.
  [[nodiscard]] std::vector<std::byte> take_delta();
  // Root: adds a rank's delta or a checkpoint; std::runtime_error when the bytes are malformed or
  // were made for another grid or --keep, std::logic_error when they cover ids already covered.
  void merge(std::span<const std::byte> delta);
  // Root: the whole state, which merge() restores into a new root summary.
  [[nodiscard]] std::vector<std::byte> checkpoint() const;

  // The ids covered: added here or merged.
  [[nodiscard]] IdRanges covered() const;
  // Root: the aggregates (every block complete unless allow_open) and the kept rows (null unless
  // --keep top:...).
  [[nodiscard]] SweepAggregates aggregates(bool allow_open = false) const;
  [[nodiscard]] const TopKeeper* keeper() const { return keeper_.get(); }
  [[nodiscard]] const AggregateLayout& layout() const { return layout_; }

 private:
  [[nodiscard]] std::vector<std::byte> encode(const SweepAggregates& a,
                                              const std::vector<BlockPart>& parts,
                                              const IdRanges& covered) const;

  const Grid& grid_;
  const AggregateLayout& layout_;
  KeepSpec keep_;
  Role role_;
  // add() holds it shared (adds run in parallel), what reads or takes the state holds it alone,
  // so a delta or checkpoint never sees a run's rows without its ids or the other way round.
  mutable std::shared_mutex state_;
  std::mutex mutex_;  // under a shared state_: the kept rows and the ids covered
  AggregateBuilder builder_;
  std::unique_ptr<TopKeeper> keeper_;
  IdRanges covered_, delta_covered_;
};

}  // namespace threadx
