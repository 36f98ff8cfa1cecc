// The results file of SWEEP.md (HDF5):
//   /results  one row per combination at index = combination id: combo_id, every swept parameter,
//             every metric (a packed compound; fixed parameters are attributes "param.<name>");
//   /done     one uint8 flag per combination id, set only after its row is written;
//   /blocks   with --blocks S only: (combinations, S) compound {sum_r, sum_r2, equity: double;
//             trades: int32}, the per-block statistics of docs/ROBUST.md, row = combination id,
//             written with the row (before its /done flag); attribute "blocks" = S;
//   attributes: provenance (strategy and version, grid text, data files, bar count, first/last
//             timestamp, SHA-256, program version, ranks, devices, start/end time) and
//             "complete" (1 only once every /done flag is set and the file was closed cleanly).
//
// Crash safety: both datasets are allocated in full when the file is created and are never
// filtered, so later writes change raw data only, never HDF5 metadata; writes bypass the chunk
// cache, so a row reaches the operating system before its /done flag does. A process killed at
// any moment leaves a file whose set /done flags all point to complete rows (the OS page cache
// survives a killed process; surviving power loss would need fsync, see flush()).
//
// The packed row is results/row_layout.hpp's (no HDF5); the read side is
// results/results_reader.hpp.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "data/bars.hpp"
#include "grid/grid.hpp"
#include "results/row_layout.hpp"

namespace threadx {

struct Provenance {
  std::string program_version;
  std::string command_line;
  std::int64_t ranks = 1;
  std::string devices;     // e.g. "cpu:2"
  std::string isa;         // rank 0's CPU lane path, e.g. "avx2 (4 lanes)" (engine/isa.hpp)
  std::string start_time;  // ISO 8601 UTC
  std::string timeframe;   // "" when not resampled
};

// An attribute written when a run ends (accounting): text, a number, or one number per rank or
// device.
struct Attribute {
  std::string name;
  std::variant<std::string, std::int64_t, double, std::vector<std::int64_t>, std::vector<double>>
      value;
};

// Writes (or replaces) one attribute of an open HDF5 object, a file or group id as an int64_t
// (hid_t); OutputError naming `path` on failure. Strings are fixed-length.
void write_attribute(std::int64_t object, const std::string& path, const Attribute& attribute);

class ResultsFile {
 public:
  // Creates a new file (refuses to replace an existing one unless overwrite is set). Writes all
  // provenance attributes and allocates every dataset in full, under "<path>.creating", renamed
  // to `path` once flushed: a file under `path` is always fully formed, even if the process dies.
  // blocks: S for /blocks, 0 for none.
  static ResultsFile create(const std::string& path, const Grid& grid, const BarSeries& bars,
                            const Provenance& prov, bool overwrite, int blocks = 0);
  // Opens a partial file to finish it; OutputError when it was made for another grid, data file,
  // strategy version or block count.
  static ResultsFile open_for_resume(const std::string& path, const Grid& grid,
                                     const BarSeries& bars, const Provenance& prov, int blocks = 0);

  ResultsFile(ResultsFile&&) noexcept;
  ResultsFile& operator=(ResultsFile&&) noexcept;
  ResultsFile(const ResultsFile&) = delete;
  ResultsFile& operator=(const ResultsFile&) = delete;
  ~ResultsFile();

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const RowLayout& layout() const { return layout_; }
  [[nodiscard]] std::vector<std::uint8_t> read_done() const;

  // Writes a run packed by layout().pack_run (ids [begin, begin + n) where rows.size() =
  // layout().run_size(n)): its /results rows and /blocks cells, then sets their /done flags.
  void write_packed(ComboId begin, std::span<const unsigned char> rows);
  // Pushes HDF5's buffers to the operating system.
  void flush();
  // Records end time, accounting attributes and complete = 1 when every flag is set; closes.
  void finish(const std::vector<Attribute>& extra_attributes);

 private:
  ResultsFile(std::string path, const Grid& grid, int blocks);
  // Creates the file at file_path (messages name path_) and writes everything create() promises.
  void populate(const std::string& file_path, const Grid& grid, const BarSeries& bars,
                const Provenance& prov);
  void close() noexcept;

  std::string path_;
  const Grid* grid_;
  RowLayout layout_;
  std::int64_t file_ = -1, results_ = -1, done_ = -1, row_type_ = -1, blocks_ = -1, cell_type_ = -1;
};

// OutputError unless the results file at `path` was made for this strategy version, grid text,
// data, timeframe and block count (what open_for_resume checks), e.g. before accepting a complete
// file as the result of a --resume.
void check_same_run(const std::string& path, const Grid& grid, const BarSeries& bars,
                    const std::string& timeframe, int blocks = 0);

}  // namespace threadx
