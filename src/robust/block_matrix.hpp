// The input of every robustness statistic (docs/ROBUST.md): per combination, S BlockStats and
// the combination's initial capital, for a contiguous range of combination ids. A non-owning
// view, so a caller can hand over whatever it read (all rows, one rank's rows, one chunk) without
// a copy; slice() cuts a range into sub-ranges, which is how rows are split across threads and
// ranks.
#pragma once

#include <cstdint>
#include <span>

#include "strategy/block_stats.hpp"

namespace threadx::robust {

// Combination ids are signed here: -1 means "no combination" (a walk-forward fold that chose
// none, a CSCV split before any candidate was seen).
inline constexpr std::int64_t kNoCombination = -1;

struct BlockMatrix {
  int blocks = 0;                                   // S
  std::span<const std::int64_t> returns_per_block;  // n_b, S entries, the same for every row
  std::int64_t first_id = 0;                        // combination id of row 0
  std::span<const BlockStats> cells;                // rows() * S cells, row-major
  // Empty (not needed: CSCV, DSR), one value shared by every row, or one value per row.
  std::span<const double> initial_capital;

  [[nodiscard]] std::int64_t rows() const {
    return blocks > 0 ? static_cast<std::int64_t>(cells.size()) / blocks : 0;
  }
  [[nodiscard]] std::span<const BlockStats> row(std::int64_t r) const {
    return cells.subspan(static_cast<std::size_t>(r) * static_cast<std::size_t>(blocks),
                         static_cast<std::size_t>(blocks));
  }
  [[nodiscard]] std::int64_t id(std::int64_t r) const { return first_id + r; }
  // InputError when the view holds no capital.
  [[nodiscard]] double capital(std::int64_t r) const;
  // Rows [begin, end) as a view of their own (ids first_id + begin ...).
  [[nodiscard]] BlockMatrix slice(std::int64_t begin, std::int64_t end) const;
};

// InputError unless 2 <= S <= 64, n_b has S entries all >= 1, the cells are a whole number of
// rows, first_id >= 0 and initial_capital holds 0, 1 or rows() values.
void validate(const BlockMatrix& m);

}  // namespace threadx::robust
