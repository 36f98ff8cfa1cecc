// Work-unit planner (see plan.hpp).
#include "engine/plan.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>

namespace threadx {
namespace {

// Appends [begin, end) as ceil(len / max) near-equal units; all lie in `group`.
void split_run(ComboId begin, ComboId end, ComboId group, std::uint64_t max_unit_size,
               std::vector<WorkUnit>& out) {
  const std::uint64_t len = end - begin;
  const std::uint64_t parts = (len + max_unit_size - 1) / max_unit_size;
  const std::uint64_t base = len / parts, extra = len % parts;
  ComboId at = begin;
  for (std::uint64_t p = 0; p < parts; ++p) {
    const std::uint64_t n = base + (p < extra ? 1 : 0);
    out.push_back({at, at + n, group});
    at += n;
  }
}

}  // namespace

std::vector<WorkUnit> plan_units(const Grid& grid, std::uint64_t max_unit_size,
                                 const IdRanges& done) {
  if (max_unit_size == 0) throw std::invalid_argument("plan_units: max_unit_size must be >= 1");
  const ComboId gsize = grid.group_size();
  const ComboId groups = grid.group_count();
  const std::map<ComboId, ComboId>& ranges = done.ranges();
  std::vector<WorkUnit> units;
  auto at = ranges.begin();
  for (ComboId g = 0; g < groups; ++g) {
    const ComboId first = g * gsize, last = first + gsize;
    // Each maximal run of ids not done becomes one or more units.
    ComboId id = first;
    while (at != ranges.end() && at->second <= first) ++at;
    for (auto r = at; r != ranges.end() && r->first < last; ++r) {
      if (r->first > id) split_run(id, r->first, g, max_unit_size, units);
      id = std::max(id, r->second);
    }
    if (id < last) split_run(id, last, g, max_unit_size, units);
  }
  return units;
}

std::vector<WorkUnit> plan_units(const Grid& grid, std::uint64_t max_unit_size,
                                 const std::vector<std::uint8_t>* done) {
  if (done != nullptr && done->size() != grid.size())
    throw std::invalid_argument("plan_units: done flags do not match the grid size");
  return plan_units(grid, max_unit_size, done ? IdRanges::from_flags(*done) : IdRanges{});
}

}  // namespace threadx
