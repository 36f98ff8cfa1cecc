// What a backend computes for a run of consecutive combination ids: one Metrics per id and, when
// the sweep records per-block statistics (--blocks S), S BlockStats per id. UnitRows owns them,
// RowsView looks at them (or at a part of them); both keep the two in step, so a row's blocks
// travel wherever its metrics go (device balancer, MPI assembly, results file).
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <vector>

#include "strategy/block_stats.hpp"
#include "strategy/metrics.hpp"

namespace threadx {

struct RowsView {
  std::span<const Metrics> metrics;
  std::span<const BlockStats> blocks;  // metrics.size() * block_count cells, row-major
  int block_count = 0;                 // 0: no per-block statistics

  [[nodiscard]] std::size_t size() const { return metrics.size(); }
  // Rows [at, at + n).
  [[nodiscard]] RowsView sub(std::size_t at, std::size_t n) const {
    const auto s = static_cast<std::size_t>(block_count);
    return {metrics.subspan(at, n), block_count > 0 ? blocks.subspan(at * s, n * s) : blocks,
            block_count};
  }
};

struct UnitRows {
  std::vector<Metrics> metrics;
  std::vector<BlockStats> blocks;
  int block_count = 0;

  UnitRows() = default;
  UnitRows(std::size_t rows, int block_count_) { resize(rows, block_count_); }
  void resize(std::size_t rows, int block_count_) {
    block_count = block_count_;
    metrics.resize(rows);
    blocks.resize(rows * static_cast<std::size_t>(block_count_));
  }
  [[nodiscard]] std::size_t size() const { return metrics.size(); }
  [[nodiscard]] RowsView view() const { return {metrics, blocks, block_count}; }
  // Where a kernel records the blocks of rows from `at` on (starts: block_start_bars).
  [[nodiscard]] BlockOutput block_output(const std::int64_t* starts, std::size_t at = 0) {
    if (block_count == 0) return {};
    return BlockOutput{block_count, starts, blocks.data()}.at(at);
  }
  // Copies `rows` over rows [at, at + rows.size()).
  void put(std::size_t at, const RowsView& rows) {
    if (rows.block_count != block_count || at + rows.size() > size())
      throw std::logic_error("UnitRows::put: rows of another block count, or past the end");
    std::copy(rows.metrics.begin(), rows.metrics.end(),
              metrics.begin() + static_cast<std::ptrdiff_t>(at));
    std::copy(
        rows.blocks.begin(), rows.blocks.end(),
        blocks.begin() + static_cast<std::ptrdiff_t>(at * static_cast<std::size_t>(block_count)));
  }
};

}  // namespace threadx
