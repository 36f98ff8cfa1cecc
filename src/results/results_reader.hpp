// The read side of the results file (results_file.hpp), for `threadx top`, `info`, `robust`,
// `report` and tests: its columns as stored, rows, /done flags, /blocks cells and attributes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "results/row_layout.hpp"
#include "strategy/block_stats.hpp"

namespace threadx {

class ResultsReader {
 public:
  explicit ResultsReader(const std::string& path);
  ResultsReader(const ResultsReader&) = delete;
  ResultsReader& operator=(const ResultsReader&) = delete;
  ~ResultsReader();

  [[nodiscard]] std::uint64_t rows() const { return rows_; }
  // The rows are /kept (a run with --keep top:...): row k is not id k (read combo_id), and every
  // one is done.
  [[nodiscard]] bool kept_only() const { return kept_only_; }
  // Whether the file holds rows at all (--keep none: no); require_rows() throws a one-line
  // OutputError naming the file when it does not.
  [[nodiscard]] bool has_rows() const { return results_ >= 0; }
  void require_rows() const;
  [[nodiscard]] const std::vector<Column>& columns() const { return columns_; }
  [[nodiscard]] std::size_t row_size() const { return row_size_; }
  // Raw packed rows [begin, begin + count).
  [[nodiscard]] std::vector<unsigned char> read_rows(std::uint64_t begin,
                                                     std::uint64_t count) const;
  [[nodiscard]] std::vector<std::uint8_t> read_done() const;
  // S of /blocks (the per-block statistics of docs/ROBUST.md), 0 when the file has none.
  [[nodiscard]] int blocks() const { return blocks_; }
  // The S cells of each combination id in [begin, begin + count), row-major; InputError naming
  // the file when it has no /blocks.
  [[nodiscard]] std::vector<BlockStats> read_blocks(std::uint64_t begin, std::uint64_t count) const;
  // How /results is stored, e.g. "shuffle + deflate level 1, chunks of 16384 rows" or
  // "uncompressed, chunks of 16384 rows".
  [[nodiscard]] std::string storage() const;
  // All attributes as text, in name order.
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> attributes() const;
  [[nodiscard]] std::optional<std::string> attribute(const std::string& name) const;
  [[nodiscard]] const Column* find(const std::string& name) const;
  [[nodiscard]] static double value(const unsigned char* row, const Column& c) {
    return column_value(row, c);
  }

 private:
  std::string path_;
  std::int64_t file_ = -1, results_ = -1, type_ = -1, blocks_set_ = -1;
  // Rows per chunk of /results and /blocks when they are stored as threadx compresses them (read
  // by decompressing their chunks directly, several threads at a time), else 0.
  std::uint64_t results_chunk_rows_ = 0, blocks_chunk_rows_ = 0;
  std::uint64_t rows_ = 0;
  bool kept_only_ = false;
  std::size_t row_size_ = 0;
  int blocks_ = 0;
  std::vector<Column> columns_;
};

}  // namespace threadx
