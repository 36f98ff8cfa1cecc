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
// Storage. Compressed (the default, deflate level 1..9): /results and /blocks are chunked by R rows
// (16,384, fewer with many blocks) and stored through HDF5's shuffle + deflate filters, so h5py
// and h5dump read them as they are. A chunk is stored whole once every one of its rows has arrived
// (results/chunk_pipeline.hpp: a pool of threads compresses it, this file's writer stores the
// bytes with H5Dwrite_chunk), the file is then flushed, and only then are the chunk's /done flags
// set. The file is written in HDF5's SWMR mode, whose ordered metadata flushes keep it readable
// whenever the process dies; so a set flag always points to a stored chunk, and a killed run loses
// only the chunks not yet complete and flushed. Level 0: as before, /results and /blocks are
// allocated in full and never filtered, each unit's rows are written in place, then its flags.
// Writes bypass the chunk cache, so a row reaches the operating system before its /done flag does
// (the OS page cache survives a killed process; surviving power loss would need fsync).
//
// The packed row is results/row_layout.hpp's (no HDF5); the read side is
// results/results_reader.hpp.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "data/bars.hpp"
#include "grid/grid.hpp"
#include "results/chunk_pipeline.hpp"
#include "results/keep.hpp"
#include "results/part_file.hpp"
#include "results/row_layout.hpp"
#include "results/summary_store.hpp"

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

// How a new results file stores its rows.
struct ResultsStorage {
  KeepSpec keep;                 // all: /results and /done; else no rows, /summary checkpoints
  AggregateSpec aggregates;      // the shape of /aggregates (what the run's summary computes)
  int deflate_level = 1;         // 1..9: shuffle + deflate at that level; 0: no compression
  int compress_threads = 0;      // threads compressing chunks; 0: one per core, at most 8
  std::uint64_t chunk_rows = 0;  // rows per chunk when compressed; 0: rows_per_chunk(blocks)
  // --ids: the file holds ids [ids_begin, ids_end) of the grid (ids_end 0: up to its end); its
  // rows, flags and cells are those ids' in order (row k is id ids_begin + k).
  ComboId ids_begin = 0, ids_end = 0;
  // --write-path ranks (with --keep all, compressed): the rows go to the ranks' own files
  // (results/part_file.hpp) and this file holds /done and /parts, the part file of each storage
  // chunk; when the run ends its /results and /blocks become virtual datasets over those files.
  // This run's part files are part_name(out_name, session, r) for ranks r < part_ranks.
  bool rows_by_ranks = false;
  std::string out_name;  // the results file's final name, without its directory
  std::string session;
  int part_ranks = 1;
};

class ResultsFile {
 public:
  // Creates a new file (refuses to replace an existing one unless overwrite is set). Writes all
  // provenance attributes and creates every dataset (uncompressed ones allocated in full), under
  // "<path>.creating", renamed to `path` once flushed: a file under `path` is always fully formed,
  // even if the process dies. blocks: S for /blocks, 0 for none.
  static ResultsFile create(const std::string& path, const Grid& grid, const BarSeries& bars,
                            const Provenance& prov, bool overwrite, int blocks = 0,
                            const ResultsStorage& storage = {});
  // Opens a partial file to finish it, with the storage it was made with (compress_threads from
  // `storage`); OutputError when it was made for another grid, data file, strategy version or
  // block count.
  static ResultsFile open_for_resume(const std::string& path, const Grid& grid,
                                     const BarSeries& bars, const Provenance& prov, int blocks = 0,
                                     const ResultsStorage& storage = {});

  ResultsFile(ResultsFile&&) noexcept;
  ResultsFile& operator=(ResultsFile&&) noexcept;
  ResultsFile(const ResultsFile&) = delete;
  ResultsFile& operator=(const ResultsFile&) = delete;
  ~ResultsFile();

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const RowLayout& layout() const { return layout_; }
  // The deflate level of /results (0: not compressed) and its rows per chunk.
  [[nodiscard]] int deflate_level() const { return level_; }
  [[nodiscard]] std::uint64_t rows_per_chunk() const { return rows_per_chunk_; }
  // --write-path ranks: whether the ranks store the rows, the shape of their part files, and the
  // index (in /parts) of this run's part file of rank r.
  [[nodiscard]] bool rows_by_ranks() const { return by_ranks_; }
  [[nodiscard]] PartShape part_shape() const {
    return {first_, first_ + ids_, rows_per_chunk_, level_};
  }
  [[nodiscard]] int part_index(int rank) const { return part_base_ + rank; }
  // After finish() of a --write-path ranks run: the part files its virtual datasets read (names
  // from the file's directory); empty for any other file.
  [[nodiscard]] const std::vector<std::string>& mapped_part_files() const { return mapped_parts_; }
  // Every part file the file records, this session's included (names from its directory).
  [[nodiscard]] const std::vector<std::string>& part_files() const { return part_files_; }
  // On resume: the storage chunks recorded in earlier part files that are gone (computed again).
  [[nodiscard]] std::uint64_t lost_part_chunks() const { return lost_part_chunks_; }
  // The ids the file holds: [first_id(), first_id() + ids()) (the whole grid unless --ids).
  [[nodiscard]] ComboId first_id() const { return first_; }
  [[nodiscard]] std::uint64_t ids() const { return ids_; }
  // The /done flags, one per id the file holds (flag k: id first_id() + k). In a compressed file a
  // chunk counts as done only when all its flags are set.
  [[nodiscard]] std::vector<std::uint8_t> read_done() const;

  // Takes a run packed by layout().pack_run (ids [begin, begin + n) where rows.size() =
  // layout().run_size(n)). Not compressed: writes its /results rows and /blocks cells, then sets
  // their /done flags. Compressed: adds it to its chunks and stores the chunks compressed so far;
  // their flags are set by the next flush().
  void write_packed(ComboId begin, std::span<const unsigned char> rows);
  // --write-path ranks: the rows of ids [begin, end) (whole chunks) are stored and flushed in part
  // file `part` (part_index): records it in /parts, then sets their /done flags.
  void mark_stored(ComboId begin, ComboId end, int part);
  // Pushes HDF5's buffers to the operating system; in a compressed file, then sets the /done flags
  // of the chunks stored before it.
  void flush();
  // Compressed: waits until every complete chunk is compressed, stores them and flushes.
  void drain();
  // Stores what is compressed or being compressed (rows of chunks still incomplete are dropped:
  // a resume computes them again), writes the summary's aggregates and kept rows (when given),
  // records end time, accounting attributes and complete = 1 when every combination is done, and
  // closes. Returns the number of combinations done (with --keep all: /done flags set; else the
  // ids the summary covers).
  std::uint64_t finish(const std::vector<Attribute>& extra_attributes,
                       const SweepSummary* summary = nullptr);

  // What the file keeps (--keep). Not all: no /results, /done or /blocks; the summary's
  // checkpoints in /summary.
  [[nodiscard]] const KeepSpec& keep() const { return keep_; }
  // Not all: writes a checkpoint (SummaryStore::write_checkpoint); reads the newest whole one.
  void write_checkpoint(std::span<const std::byte> bytes);
  [[nodiscard]] std::vector<std::byte> read_checkpoint() const;
  // All: the packed /results rows [begin, begin + count), ids first_id() + begin ... (no /blocks
  // cells).
  [[nodiscard]] std::vector<unsigned char> read_rows(ComboId begin, std::uint64_t count) const;
  // Bytes of rows and cells received, and bytes stored for them (equal when not compressed).
  [[nodiscard]] std::uint64_t bytes_in() const { return bytes_in_; }
  [[nodiscard]] std::uint64_t bytes_stored() const { return bytes_stored_; }

 private:
  ResultsFile(std::string path, const Grid& grid, int blocks);
  // Creates the file at file_path (messages name path_) and writes everything create() promises.
  void populate(const std::string& file_path, const Grid& grid, const BarSeries& bars,
                const Provenance& prov);
  // Starts the chunk pipeline of a compressed file (level_ and rows_per_chunk_ set).
  void start_pipeline(int compress_threads);
  // Stores compressed chunks with H5Dwrite_chunk; their flags wait for the next flush().
  void store(std::vector<CompressedChunk> chunks);
  void set_done(std::uint64_t first, std::uint64_t count);
  // On resume of a --write-path ranks file: makes the earlier runs' part files readable again
  // (clears the SWMR mark a killed rank left), and forgets the chunks (their /parts entries and
  // /done flags) of part files that are gone, to be computed again.
  void recover_parts();
  // Part file `part` (an index of part_files_), from the working directory.
  [[nodiscard]] std::string part_file_path(int part) const;
  // At the end of a --write-path ranks run: /results (and /blocks) as virtual datasets over the
  // part files, from /parts; mapped_parts_ the part files they use.
  void map_parts();
  // Storage chunks of /parts (PartShape: from base() to the slice's end).
  [[nodiscard]] std::uint64_t part_chunks() const {
    const PartShape s = part_shape();
    return (s.end - s.base() + rows_per_chunk_ - 1) / rows_per_chunk_;
  }
  // The /parts entries of chunks [first, first + count).
  [[nodiscard]] std::vector<std::int32_t> read_parts(std::uint64_t first,
                                                     std::uint64_t count) const;
  void close() noexcept;

  // Written in SWMR mode: compressed rows, or checkpoints.
  [[nodiscard]] bool swmr() const { return level_ > 0 || !keep_.all(); }

  std::string path_;
  const Grid* grid_;
  RowLayout layout_;
  KeepSpec keep_;
  AggregateSpec aggregates_;
  std::unique_ptr<SummaryStore> summary_;
  int level_ = 0;
  std::uint64_t rows_per_chunk_ = 0;
  ComboId first_ = 0;
  std::uint64_t ids_ = 0;
  std::unique_ptr<ChunkAssembler> assembler_;
  std::unique_ptr<ChunkCompressor> compressor_;
  std::vector<std::uint64_t> stored_;  // chunks stored since the last flush (flags not yet set)
  std::uint64_t bytes_in_ = 0, bytes_stored_ = 0;
  bool by_ranks_ = false;
  int part_base_ = 0;
  std::vector<std::string> part_files_;  // names, from the file's directory
  std::vector<std::string> mapped_parts_;
  std::uint64_t lost_part_chunks_ = 0;
  std::int64_t parts_ = -1;  // /parts
  // The part files read so far (read_rows of a resumed run), by index.
  struct PartReader;
  [[nodiscard]] std::int64_t part_results(int part) const;  // its /results dataset, opened once
  mutable std::map<int, std::unique_ptr<PartReader>> part_readers_;
  std::int64_t file_ = -1, results_ = -1, done_ = -1, row_type_ = -1, blocks_ = -1, cell_type_ = -1;
};

// OutputError unless the results file at `path` was made for this strategy version, grid text,
// data, timeframe and block count (what open_for_resume checks), e.g. before accepting a complete
// file as the result of a --resume.
void check_same_run(const std::string& path, const Grid& grid, const BarSeries& bars,
                    const std::string& timeframe, int blocks = 0);

// Rows per storage chunk of a compressed file with S blocks: 16,384, halved while a chunk's
// /blocks part would exceed 16,384 x 8 cells.
std::uint64_t rows_per_chunk(int blocks);

// The most rows a compressed chunk may hold with this layout: a chunk's /results and /blocks
// parts together stay within 64 MiB (rank 0 holds every chunk with rows in flight).
std::uint64_t max_chunk_rows(const RowLayout& layout);

}  // namespace threadx
