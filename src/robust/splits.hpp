// The CSCV splits (docs/ROBUST.md, "CSCV"): every set J of S/2 of the S blocks, numbered in
// lexicographic order of the sorted block lists. That order is the order in which a depth-first
// walk over blocks 0..S-1 that tries "block in J" before "block not in J" reaches its leaves,
// which is how the kernel enumerates them; and the complement of split j is split C-1-j.
#pragma once

#include <cstdint>
#include <vector>

namespace threadx::robust {

// Largest S for CSCV: binomial(24, 12) = 2,704,156 splits (S = 26 would be 10.4M, each costing
// a Sharpe ratio per distinct stream and pass).
inline constexpr int kMaxCscvBlocks = 24;

// binomial(S, S/2); InputError unless S is even and 2 <= S <= kMaxCscvBlocks.
std::int64_t cscv_split_count(int blocks);

// The C splits in order, as block masks (bit b set when block b is in J).
std::vector<std::uint64_t> cscv_split_masks(int blocks);

}  // namespace threadx::robust
