// The way rows of a compressed results file travel (no HDF5 here; results_file.cpp stores the
// chunks): finished units arrive in any order and are copied into the storage chunks they cover
// (ChunkAssembler); a chunk whose every row has arrived is shuffled and deflated by a pool of
// threads (ChunkCompressor), away from the thread that writes the file, which then stores the
// compressed bytes as they are (H5Dwrite_chunk).
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/bounded_queue.hpp"
#include "grid/grid.hpp"
#include "results/row_layout.hpp"

namespace threadx {

// Storage chunk k holds the rows of ids [k * R, min(N, (k + 1) * R)): its /results part (R packed
// rows) and, with blocks, its /blocks part (R x S cells); rows past N are zero (HDF5 stores edge
// chunks whole).
struct RawChunk {
  std::uint64_t index = 0;
  std::vector<unsigned char> rows, cells;
};

struct CompressedChunk {
  std::uint64_t index = 0;
  std::vector<unsigned char> rows, cells;
};

class ChunkAssembler {
 public:
  // Rows before first_row never arrive (a chunk is complete once its rows from first_row on are
  // in; the others are zero): a rank's own file of a grid slice that starts inside a chunk.
  ChunkAssembler(const RowLayout& layout, std::uint64_t total_rows, std::uint64_t rows_per_chunk,
                 std::uint64_t first_row = 0);

  // Copies a run packed by RowLayout::pack_run (ids [begin, begin + n)) into its chunks and
  // appends every chunk it completes to `full`. std::logic_error when the run does not fit the
  // grid or fills a row twice.
  void add(ComboId begin, std::span<const unsigned char> run, std::vector<RawChunk>& full);
  // Keeps a chunk's buffers for a later chunk (a few at most), instead of allocating them anew.
  void recycle(RawChunk chunk);
  // Chunks holding some rows but not all of them yet.
  [[nodiscard]] std::size_t open_chunks() const { return open_.size(); }
  [[nodiscard]] std::uint64_t rows_per_chunk() const { return rows_per_chunk_; }
  // Ids [first, end) of chunk k.
  [[nodiscard]] std::uint64_t chunk_first(std::uint64_t k) const {
    return std::max(first_row_, k * rows_per_chunk_);
  }
  [[nodiscard]] std::uint64_t chunk_end(std::uint64_t k) const;

 private:
  struct Open {
    RawChunk chunk;
    std::vector<bool> have;  // which rows arrived: a row sent twice is an error, not a fill
    std::uint64_t filled = 0;
  };
  std::size_t row_size_, cells_per_row_;  // bytes
  std::uint64_t total_rows_, rows_per_chunk_, first_row_;
  std::unordered_map<std::uint64_t, Open> open_;
  std::vector<RawChunk> spare_;
};

// Threads that shuffle + deflate full chunks (chunk_codec.hpp). submit() waits while kMaxQueued
// bytes of raw chunks are queued; take_ready() hands back the compressed ones in any order.
class ChunkCompressor {
 public:
  // row_size and cell_size: the element sizes of the two datasets (the shuffle's unit).
  ChunkCompressor(std::size_t row_size, std::size_t cell_size, int level, int threads);
  ~ChunkCompressor();
  ChunkCompressor(const ChunkCompressor&) = delete;
  ChunkCompressor& operator=(const ChunkCompressor&) = delete;

  void submit(RawChunk chunk);
  // The chunks compressed so far (rethrows a compression failure).
  std::vector<CompressedChunk> take_ready();
  // Waits until every submitted chunk is compressed, then returns them (as take_ready).
  std::vector<CompressedChunk> drain();
  // Raw chunks already compressed, for ChunkAssembler::recycle.
  std::vector<RawChunk> take_spent();

 private:
  static constexpr std::size_t kMaxQueued = std::size_t{16} << 20;
  void loop();

  std::size_t row_size_, cell_size_;
  int level_;
  BoundedQueue<RawChunk> queue_{kMaxQueued};
  std::mutex mutex_;
  std::condition_variable idle_;
  std::vector<CompressedChunk> ready_;
  std::vector<RawChunk> spent_;
  std::size_t in_flight_ = 0;  // submitted, not yet in ready_
  std::exception_ptr error_;
  std::vector<std::thread> threads_;  // last: start once the members above exist
};

}  // namespace threadx
