// Per-block return statistics of one combination (docs/ROBUST.md, "Returns and blocks"): the run's
// returns r[1..T] (T = bars - 1) cut into S contiguous blocks, return i in block
// floor((i-1)*S/T). Accumulated by the kernel in the same single pass as the metrics, stored in
// the results file's /blocks, read by `threadx robust`. Strategy-agnostic: any strategy whose
// kernel produces an equity curve fills these.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace threadx {

inline constexpr int kMinBlocks = 2;
inline constexpr int kMaxBlocks = 64;

// One (combination, block) cell; the HDF5 compound {sum_r, sum_r2, equity: double; trades: int32}.
struct BlockStats {
  double sum_r = 0;         // sum of r[i] over the block, in increasing i, from +0
  double sum_r2 = 0;        // sum of r[i]*r[i], same order
  double equity = 0;        // E at the block's last bar (last block: the final equity)
  std::int32_t trades = 0;  // trades whose exit bar lies in the block (the final exit: last block)
};

// The block of return i (1 <= i <= T) for S blocks.
constexpr int block_of_return(std::int64_t i, std::int64_t returns, int blocks) {
  return static_cast<int>((i - 1) * blocks / returns);
}

// The first bar of each block and one past the last bar: S + 1 entries, bar i in block b when
// starts[b] <= i < starts[b + 1]. Bar 0 belongs to no block (starts[0] = 1); starts[S] = bars.
// Requires kMinBlocks <= S <= kMaxBlocks and S <= T.
inline std::vector<std::int64_t> block_start_bars(std::int64_t bars, int blocks) {
  const std::int64_t returns = bars - 1;
  std::vector<std::int64_t> starts(static_cast<std::size_t>(blocks) + 1);
  for (int b = 0; b <= blocks; ++b)  // smallest i with (i-1)*S/T >= b: i = 1 + ceil(b*T/S)
    starts[static_cast<std::size_t>(b)] = 1 + (b * returns + blocks - 1) / blocks;
  return starts;
}

// Where the per-block statistics of a run of combinations go: `cells` holds one row of `blocks`
// cells per combination. blocks == 0: none are recorded.
struct BlockOutput {
  int blocks = 0;
  const std::int64_t* starts = nullptr;  // blocks + 1 entries (block_start_bars)
  BlockStats* cells = nullptr;
  [[nodiscard]] bool enabled() const { return blocks > 0; }
  // The same layout for the rows from `offset` on.
  [[nodiscard]] BlockOutput at(std::uint64_t offset) const {
    return {blocks, starts,
            cells == nullptr ? nullptr : cells + offset * static_cast<std::uint64_t>(blocks)};
  }
};

// Why S blocks cannot cut `bars` bars (kMinBlocks <= S <= kMaxBlocks, S <= T = bars - 1), or ""
// when they can; S = 0 (no blocks) is always fine.
inline std::string block_count_problem(int blocks, std::int64_t bars) {
  if (blocks == 0) return {};
  if (blocks < kMinBlocks || blocks > kMaxBlocks)
    return "must be between " + std::to_string(kMinBlocks) + " and " + std::to_string(kMaxBlocks) +
           " (got " + std::to_string(blocks) + ")";
  if (blocks > bars - 1)
    return std::to_string(blocks) + " blocks need at least " + std::to_string(blocks + 1) +
           " bars; the data has " + std::to_string(bars);
  return {};
}

// n_b: returns in each block (the same for every combination).
inline std::vector<std::int64_t> returns_per_block(std::int64_t bars, int blocks) {
  const std::vector<std::int64_t> s = block_start_bars(bars, blocks);
  std::vector<std::int64_t> n(static_cast<std::size_t>(blocks));
  for (std::size_t b = 0; b < n.size(); ++b) n[b] = s[b + 1] - s[b];
  return n;
}

}  // namespace threadx
