// SweepContext: what every layer of a sweep computes from, passed as one value instead of a grid
// and an indicator bank side by side (CPU sweep, device balancer, a rank's compute, the
// coordinator, report's re-run).
//
// It owns nothing: the grid (the id <-> combination mapping) and the bank (the indicator series
// over the bars, a thread-safe cache) outlive it, so a context is copied freely. Single ids are
// decoded through the context (group_of, key_of, values_of); runs of ids walk the grid's
// odometer or digits (grid()), which a later dataset axis would wrap here as well.
#pragma once

#include "data/bars.hpp"
#include "grid/grid.hpp"
#include "indicators/indicator_bank.hpp"

namespace threadx {

class SweepContext {
 public:
  SweepContext(const Grid& grid, IndicatorBank& bank) : grid_(&grid), bank_(&bank) {}

  [[nodiscard]] const Grid& grid() const { return *grid_; }
  // The bank is a cache filled on demand by any thread, hence not const through a const context.
  [[nodiscard]] IndicatorBank& bank() const { return *bank_; }
  [[nodiscard]] const BarSeries& bars() const { return bank_->bars(); }

  // Combinations in the sweep (ids 0 .. size() - 1).
  [[nodiscard]] ComboId size() const { return grid_->size(); }
  // The indicator-key group of a combination, and the key (grid.key_of_group) of that group.
  [[nodiscard]] ComboId group_of(ComboId id) const { return id / grid_->group_size(); }
  [[nodiscard]] ParamValues key_of(ComboId id) const { return grid_->key_of_group(group_of(id)); }
  [[nodiscard]] ParamValues values_of(ComboId id) const { return grid_->values_of(id); }

 private:
  const Grid* grid_;
  IndicatorBank* bank_;
};

}  // namespace threadx
