// A sweep's aggregates, computed in the job (docs/SWEEP.md, "Aggregates"): for every metric, per
// value of every swept parameter and per pair of values of every pair of swept parameters, the
// count of finite values, their sum and sum of squares, the largest and the smallest with the
// smallest id among equals; and a histogram of one metric. What `report` charts, without the rows.
//
// The same bits on any number of ranks, for any unit sizes, device mix or order of arrival:
// - rows are first summarised per canonical block, in id order, in doubles. Block k of key group g
//   holds ids [g*G + k*B, min(g*G + (k+1)*B, (g+1)*G)) (G: the group size, B: block_rows), fixed
//   by the grid alone;
// - block summaries are then folded exactly: counts as integers, sums in ExactSum, the largest and
//   smallest with their ids (ties: the smaller id). Folding is exact, so its order is free.
// A unit that covers part of a block hands that part (its rows' metrics) to an AggregateBuilder,
// which summarises the block once all of it has arrived.
//
// No HDF5 here (results_file.cpp stores them); no threads but a mutex in AggregateBuilder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "common/exact_sum.hpp"
#include "grid/grid.hpp"
#include "strategy/metrics.hpp"

namespace threadx {

inline constexpr std::size_t kAggMetrics = kMetrics.size();

struct AggregateSpec {
  std::uint64_t block_rows = 1024;   // B: ids per canonical block (within a key group)
  std::size_t histogram_metric = 1;  // index in kMetrics (sharpe)
  double histogram_lo = -10, histogram_hi = 10;
  std::size_t histogram_bins = 200;  // equal bins over [lo, hi)
  // A run over a slice of the grid (--ids) cuts the canonical blocks at its ends: the blocks are
  // those of the grid intersected with [ids_begin, ids_end) (ids_end 0: the grid's end).
  ComboId ids_begin = 0, ids_end = 0;
};

// Which cells a grid has: one per value of every swept parameter with 2+ values (an "axis"), one
// per pair of values of every pair of axes a < b.
class AggregateLayout {
 public:
  AggregateLayout(const Grid& grid, const AggregateSpec& spec);

  [[nodiscard]] const AggregateSpec& spec() const { return spec_; }
  [[nodiscard]] const std::vector<std::size_t>& axes() const { return axes_; }  // ParamIds
  [[nodiscard]] std::size_t values(std::size_t axis) const { return values_[axis]; }
  [[nodiscard]] std::size_t cell_count() const { return cells_; }
  // Cell of value i of axis a; of values (i, j) of axes (a, b), a < b.
  [[nodiscard]] std::size_t single(std::size_t a, std::size_t i) const { return single_[a] + i; }
  [[nodiscard]] std::size_t pair(std::size_t a, std::size_t b, std::size_t i, std::size_t j) const {
    return pair_[a * axes_.size() + b] + i * values_[b] + j;
  }
  // The canonical block holding id, as [first, end) (cut at the ends of spec().ids_*).
  [[nodiscard]] std::pair<ComboId, ComboId> block_of(ComboId id) const;
  [[nodiscard]] ComboId rows() const { return rows_; }

 private:
  AggregateSpec spec_;
  std::vector<std::size_t> axes_, values_, single_, pair_;
  std::size_t cells_ = 0;
  ComboId rows_ = 0, group_ = 1;
  ComboId ids_begin_ = 0, ids_end_ = 0;
};

// The extremes' rule: (v, id) becomes (ov, oid) when ov is larger (smaller), or equal with a
// smaller id.
inline void keep_max(double& v, ComboId& id, double ov, ComboId oid) {
  if (ov > v || (ov == v && oid < id)) {
    v = ov;
    id = oid;
  }
}
inline void keep_min(double& v, ComboId& id, double ov, ComboId oid) {
  if (ov < v || (ov == v && oid < id)) {
    v = ov;
    id = oid;
  }
}

// One metric over a set of combinations.
struct MetricStats {
  std::uint64_t count = 0;  // finite values
  double max = 0, min = 0;  // meaningful when count > 0
  ComboId max_id = 0, min_id = 0;
  ExactSum sum, sumsq;
  bool overflow = false;  // a block's sum or sum of squares left the double range

  void merge(const MetricStats& o);
  friend bool operator==(const MetricStats&, const MetricStats&) = default;
};

// The exact, mergeable aggregates of some of a grid's combinations.
class SweepAggregates {
 public:
  explicit SweepAggregates(const AggregateLayout& layout);

  [[nodiscard]] const AggregateLayout& layout() const { return *layout_; }
  [[nodiscard]] const MetricStats& stats(std::size_t cell, std::size_t metric) const {
    return stats_[cell * kAggMetrics + metric];
  }
  MetricStats& stats(std::size_t cell, std::size_t metric) {
    return stats_[cell * kAggMetrics + metric];
  }
  // Histogram of spec().histogram_metric: bins, then below lo, at or above hi, not a number.
  [[nodiscard]] const std::vector<std::uint64_t>& histogram() const { return histogram_; }
  std::vector<std::uint64_t>& histogram() { return histogram_; }
  [[nodiscard]] std::uint64_t combinations() const { return combinations_; }
  void count_combinations(std::uint64_t n) { combinations_ += n; }

  void merge(const SweepAggregates& o);  // std::invalid_argument when the layouts differ

  // For messages and checkpoints: a flat, self-checking encoding (std::invalid_argument when it
  // does not match the layout).
  [[nodiscard]] std::vector<std::int64_t> encode() const;
  static SweepAggregates decode(const AggregateLayout& layout, std::span<const std::int64_t> data);

  friend bool operator==(const SweepAggregates& a, const SweepAggregates& b);

 private:
  const AggregateLayout* layout_;
  std::vector<MetricStats> stats_;
  std::vector<std::uint64_t> histogram_;
  std::uint64_t combinations_ = 0;
};

// Summarises whole canonical blocks into SweepAggregates (one per thread: it holds scratch space).
//
// A block's summary of a cell is a fixed function of the block's rows (so any place that holds the
// whole block computes the same bits). Within a block the indices of some axes do not change (the
// indicator keys, always; the slow axes of a small block): the "varying" axes are the others. The
// rows are added, in id order, into the cells of every pair of varying axes only; every other cell
// of the block is derived from those in a fixed order: a varying axis's value from its pairs with
// the first other varying axis (summed over that axis's values in ascending order), the block
// total from the first varying axis's values, and a cell with a constant axis is the cell of its
// varying axis, or the total. With one varying axis its values are added directly; with none, the
// total. So a row costs (varying axes choose 2) cell updates, not (axes + 1 choose 2).
class BlockSummarizer {
 public:
  explicit BlockSummarizer(const AggregateLayout& layout);
  // rows: the metrics of ids [first, first + rows.size()), exactly one whole canonical block.
  void add_block(const Grid& grid, ComboId first, std::span<const Metrics> rows,
                 SweepAggregates& into);

 private:
  // One cell's running summary of each metric, two metrics to a vector (GCC/Clang vector
  // extensions: SSE2 on the baseline build), so that a row's update is branch-free.
  using V2 = double __attribute__((vector_size(16)));
  using M2 = std::int64_t __attribute__((vector_size(16)));
  static constexpr std::size_t kVectors = 6;  // 11 metrics, padded to 12
  struct Partial {
    V2 sum[kVectors], sumsq[kVectors], max[kVectors], min[kVectors];
    M2 count[kVectors], max_id[kVectors], min_id[kVectors];
    void clear();
    void add_row(const V2* v, ComboId id);
    void combine(const Partial& o);  // o's rows come after or before: ties go to the smaller id
  };
  Partial& cell(std::size_t c);  // cleared the first time a block touches it
  [[nodiscard]] std::size_t histogram_bin(double h) const;
  void fold(SweepAggregates& into) const;

  const AggregateLayout& layout_;
  std::vector<Partial> partial_;        // per cell
  std::vector<std::uint32_t> stamp_;    // per cell: the block that last touched it
  std::vector<std::uint32_t> touched_;  // cells touched by this block
  std::uint32_t block_ = 0;
};

// Rows of ids [begin, begin + rows.size()) that are a part of a canonical block.
struct BlockPart {
  ComboId begin = 0;
  std::vector<Metrics> rows;
};

// Takes runs of finished rows in any order, from any number of threads: the whole blocks inside a
// run are summarised at once on the calling thread, the parts of blocks are kept until their
// block is complete (then summarised by the thread that completes it). A rank hands the parts
// still open to rank 0 (take_open_parts), which completes the blocks that ranks share.
class AggregateBuilder {
 public:
  AggregateBuilder(const Grid& grid, const AggregateLayout& layout);
  // The rows of ids [begin, begin + rows.size()); each id at most once over the whole run.
  void add(ComboId begin, std::span<const Metrics> rows);
  // Adds aggregates summarised elsewhere (another rank's, a checkpoint's).
  void merge(const SweepAggregates& a);
  // Blocks still waiting for some of their rows.
  [[nodiscard]] std::size_t open_blocks() const;
  // The aggregates of every row added or merged; std::logic_error when a block is still
  // incomplete and `allow_open` is false (open blocks are left out otherwise).
  [[nodiscard]] SweepAggregates finish(bool allow_open = false) const;
  // The rows the open blocks hold so far (for a checkpoint: add() them to restore).
  [[nodiscard]] std::vector<BlockPart> open_parts() const;
  // What was summarised, and the open blocks' rows, since the last take; the builder then
  // forgets them (a rank's delta for rank 0). Only while no add() runs.
  [[nodiscard]] SweepAggregates take_aggregates();
  [[nodiscard]] std::vector<BlockPart> take_open_parts();

 private:
  struct Slot {
    BlockSummarizer summarizer;
    SweepAggregates aggregates;
  };
  struct Open {
    std::vector<Metrics> rows;
    std::vector<bool> have;
    std::uint64_t filled = 0;
  };
  Slot& acquire();
  void release(Slot& slot);

  const Grid& grid_;
  const AggregateLayout& layout_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Slot*> free_;
  SweepAggregates merged_;
  std::map<ComboId, Open> open_;  // by block start
};

}  // namespace threadx
