// The packed row of /results (SWEEP.md): combo_id, the swept parameters (table order), the
// metrics; and the packed /blocks cells. Plain bytes, no HDF5: the ranks pack their rows with it
// and rank 0's writer (results_file.hpp) only copies them into the file.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "engine/unit_rows.hpp"
#include "grid/grid.hpp"
#include "strategy/metrics.hpp"

namespace threadx {

// Where a column of /results sits in a packed row.
struct Column {
  std::string name;
  enum class Kind { U64, I32, I64, F64 } kind;
  std::size_t offset;
  std::size_t size;
};

// The column called `name`, or null.
const Column* find_column(const std::vector<Column>& columns, const std::string& name);

// The value of column c of a packed row, as a double.
double column_value(const unsigned char* row, const Column& c);

// One /blocks cell as stored: {sum_r, sum_r2, equity: double; trades: int32}, packed.
inline constexpr std::size_t kBlockCellSize = 28;

// The packed row layout of /results for a grid: combo_id, swept parameters (table order), metrics;
// and, with S blocks, the packed /blocks cells of each row.
class RowLayout {
 public:
  explicit RowLayout(const Grid& grid, int blocks = 0);
  [[nodiscard]] std::size_t row_size() const { return row_size_; }
  [[nodiscard]] int blocks() const { return blocks_; }
  [[nodiscard]] const std::vector<Column>& columns() const { return columns_; }
  // Bytes of a packed run of n rows: n rows, then their n * S cells.
  [[nodiscard]] std::size_t run_size(std::size_t n) const {
    return n * (row_size_ + static_cast<std::size_t>(blocks_) * kBlockCellSize);
  }
  // The rows of ids [begin, begin + rows.size()) into out (run_size bytes): the /results rows back
  // to back (row_size() each), then their /blocks cells. What a rank sends to the writer, so that
  // rank 0 only copies bytes into the file. rows must carry S blocks per row.
  void pack_run(const Grid& grid, ComboId begin, const RowsView& rows, unsigned char* out) const;
  [[nodiscard]] const Column* find(const std::string& name) const;
  // The metrics of a packed row: the last columns, in the order and types of Metrics.
  [[nodiscard]] Metrics unpack_metrics(const unsigned char* row) const {
    static_assert(sizeof(Metrics) == 8 * kMetrics.size(), "Metrics is its 8-byte fields");
    Metrics m;
    std::memcpy(&m, row + columns_[columns_.size() - kMetrics.size()].offset, sizeof m);
    return m;
  }
  [[nodiscard]] static double value(const unsigned char* row, const Column& c) {
    return column_value(row, c);
  }

 private:
  // Fills one row: id, the swept parameters at value indices idx (grid.indices_of(id)), metrics.
  void pack(const Grid& grid, ComboId id, const ParamIndex& idx, const Metrics& m,
            unsigned char* row) const;

  std::vector<Column> columns_;
  std::size_t row_size_ = 0;
  int blocks_ = 0;
};

}  // namespace threadx
