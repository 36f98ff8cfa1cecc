// Work units: contiguous id ranges that never cross an indicator-key group, so the device that
// runs a unit reads exactly one set of indicator series. The planner is a pure function; the
// CPU driver, the MPI dispatcher and the device balancer all consume its output.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/id_ranges.hpp"
#include "grid/grid.hpp"

namespace threadx {

struct WorkUnit {
  ComboId begin = 0;  // first id
  ComboId end = 0;    // one past the last id
  ComboId group = 0;  // indicator-key group (begin / group_size)

  [[nodiscard]] std::uint64_t size() const { return end - begin; }
  friend bool operator==(const WorkUnit&, const WorkUnit&) = default;
};

// Splits the ids still to do into units of at most max_unit_size ids (>= 1), group by group in
// id order. A group larger than max_unit_size is split into near-equal parts; `done` (one flag
// per id, may be null) removes finished ids, so a resumed run plans only what is missing.
std::vector<WorkUnit> plan_units(const Grid& grid, std::uint64_t max_unit_size,
                                 const std::vector<std::uint8_t>* done = nullptr);
// The same with the ids done as ranges (memory in ranges, not ids: for grids of 10^10).
std::vector<WorkUnit> plan_units(const Grid& grid, std::uint64_t max_unit_size,
                                 const IdRanges& done);

}  // namespace threadx
