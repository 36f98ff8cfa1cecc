// The read side of the results file (results_file.hpp), for `threadx top`, `info`, `robust`,
// `report` and tests: its columns as stored, rows, /done flags, /blocks cells and attributes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "results/row_layout.hpp"
#include "strategy/block_stats.hpp"

namespace threadx {

// /aggregates as stored at the end of a run (docs/SWEEP.md, "/aggregates"): cells in the order of
// AggregateLayout for the file's grid; figures [cell][metric] row-major.
struct StoredAggregates {
  std::vector<std::string> metrics;  // the metric names, in the figures' column order
  std::vector<std::string> axes;     // the swept parameters with 2+ values, in cell order
  std::uint64_t cells = 0;
  std::vector<std::uint64_t> count, max_id, min_id;
  std::vector<double> sum, sumsq, max, min;  // sum/sumsq NaN when they left the double range
  std::string histogram_metric;
  double histogram_lo = 0, histogram_hi = 0;
  std::vector<std::uint64_t> histogram;  // the bins, then below lo, at or above hi, not a number
  std::uint64_t combinations = 0;        // combinations summarised (0: not filled in yet)
};

struct StoredChunks;

class ResultsReader {
 public:
  explicit ResultsReader(const std::string& path);
  ResultsReader(const ResultsReader&) = delete;
  ResultsReader& operator=(const ResultsReader&) = delete;
  ~ResultsReader();

  [[nodiscard]] std::uint64_t rows() const { return rows_; }
  // The first id of the ids the file holds (attribute ids_begin: a sweep with --ids; else 0). Row
  // k of /results is id first_id() + k (not so for /kept: read combo_id).
  [[nodiscard]] ComboId first_id() const { return first_id_; }
  // The rows are /kept (a run with --keep top:...): row k is not id k (read combo_id), and every
  // one is done.
  [[nodiscard]] bool kept_only() const { return kept_only_; }
  // Whether the file holds rows at all (--keep none: no); require_rows() throws a one-line
  // OutputError naming the file when it does not.
  [[nodiscard]] bool has_rows() const { return results_ >= 0; }
  void require_rows() const;
  // A run whose rows the ranks store (--write-path ranks) that has not ended: its rows are in
  // part files, joined when it ends, and read_done() reads its flags.
  [[nodiscard]] bool rows_joined_later() const;
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
  // /aggregates, or nullopt when the file has none (written before they existed); OutputError
  // naming the file when it is malformed.
  [[nodiscard]] std::optional<StoredAggregates> read_aggregates() const;
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
  // Where /results' and /blocks' chunks are, when they are stored as threadx compresses them
  // (read by decompressing the chunks directly, several threads at a time), in the file or in
  // the part files of a virtual dataset (--write-path ranks).
  std::unique_ptr<StoredChunks> results_chunks_, blocks_chunks_;
  // The part files and their datasets, opened once (closed with the reader).
  std::vector<std::int64_t> sources_;
  std::map<std::string, std::int64_t> source_files_, source_sets_;
  std::unique_ptr<StoredChunks> stored_chunks(std::int64_t dset, std::uint64_t cols);
  std::uint64_t rows_ = 0;
  ComboId first_id_ = 0;
  bool kept_only_ = false;
  std::size_t row_size_ = 0;
  int blocks_ = 0;
  std::vector<Column> columns_;
};

}  // namespace threadx
