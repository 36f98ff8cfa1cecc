// Distinct return streams. Two combinations are the same stream when every per-block sum_r and
// sum_r2 is bitwise equal (docs/ROBUST.md): a grid has many such (parameters that never change a
// trade), and every statistic here is a function of the stream, so CSCV runs once per stream and
// counts it with its multiplicity, and the DSR counts each stream as one trial.
//
// A StreamSet holds the distinct streams of some rows, ordered by the smallest combination id of
// each (its representative), with the block sums stored block-major (one contiguous column per
// block, padded with zeros to a multiple of kStreamPad), which is what the CSCV kernel tiles.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "robust/block_matrix.hpp"

namespace threadx::robust {

inline constexpr std::size_t kStreamPad = 8;

class StreamSet {
 public:
  StreamSet() = default;

  [[nodiscard]] int blocks() const { return blocks_; }
  [[nodiscard]] std::span<const std::int64_t> returns_per_block() const { return n_b_; }
  // Distinct streams.
  [[nodiscard]] std::size_t size() const { return ids_.size(); }
  // Rows they stand for (the sum of the multiplicities).
  [[nodiscard]] std::int64_t rows() const { return rows_; }
  // Smallest combination id of stream i; streams are in increasing order of it.
  [[nodiscard]] std::int64_t id(std::size_t i) const { return ids_[i]; }
  [[nodiscard]] std::int64_t multiplicity(std::size_t i) const { return mult_[i]; }
  // Padded length of each column (>= size(), a multiple of kStreamPad); padding streams have
  // zero sums and multiplicity 0.
  [[nodiscard]] std::size_t stride() const { return stride_; }
  [[nodiscard]] const double* sum_r(int block) const { return column(sum_r_, block); }
  [[nodiscard]] const double* sum_r2(int block) const { return column(sum_r2_, block); }
  [[nodiscard]] const std::int64_t* multiplicities() const { return mult_.data(); }
  // SR over all blocks of stream i (increasing block order).
  [[nodiscard]] double whole_run_sharpe(std::size_t i) const;
  // SR_J of stream i for the blocks set in mask.
  [[nodiscard]] double sharpe_of_blocks(std::size_t i, std::uint64_t mask) const;

 private:
  friend class StreamSetBuilder;
  [[nodiscard]] const double* column(const std::vector<double>& v, int block) const {
    return v.data() + static_cast<std::size_t>(block) * stride_;
  }
  int blocks_ = 0;
  std::vector<std::int64_t> n_b_;
  std::vector<std::int64_t> ids_;
  std::vector<std::int64_t> mult_;  // stride_ entries
  std::vector<double> sum_r_;       // blocks_ * stride_, block-major
  std::vector<double> sum_r2_;
  std::size_t stride_ = 0;
  std::int64_t rows_ = 0;
};

// Collects rows (any ranges, any order) or other StreamSets (a union: the same stream seen in
// several sets keeps the smallest id and adds the multiplicities), then sorts the distinct
// streams by id. Hash table on the 2*S bit patterns; memory is O(distinct streams).
class StreamSetBuilder {
 public:
  StreamSetBuilder(int blocks, std::span<const std::int64_t> returns_per_block);
  void add(const BlockMatrix& rows);  // InputError if S or n_b differ
  void add(const StreamSet& streams);
  // One stream given by its sums in block order (S each), e.g. a StreamSet sent by another
  // process: the same as add(StreamSet) for that stream.
  void add_stream(std::int64_t id, std::int64_t multiplicity, std::span<const double> sum_r,
                  std::span<const double> sum_r2);
  [[nodiscard]] std::size_t size() const { return ids_.size(); }
  [[nodiscard]] StreamSet finish() &&;

 private:
  void insert(const std::uint64_t* key, std::int64_t id, std::int64_t multiplicity);
  void grow();
  int blocks_;
  std::size_t key_words_;
  std::vector<std::int64_t> n_b_;
  std::vector<std::uint64_t> keys_;  // key_words_ per stream: sum_r, sum_r2 of block 0, 1, ...
  std::vector<std::int64_t> ids_;
  std::vector<std::int64_t> mult_;
  std::vector<std::uint64_t> hashes_;
  std::vector<std::uint32_t> table_;  // stream index + 1, 0 = empty; size a power of two
  std::int64_t rows_ = 0;
};

// The distinct streams of one range of rows.
StreamSet distinct_streams(const BlockMatrix& rows);

}  // namespace threadx::robust
