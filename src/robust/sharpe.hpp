// SR_J, the per-bar Sharpe ratio of a set of blocks (docs/ROBUST.md, "Sharpe of a set of
// blocks"): every statistic of `threadx robust` ranks by it. One definition, used by the scalar
// code and mirrored operation for operation by the vector kernels of cscv_kernel.cpp (a test
// holds them equal bit for bit).
#pragma once

#include <cmath>
#include <cstdint>
#include <span>

#include "strategy/block_stats.hpp"

namespace threadx::robust {

// From n returns with sum s1 and sum of squares s2: (s1/n) / sqrt(var) with the one-pass sample
// variance var = (s2 - s1*s1/n) / (n-1), each operation rounded on its own, left to right;
// 0 when n < 2 or var <= 0 (or var is NaN).
inline double sharpe_from_sums(double s1, double s2, std::int64_t n) {
  if (n < 2) return 0.0;
  const double dn = static_cast<double>(n);
  const double var = (s2 - s1 * s1 / dn) / static_cast<double>(n - 1);
  if (!(var > 0)) return 0.0;
  return s1 / dn / std::sqrt(var);
}

// SR_J of one combination for the blocks whose bit is set in `mask` (bit b = block b), the sums
// taken from +0 in increasing block order.
inline double sharpe_of_blocks(std::span<const BlockStats> row,
                               std::span<const std::int64_t> returns_per_block,
                               std::uint64_t mask) {
  double s1 = 0.0, s2 = 0.0;
  std::int64_t n = 0;
  for (std::size_t b = 0; b < row.size(); ++b) {
    if (((mask >> b) & 1U) == 0) continue;
    s1 += row[b].sum_r;
    s2 += row[b].sum_r2;
    n += returns_per_block[b];
  }
  return sharpe_from_sums(s1, s2, n);
}

// SR_J over the contiguous blocks first..last (inclusive), increasing order.
inline double sharpe_of_range(std::span<const BlockStats> row,
                              std::span<const std::int64_t> returns_per_block, int first,
                              int last) {
  double s1 = 0.0, s2 = 0.0;
  std::int64_t n = 0;
  for (int b = first; b <= last; ++b) {
    const auto i = static_cast<std::size_t>(b);
    s1 += row[i].sum_r;
    s2 += row[i].sum_r2;
    n += returns_per_block[i];
  }
  return sharpe_from_sums(s1, s2, n);
}

// The whole-run per-bar Sharpe: SR over all S blocks.
inline double whole_run_sharpe(std::span<const BlockStats> row,
                               std::span<const std::int64_t> returns_per_block) {
  return sharpe_of_range(row, returns_per_block, 0, static_cast<int>(row.size()) - 1);
}

}  // namespace threadx::robust
