// Bit-for-bit equality of two result rows: what "identical results" means in every invariance
// test (SIMD vs scalar, thread and unit counts, device mixes). No tolerance, NaN == NaN.
#pragma once

#include <cstring>

#include "strategy/block_stats.hpp"
#include "strategy/metrics.hpp"

namespace threadx::testing {

inline bool same_bits(const Metrics& a, const Metrics& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// Field by field: the struct has padding after `trades`.
inline bool same_bits(const BlockStats& a, const BlockStats& b) {
  const auto same = [](double x, double y) { return std::memcmp(&x, &y, sizeof x) == 0; };
  return same(a.sum_r, b.sum_r) && same(a.sum_r2, b.sum_r2) && same(a.equity, b.equity) &&
         a.trades == b.trades;
}

}  // namespace threadx::testing
