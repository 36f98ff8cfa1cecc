// A packed run of rows (RowLayout::pack_run's layout: the rows, then their /blocks cells) whose
// bytes say which id they belong to, for the storage tests: every byte of id k's row is k % 251,
// every byte of its cells k % 241.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "results/row_layout.hpp"
#include "strategy/block_stats.hpp"

namespace threadx::testing {

inline std::vector<unsigned char> marked_run(const RowLayout& layout, ComboId begin, ComboId end) {
  const std::size_t n = end - begin;
  const std::size_t cells = static_cast<std::size_t>(layout.blocks()) * kBlockCellSize;
  std::vector<unsigned char> v(layout.run_size(n));
  for (std::size_t r = 0; r < n; ++r) {
    std::fill_n(v.begin() + static_cast<std::ptrdiff_t>(r * layout.row_size()), layout.row_size(),
                static_cast<unsigned char>((begin + r) % 251));
    std::fill_n(v.begin() + static_cast<std::ptrdiff_t>(n * layout.row_size() + r * cells), cells,
                static_cast<unsigned char>((begin + r) % 241));
  }
  return v;
}

}  // namespace threadx::testing
