// A stored chunk of /results or /blocks as HDF5's own filters would make it: the shuffle filter
// (byte j of every element, then byte j + 1, ...) followed by the deflate filter (a zlib stream,
// here made and read by libdeflate).
// The ranks' rows are compressed with this, away from rank 0's writer thread, and stored with
// H5Dwrite_chunk; any HDF5 reader (h5py, h5dump) decompresses them with its built-in filters.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

struct libdeflate_compressor;  // libdeflate.h

namespace threadx {

// HDF5's shuffle of `count` elements of `elem_size` bytes: out[j * count + i] = in[i * elem_size
// + j]. in and out hold count * elem_size bytes and do not overlap.
void shuffle_bytes(const unsigned char* in, std::size_t elem_size, std::size_t count,
                   unsigned char* out);

// The inverse: out[i * elem_size + j] = in[j * count + i].
void unshuffle_bytes(const unsigned char* in, std::size_t elem_size, std::size_t count,
                     unsigned char* out);

// What compress_chunk reuses from one chunk to the next (one per thread): buffers and a
// libdeflate compressor for one level.
class ChunkScratch {
 public:
  ChunkScratch() = default;
  ChunkScratch(const ChunkScratch&) = delete;
  ChunkScratch& operator=(const ChunkScratch&) = delete;
  ~ChunkScratch();
  std::vector<unsigned char> shuffled, deflated;

 private:
  friend void compress_chunk(std::span<const unsigned char>, std::size_t, int, ChunkScratch&);
  ::libdeflate_compressor* compressor_ = nullptr;
  int level_ = -1;
};

// A whole chunk (raw.size() a multiple of elem_size), shuffled then deflated at `level` (1-9):
// the bytes HDF5's "shuffle + deflate(level)" pipeline stores for it, left in scratch.deflated.
void compress_chunk(std::span<const unsigned char> raw, std::size_t elem_size, int level,
                    ChunkScratch& scratch);
// The same, returned in a vector of their own.
std::vector<unsigned char> compress_chunk(std::span<const unsigned char> raw, std::size_t elem_size,
                                          int level);

// The raw chunk of raw_size bytes back from compress_chunk's bytes; std::runtime_error when they
// are not a zlib stream of exactly raw_size bytes.
std::vector<unsigned char> decompress_chunk(std::span<const unsigned char> stored,
                                            std::size_t elem_size, std::size_t raw_size);

}  // namespace threadx
