// Bit-for-bit equality of two result rows: what "identical results" means in every invariance
// test (SIMD vs scalar, thread and unit counts, device mixes). No tolerance, NaN == NaN.
#pragma once

#include <cstring>

#include "strategy/metrics.hpp"

namespace threadx::testing {

inline bool same_bits(const Metrics& a, const Metrics& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace threadx::testing
