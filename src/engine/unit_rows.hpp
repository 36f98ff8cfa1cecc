// What a backend computes for a run of consecutive combination ids: one Metrics per id and, when
// the sweep records per-block statistics (--blocks S), S BlockStats per id. UnitRows owns them,
// RowsView looks at them (or at a part of them); both keep the two in step, so a row's blocks
// travel wherever its metrics go (device balancer, MPI assembly, results file).
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <span>
#include <stdexcept>
#include <vector>

#include "engine/plan.hpp"
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

// Where a backend writes the rows of a run of ids: someone else's storage (a sink's buffer for a
// whole unit, see ResultSink::rows_for), laid out as UnitRows.
struct RowsOut {
  Metrics* metrics = nullptr;
  BlockStats* blocks = nullptr;  // size * block_count cells
  std::size_t size = 0;
  int block_count = 0;

  [[nodiscard]] RowsView view() const {
    return {{metrics, size}, {blocks, size * static_cast<std::size_t>(block_count)}, block_count};
  }
  // Where a kernel records the blocks (starts: block_start_bars).
  [[nodiscard]] BlockOutput block_output(const std::int64_t* starts) const {
    if (block_count == 0) return {};
    return BlockOutput{block_count, starts, blocks};
  }
  // Rows [at, at + n).
  [[nodiscard]] RowsOut sub(std::size_t at, std::size_t n) const {
    return {metrics + at,
            block_count > 0 ? blocks + at * static_cast<std::size_t>(block_count) : blocks, n,
            block_count};
  }
  // Whether `rows` are these very rows (written in place: nothing to copy).
  [[nodiscard]] bool holds(const RowsView& rows) const {
    return rows.metrics.data() == metrics && rows.size() == size;
  }
  // `rows` here: nothing to do when they are these very rows (a producer wrote them in place),
  // else a copy (put).
  void fill_from(const RowsView& rows) const {
    if (!holds(rows)) put(rows);
  }
  // Copies `rows` (as many as size, of the same block count) here.
  void put(const RowsView& rows) const {
    if (rows.block_count != block_count || rows.size() != size)
      throw std::logic_error("RowsOut::put: rows of another block count or size");
    std::copy(rows.metrics.begin(), rows.metrics.end(), metrics);
    std::copy(rows.blocks.begin(), rows.blocks.end(), blocks);
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
  // Rows [at, at + n) as a place to write them.
  [[nodiscard]] RowsOut out(std::size_t at, std::size_t n) {
    return RowsOut{metrics.data(), blocks.data(), size(), block_count}.sub(at, n);
  }
  // Where a kernel records the blocks of rows from `at` on (starts: block_start_bars).
  [[nodiscard]] BlockOutput block_output(const std::int64_t* starts, std::size_t at = 0) {
    if (block_count == 0) return {};
    return BlockOutput{block_count, starts, blocks.data()}.at(at);
  }
  // Copies `rows` over rows [at, at + rows.size()).
  void put(std::size_t at, const RowsView& rows) {
    if (rows.block_count != block_count || at + rows.size() > size())
      throw std::logic_error("UnitRows::put: rows of another block count, or past the end");
    out(at, rows.size()).put(rows);
  }
};

// A finished unit (or part of one) on its way to a ResultSink: its rows in `rows`, or already in
// the sink's own storage (`in_place`, see ResultSink::rows_for).
struct FinishedRows {
  WorkUnit unit;
  UnitRows rows;
  std::optional<RowsOut> in_place;
  [[nodiscard]] RowsView view() const { return in_place ? in_place->view() : rows.view(); }
  // Where the unit's rows go: `storage` (a sink's own, ResultSink::rows_for) when there is one,
  // which must fit the unit, else `rows`, sized here.
  RowsOut place(const std::optional<RowsOut>& storage, int block_count) {
    if (storage) {
      if (storage->size != unit.size() || storage->block_count != block_count)
        throw std::logic_error("FinishedRows: the sink's rows do not fit the unit");
      in_place = storage;
      return *storage;
    }
    rows.resize(unit.size(), block_count);
    return rows.out(0, rows.size());
  }
};

}  // namespace threadx
