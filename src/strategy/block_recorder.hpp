// Per-block statistics recorded during a kernel's bar loop, in the same single pass as the metrics
// (docs/ROBUST.md; the cells are strategy/block_stats.hpp's, one lane type V wide). Host and device
// code, strategy-agnostic: a kernel calls at_bar before each bar it steps, add for each return it
// folds in, and finish once after its loop.
//
// Bars a kernel skips (every lane flat, no entry signal) keep the equity, so their returns are
// exactly +0: they add nothing to a block's sums, and a block that ends among them closes with the
// unchanged equity. at_bar therefore closes every block that ended before the bar it is given, and
// finish every block still open, so skipping stays exact.
#pragma once

#include <cstdint>

#include "common/hd.hpp"
#include "strategy/block_stats.hpp"

namespace threadx {

template <class V>
struct BlockCell {
  V sum_r;
  V sum_r2;
  V equity;  // E at the block's last bar
  V trades;  // trades that exited in the block
};

// One combination's cell as the results file stores it (/blocks).
THREADX_HD inline BlockStats to_stats(const BlockCell<double>& c) {
  return BlockStats{c.sum_r, c.sum_r2, c.equity, static_cast<std::int32_t>(c.trades)};
}

template <class V>
class BlockRecorder {
 public:
  // starts: the S + 1 block start bars (block_start_bars); out: S cells.
  THREADX_HD BlockRecorder(const std::int64_t* starts, int blocks, BlockCell<V>* out)
      : starts_(starts), last_(blocks - 1), out_(out) {}

  // Before bar i (bars in increasing order, possibly with gaps): closes the blocks that ended
  // before i with the equity and trade count as they stand.
  THREADX_HD THREADX_FORCEINLINE void at_bar(std::int64_t i, V equity, V trades) {
    while (block_ < last_ && i >= starts_[block_ + 1]) close(equity, trades);
  }
  // One return of the open block, in increasing bar order.
  THREADX_HD THREADX_FORCEINLINE void add(V r) {
    sum_r_ = sum_r_ + r;
    sum_r2_ = sum_r2_ + r * r;
  }
  // After the last bar: the final equity and trade count close the open block and any left.
  THREADX_HD THREADX_FORCEINLINE void finish(V equity, V trades) {
    while (block_ <= last_) close(equity, trades);
  }

 private:
  THREADX_HD THREADX_FORCEINLINE void close(V equity, V trades) {
    out_[block_] = BlockCell<V>{sum_r_, sum_r2_, equity, trades - trades_before_};
    trades_before_ = trades;
    sum_r_ = V{};
    sum_r2_ = V{};
    ++block_;
  }

  const std::int64_t* starts_;
  int last_;
  BlockCell<V>* out_;
  int block_ = 0;
  V sum_r_{};
  V sum_r2_{};
  V trades_before_{};
};

// No per-block statistics: every call compiles to nothing.
struct NoBlocks {
  template <class V>
  THREADX_HD THREADX_FORCEINLINE void at_bar(std::int64_t, V, V) {}
  template <class V>
  THREADX_HD THREADX_FORCEINLINE void add(V) {}
  template <class V>
  THREADX_HD THREADX_FORCEINLINE void finish(V, V) {}
};

}  // namespace threadx
