// Chunk assembly and the compression pool (see chunk_pipeline.hpp).
#include "results/chunk_pipeline.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "results/chunk_codec.hpp"

namespace threadx {

ChunkAssembler::ChunkAssembler(const RowLayout& layout, std::uint64_t total_rows,
                               std::uint64_t rows_per_chunk, std::uint64_t first_row)
    : row_size_(layout.row_size()),
      cells_per_row_(static_cast<std::size_t>(layout.blocks()) * kBlockCellSize),
      total_rows_(total_rows),
      rows_per_chunk_(rows_per_chunk),
      first_row_(first_row) {
  if (rows_per_chunk == 0) throw std::invalid_argument("ChunkAssembler: rows_per_chunk is 0");
}

std::uint64_t ChunkAssembler::chunk_end(std::uint64_t k) const {
  return std::min(total_rows_, (k + 1) * rows_per_chunk_);
}

void ChunkAssembler::add(ComboId begin, std::span<const unsigned char> run,
                         std::vector<RawChunk>& full) {
  const std::size_t per_row = row_size_ + cells_per_row_;
  if (run.size() % per_row != 0) throw std::logic_error("ChunkAssembler: not whole rows");
  const std::uint64_t n = run.size() / per_row;
  if (begin + n > total_rows_ || begin < first_row_)
    throw std::logic_error("ChunkAssembler: rows outside the grid");
  const unsigned char* rows = run.data();
  const unsigned char* cells = run.data() + n * row_size_;
  for (std::uint64_t id = begin; id < begin + n;) {
    const std::uint64_t k = id / rows_per_chunk_;
    const std::uint64_t take = std::min(begin + n, chunk_end(k)) - id;
    auto [it, fresh] = open_.try_emplace(k);
    Open& o = it->second;
    if (fresh) {
      if (!spare_.empty()) {
        o.chunk = std::move(spare_.back());
        spare_.pop_back();
      }
      o.chunk.index = k;
      // Every row of [first, end) is written before the chunk is complete: only the rows before
      // first_row and past the grid's end (edge chunks) need zeros.
      const std::uint64_t lead = chunk_first(k) - k * rows_per_chunk_;
      const std::uint64_t in_grid = chunk_end(k) - k * rows_per_chunk_;
      o.chunk.rows.resize(rows_per_chunk_ * row_size_);
      o.chunk.cells.resize(rows_per_chunk_ * cells_per_row_);
      const auto zero = [&](std::vector<unsigned char>& v, std::size_t unit) {
        std::fill(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(lead * unit), 0);
        std::fill(v.begin() + static_cast<std::ptrdiff_t>(in_grid * unit), v.end(), 0);
      };
      zero(o.chunk.rows, row_size_);
      zero(o.chunk.cells, cells_per_row_);
    }
    const std::uint64_t at = id - k * rows_per_chunk_, from = id - begin;
    if (o.have.empty()) o.have.assign(rows_per_chunk_, false);
    for (std::uint64_t r = at; r < at + take; ++r) {
      if (o.have[r]) throw std::logic_error("ChunkAssembler: a row arrived twice");
      o.have[r] = true;
    }
    std::memcpy(o.chunk.rows.data() + at * row_size_, rows + from * row_size_, take * row_size_);
    if (cells_per_row_ > 0)
      std::memcpy(o.chunk.cells.data() + at * cells_per_row_, cells + from * cells_per_row_,
                  take * cells_per_row_);
    o.filled += take;
    if (o.filled == chunk_end(k) - chunk_first(k)) {
      full.push_back(std::move(o.chunk));
      open_.erase(it);
    }
    id += take;
  }
}

void ChunkAssembler::recycle(RawChunk chunk) {
  if (spare_.size() < 4) spare_.push_back(std::move(chunk));
}

ChunkCompressor::ChunkCompressor(std::size_t row_size, std::size_t cell_size, int level,
                                 int threads)
    : row_size_(row_size), cell_size_(cell_size), level_(level) {
  for (int t = 0; t < std::max(threads, 1); ++t) threads_.emplace_back([this] { loop(); });
}

ChunkCompressor::~ChunkCompressor() {
  queue_.close();
  for (std::thread& t : threads_) t.join();
}

void ChunkCompressor::submit(RawChunk chunk) {
  {
    std::lock_guard lock(mutex_);
    ++in_flight_;
  }
  const std::size_t bytes = chunk.rows.size() + chunk.cells.size();
  queue_.push(std::move(chunk), bytes);
}

void ChunkCompressor::loop() {
  ChunkScratch scratch;  // this thread's buffers, reused chunk after chunk
  for (;;) {
    std::optional<RawChunk> raw = queue_.take_one();
    if (!raw) return;  // closed and empty
    CompressedChunk out;
    std::exception_ptr failed;
    try {
      out.index = raw->index;
      compress_chunk(raw->rows, row_size_, level_, scratch);
      out.rows.assign(scratch.deflated.begin(), scratch.deflated.end());
      if (!raw->cells.empty()) {
        compress_chunk(raw->cells, cell_size_, level_, scratch);
        out.cells.assign(scratch.deflated.begin(), scratch.deflated.end());
      }
    } catch (...) {
      failed = std::current_exception();
    }
    std::lock_guard lock(mutex_);
    if (failed) {
      if (!error_) error_ = failed;
    } else {
      ready_.push_back(std::move(out));
      if (spent_.size() < 4) spent_.push_back(std::move(*raw));
    }
    --in_flight_;
    idle_.notify_all();
  }
}

std::vector<CompressedChunk> ChunkCompressor::take_ready() {
  std::lock_guard lock(mutex_);
  if (error_) std::rethrow_exception(error_);
  return std::exchange(ready_, {});
}

std::vector<RawChunk> ChunkCompressor::take_spent() {
  std::lock_guard lock(mutex_);
  return std::exchange(spent_, {});
}

std::vector<CompressedChunk> ChunkCompressor::drain() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return in_flight_ == 0; });
  if (error_) std::rethrow_exception(error_);
  return std::exchange(ready_, {});
}

}  // namespace threadx
