// A set of combination ids as sorted, disjoint, coalesced ranges [begin, end): which ids a sweep's
// summary covers (results/sweep_summary.hpp), which ids are done before a run (the planner and the
// dispatcher), without one flag per id.
#pragma once

#include <cstdint>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "grid/grid.hpp"

namespace threadx {

class IdRanges {
 public:
  // Adds [begin, end); std::logic_error when it overlaps ids already in the set.
  void add(ComboId begin, ComboId end) {
    if (begin >= end) return;
    const std::uint64_t added = end - begin;
    auto next = ranges_.lower_bound(begin);
    if (next != ranges_.end() && next->first < end) overlap(begin, end);
    if (next != ranges_.begin()) {
      auto prev = std::prev(next);
      if (prev->second > begin) overlap(begin, end);
      if (prev->second == begin) {  // coalesce with the range before
        begin = prev->first;
        ranges_.erase(prev);
      }
    }
    if (next != ranges_.end() && next->first == end) {  // and with the one after
      end = next->second;
      ranges_.erase(next);
    }
    ranges_.emplace(begin, end);
    count_ += added;
  }
  void add(const IdRanges& o) {
    for (const auto& [b, e] : o.ranges_) add(b, e);
  }
  [[nodiscard]] std::uint64_t count() const { return count_; }
  [[nodiscard]] bool empty() const { return ranges_.empty(); }
  [[nodiscard]] const std::map<ComboId, ComboId>& ranges() const { return ranges_; }
  // The ids whose flag is set: id first + k for f[k] != 0.
  static IdRanges from_flags(const std::vector<std::uint8_t>& f, ComboId first = 0) {
    IdRanges out;
    for (ComboId k = 0; k < f.size();) {
      while (k < f.size() && f[k] == 0) ++k;
      const ComboId begin = k;
      while (k < f.size() && f[k] != 0) ++k;
      out.add(first + begin, first + k);
    }
    return out;
  }
  // One flag per id of [0, n): 1 for the ids in the set.
  [[nodiscard]] std::vector<std::uint8_t> flags(ComboId n) const {
    std::vector<std::uint8_t> f(n, 0);
    for (const auto& [b, e] : ranges_)
      for (ComboId id = b; id < e && id < n; ++id) f[id] = 1;
    return f;
  }
  friend bool operator==(const IdRanges&, const IdRanges&) = default;

 private:
  [[noreturn]] static void overlap(ComboId b, ComboId e) {
    throw std::logic_error("ids [" + std::to_string(b) + ", " + std::to_string(e) +
                           ") are counted twice");
  }
  std::map<ComboId, ComboId> ranges_;
  std::uint64_t count_ = 0;
};

}  // namespace threadx
