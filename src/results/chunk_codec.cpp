// Shuffle + deflate of a whole chunk (see chunk_codec.hpp).
#include "results/chunk_codec.hpp"

#include <libdeflate.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace threadx {
namespace {

#if defined(__SSE2__)
// Transposes a 16 x 16 byte tile: row k of the tile is 16 bytes at in + k * in_stride; column c
// goes to out + c * out_stride. Four rounds of unpacking leave column c in vector bitrev4(c).
inline void transpose16(const unsigned char* in, std::size_t in_stride, unsigned char* out,
                        std::size_t out_stride) {
  __m128i a[16], b[16];
  for (int k = 0; k < 16; ++k)
    a[k] = _mm_loadu_si128(
        reinterpret_cast<const __m128i*>(in + static_cast<std::size_t>(k) * in_stride));
  for (int i = 0; i < 8; ++i) {
    b[i] = _mm_unpacklo_epi8(a[2 * i], a[2 * i + 1]);
    b[i + 8] = _mm_unpackhi_epi8(a[2 * i], a[2 * i + 1]);
  }
  for (int i = 0; i < 8; ++i) {
    a[i] = _mm_unpacklo_epi16(b[2 * i], b[2 * i + 1]);
    a[i + 8] = _mm_unpackhi_epi16(b[2 * i], b[2 * i + 1]);
  }
  for (int i = 0; i < 8; ++i) {
    b[i] = _mm_unpacklo_epi32(a[2 * i], a[2 * i + 1]);
    b[i + 8] = _mm_unpackhi_epi32(a[2 * i], a[2 * i + 1]);
  }
  for (int i = 0; i < 8; ++i) {
    a[i] = _mm_unpacklo_epi64(b[2 * i], b[2 * i + 1]);
    a[i + 8] = _mm_unpackhi_epi64(b[2 * i], b[2 * i + 1]);
  }
  static constexpr int kBitReversed[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
  for (int c = 0; c < 16; ++c)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + static_cast<std::size_t>(c) * out_stride),
                     a[kBitReversed[c]]);
}
#endif

// out[j * out_stride + i] = in[i * in_stride + j] for i < rows, j < cols: a byte matrix
// transpose, in 16 x 16 tiles where the SIMD path has them, the edges one byte at a time.
void transpose_bytes(const unsigned char* in, std::size_t in_stride, std::size_t rows,
                     std::size_t cols, unsigned char* out, std::size_t out_stride) {
  std::size_t rows16 = 0, cols16 = 0;
#if defined(__SSE2__)
  rows16 = rows / 16 * 16;
  cols16 = cols / 16 * 16;
  for (std::size_t i = 0; i < rows16; i += 16)
    for (std::size_t j = 0; j < cols16; j += 16)
      transpose16(in + i * in_stride + j, in_stride, out + j * out_stride + i, out_stride);
#endif
  // The columns left of the tiles (for every row), then the rows below them.
  for (std::size_t i0 = 0; i0 < rows16; i0 += 16)
    for (std::size_t j = cols16; j < cols; ++j)
      for (std::size_t i = i0; i < i0 + 16; ++i) out[j * out_stride + i] = in[i * in_stride + j];
  for (std::size_t j = 0; j < cols; ++j)
    for (std::size_t i = rows16; i < rows; ++i) out[j * out_stride + i] = in[i * in_stride + j];
}

}  // namespace

void shuffle_bytes(const unsigned char* in, std::size_t elem_size, std::size_t count,
                   unsigned char* out) {
  transpose_bytes(in, elem_size, count, elem_size, out, count);
}

void unshuffle_bytes(const unsigned char* in, std::size_t elem_size, std::size_t count,
                     unsigned char* out) {
  transpose_bytes(in, count, elem_size, count, out, elem_size);
}

ChunkScratch::~ChunkScratch() {
  if (compressor_ != nullptr) libdeflate_free_compressor(compressor_);
}

void compress_chunk(std::span<const unsigned char> raw, std::size_t elem_size, int level,
                    ChunkScratch& scratch) {
  if (elem_size == 0 || raw.size() % elem_size != 0)
    throw std::logic_error("compress_chunk: not whole elements");
  if (scratch.compressor_ == nullptr || scratch.level_ != level) {
    if (scratch.compressor_ != nullptr) libdeflate_free_compressor(scratch.compressor_);
    scratch.compressor_ = libdeflate_alloc_compressor(level);
    scratch.level_ = level;
    if (scratch.compressor_ == nullptr)
      throw std::runtime_error("libdeflate: no compressor for level " + std::to_string(level));
  }
  scratch.shuffled.resize(raw.size());
  shuffle_bytes(raw.data(), elem_size, raw.size() / elem_size, scratch.shuffled.data());
  scratch.deflated.resize(libdeflate_zlib_compress_bound(scratch.compressor_, raw.size()));
  const std::size_t size =
      libdeflate_zlib_compress(scratch.compressor_, scratch.shuffled.data(), raw.size(),
                               scratch.deflated.data(), scratch.deflated.size());
  if (size == 0) throw std::runtime_error("libdeflate: a chunk did not fit its bound");
  scratch.deflated.resize(size);
}

std::vector<unsigned char> compress_chunk(std::span<const unsigned char> raw, std::size_t elem_size,
                                          int level) {
  ChunkScratch scratch;
  compress_chunk(raw, elem_size, level, scratch);
  return std::move(scratch.deflated);
}

std::vector<unsigned char> decompress_chunk(std::span<const unsigned char> stored,
                                            std::size_t elem_size, std::size_t raw_size) {
  struct Inflater {
    libdeflate_decompressor* d = libdeflate_alloc_decompressor();
    Inflater() = default;
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;
    ~Inflater() { libdeflate_free_decompressor(d); }
  };
  thread_local Inflater inflater;  // one per reading thread, kept
  if (inflater.d == nullptr) throw std::runtime_error("libdeflate: out of memory");
  std::vector<unsigned char> shuffled(raw_size);
  if (libdeflate_zlib_decompress(inflater.d, stored.data(), stored.size(), shuffled.data(),
                                 raw_size, nullptr) != LIBDEFLATE_SUCCESS)
    throw std::runtime_error("not a zlib stream of " + std::to_string(raw_size) + " bytes");
  std::vector<unsigned char> raw(raw_size);
  unshuffle_bytes(shuffled.data(), elem_size, raw_size / elem_size, raw.data());
  return raw;
}

}  // namespace threadx
