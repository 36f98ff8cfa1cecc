// A rank's own file of rows (--write-path ranks, docs/SWEEP.md "Rows stored by the ranks").
//
// Each rank of the job writes the rows it computes into a file of its own, beside the results
// file: "<out>.parts/<session>-r<rank>.h5", one per rank and per run (a resume adds files, never
// reopens old ones). Its /results (and /blocks) has the results file's row type, shuffle + deflate
// filters and chunks of R rows, where R divides the grid's group size: the dispatcher grants units
// on chunk boundaries, so every chunk is computed by one rank, which compresses it whole and
// stores it with H5Dwrite_chunk at its place. Rank 0's results file records which file holds each
// chunk (with its /done flags, set only after the part file was flushed), and when the run ends
// its /results and /blocks become HDF5 virtual datasets over those chunks: any HDF5 reader (h5py,
// h5dump, threadx itself) reads them as one dataset.
//
// A part file is written in SWMR mode (like a compressed results file): a rank killed at any point
// leaves it readable, and the chunks it had reported are in it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "grid/grid.hpp"
#include "results/chunk_codec.hpp"
#include "results/chunk_pipeline.hpp"
#include "results/row_layout.hpp"

namespace threadx {

// Rows per chunk of a run of `ids` combinations whose rows are stored by the ranks, on `slots`
// compute threads in all: the largest divisor of the grid's group size (so a unit of whole chunks
// never crosses a group) up to cap = ids / (slots x 512) clamped to [64, 16,384], at least 64
// (else the smallest divisor above cap, or the whole group). Units are whole chunks,
// so a chunk must stay small next to a thread's share of the run: with a fixed 16,384 rows,
// sim_290m on 10,000 simulated ranks took 4.6x its ideal time (README).
std::uint64_t part_chunk_rows(const Grid& grid, std::uint64_t ids, std::uint64_t slots);

// The ids a part file can hold: row j is id base + j, for the ids [first, end) of the run's slice;
// base = first rounded down to a multiple of rows_per_chunk, so chunks fall on multiples of
// rows_per_chunk in ids.
struct PartShape {
  ComboId first = 0, end = 0;
  std::uint64_t rows_per_chunk = 1;
  int level = 1;  // deflate level, 1..9
  [[nodiscard]] ComboId base() const { return first / rows_per_chunk * rows_per_chunk; }
};

// "<out>.parts/<session>-r<rank>.h5" as named from the results file's directory (what the results
// file records), for the results file named `out_name` (no directory).
std::string part_name(const std::string& out_name, const std::string& session, int rank);
// The same part's path, for the results file at `out`.
std::string part_path(const std::string& out, const std::string& session, int rank);

// The names in a part_files attribute (one per line; the line's index is what /parts records).
std::vector<std::string> part_file_names(const std::string& attribute_text);

// The part files a results file records (attribute part_files: names from its directory); empty
// when there is no such file or attribute.
std::vector<std::string> recorded_part_files(const std::string& results_path);

// After a run whose results file is `out` ended: removes the part files among `candidates` (the
// ones this run's file recorded, and those of the file it replaced) that are not `used` (all
// names from out's directory, as the files record them), then "<out>.parts/" if it is empty.
// Returns how many it removed. No other file is touched: another results file's parts (one
// moved away, say) stay.
std::size_t remove_unused_parts(const std::string& out, const std::vector<std::string>& candidates,
                                const std::vector<std::string>& used);

class PartFile {
 public:
  // Creates the file (and its directory); OutputError naming it when it exists or cannot be made.
  PartFile(const std::string& path, const RowLayout& layout, const PartShape& shape);
  ~PartFile();
  PartFile(const PartFile&) = delete;
  PartFile& operator=(const PartFile&) = delete;

  // Stores the rows of a run packed by RowLayout::pack_run (ids [begin, begin + n)), which must
  // cover whole chunks of the slice (std::logic_error otherwise): compressed here, on the
  // caller's thread.
  void write(ComboId begin, std::span<const unsigned char> run);
  // Pushes what was stored to the operating system (after it, the chunks may be reported done).
  void flush();
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::uint64_t bytes_in() const { return bytes_in_; }
  [[nodiscard]] std::uint64_t bytes_stored() const { return bytes_stored_; }

 private:
  std::string path_;
  RowLayout layout_;
  PartShape shape_;
  ChunkAssembler assembler_;
  ChunkScratch scratch_;
  std::uint64_t bytes_in_ = 0, bytes_stored_ = 0;
  std::int64_t file_ = -1, results_ = -1, blocks_ = -1;
  void close_handles() noexcept;  // with the library mutex held
};

}  // namespace threadx
