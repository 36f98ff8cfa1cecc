// The compressed storage's building blocks: HDF5's shuffle (SIMD tiles and edges against the
// definition), shuffle + deflate round trips, HDF5's own filter pipeline decoding what
// compress_chunk made, and the chunk assembler's bookkeeping (any order, edge chunk, duplicates).
#include <gtest/gtest.h>

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <vector>

#include <unistd.h>

#include "grid/grid.hpp"
#include "results/chunk_codec.hpp"
#include "results/chunk_pipeline.hpp"
#include "results/h5_id.hpp"
#include "results/row_layout.hpp"
#include "support/marked_run.hpp"

namespace threadx {
namespace {

std::vector<unsigned char> random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<unsigned char> v(n);
  for (unsigned char& b : v) b = static_cast<unsigned char>(rng() & 0xff);
  return v;
}

TEST(ChunkCodec, ShuffleIsHdf5sDefinitionForEveryShape) {
  // Element sizes around the 16-byte tiles (1, 15, 16, 17, 28 = a /blocks cell, 133 = a bb_atr
  // row) and counts around the 16-row tiles.
  for (std::size_t elem : {1u, 2u, 15u, 16u, 17u, 28u, 133u})
    for (std::size_t count : {1u, 15u, 16u, 17u, 100u, 4096u}) {
      const std::vector<unsigned char> in =
          random_bytes(elem * count, static_cast<unsigned>(elem * 7919 + count));
      std::vector<unsigned char> out(in.size()), back(in.size());
      shuffle_bytes(in.data(), elem, count, out.data());
      for (std::size_t i = 0; i < count; ++i)
        for (std::size_t j = 0; j < elem; ++j)
          ASSERT_EQ(out[j * count + i], in[i * elem + j]) << elem << " x " << count;
      unshuffle_bytes(out.data(), elem, count, back.data());
      ASSERT_EQ(back, in) << elem << " x " << count;
    }
}

TEST(ChunkCodec, CompressRoundTripsAndRejectsDamage) {
  std::vector<unsigned char> raw = random_bytes(133 * 1000, 3);
  for (std::size_t i = 0; i < raw.size(); i += 3) raw[i] = 0;  // some redundancy
  for (int level : {1, 6, 9}) {
    const std::vector<unsigned char> z = compress_chunk(raw, 133, level);
    EXPECT_LT(z.size(), raw.size());
    EXPECT_EQ(decompress_chunk(z, 133, raw.size()), raw);
  }
  std::vector<unsigned char> z = compress_chunk(raw, 133, 1);
  EXPECT_THROW(decompress_chunk(z, 133, raw.size() + 1), std::runtime_error);
  z.resize(z.size() / 2);
  EXPECT_THROW(decompress_chunk(z, 133, raw.size()), std::runtime_error);
  EXPECT_THROW(compress_chunk(std::span<const unsigned char>(raw.data(), 100), 133, 1),
               std::logic_error);
}

// What h5py or h5dump would do: a chunk stored with H5Dwrite_chunk, read back through HDF5's own
// shuffle + deflate filters.
TEST(ChunkCodec, Hdf5sFiltersDecodeTheStoredChunks) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("threadx_codec_" + std::to_string(::getpid()) + ".h5"))
                               .string();
  constexpr hsize_t kRows = 1000, kChunk = 256;  // four chunks, the last one an edge chunk
  constexpr std::size_t kElem = 24;
  std::vector<unsigned char> data = random_bytes(kRows * kElem, 11);
  for (std::size_t i = 0; i < data.size(); i += 2) data[i] = static_cast<unsigned char>(i / 97);
  {
    H5Id file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    ASSERT_TRUE(file.ok());
    H5Id type(H5Tcreate(H5T_COMPOUND, kElem));
    H5Tinsert(type.get(), "a", 0, H5T_NATIVE_UINT64);
    H5Tinsert(type.get(), "b", 8, H5T_NATIVE_DOUBLE);
    H5Tinsert(type.get(), "c", 16, H5T_NATIVE_INT64);
    const hsize_t dims = kRows;
    H5Id space(H5Screate_simple(1, &dims, nullptr));
    H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_chunk(dcpl.get(), 1, &kChunk);
    H5Pset_shuffle(dcpl.get());
    H5Pset_deflate(dcpl.get(), 1);
    H5Id dset(
        H5Dcreate2(file.get(), "d", type.get(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT));
    ASSERT_TRUE(dset.ok());
    for (hsize_t first = 0; first < kRows; first += kChunk) {
      std::vector<unsigned char> chunk(kChunk * kElem, 0);  // edge chunks are stored whole
      const hsize_t n = std::min(kChunk, kRows - first);
      std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(first * kElem), n * kElem,
                  chunk.begin());
      const std::vector<unsigned char> z = compress_chunk(chunk, kElem, 1);
      ASSERT_GE(H5Dwrite_chunk(dset.get(), H5P_DEFAULT, 0, &first, z.size(), z.data()), 0);
    }
  }
  H5Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  H5Id dset(H5Dopen2(file.get(), "d", H5P_DEFAULT));
  H5Id type(H5Dget_type(dset.get()));
  std::vector<unsigned char> back(data.size());
  ASSERT_GE(H5Dread(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, back.data()), 0);
  EXPECT_EQ(back, data);
  std::filesystem::remove(path);
}

class ChunkAssemblerTest : public ::testing::Test {
 protected:
  // 3 x 2 x 5 = 30 combinations of bb_atr, with 2 blocks: rows and cells are plain bytes here.
  Grid grid_ = parse_grid_text(
      "strategy = \"bb_atr\"\n[grid]\nbb_period = [15, 20, 25]\nbb_std = [2, 2.5]\n"
      "atr_multiplier = [1.0, 1.5, 2.0, 2.5, 3.0]\n",
      "g.toml");
  RowLayout layout_{grid_, 2};
  std::vector<unsigned char> run(ComboId begin, ComboId end) const {
    return testing::marked_run(layout_, begin, end);
  }
};

TEST_F(ChunkAssemblerTest, ChunksCompleteInAnyOrderWithTheirRowsInPlace) {
  ASSERT_EQ(grid_.size(), 30u);
  ChunkAssembler a(layout_, 30, 8);  // chunks [0,8) [8,16) [16,24) [24,30)
  std::vector<RawChunk> full;
  a.add(10, run(10, 20), full);  // completes nothing: chunk 1 lacks 8..9, chunk 2 lacks 20..23
  EXPECT_TRUE(full.empty());
  EXPECT_EQ(a.open_chunks(), 2u);
  a.add(24, run(24, 30), full);  // the edge chunk (6 rows) is whole
  ASSERT_EQ(full.size(), 1u);
  EXPECT_EQ(full[0].index, 3u);
  a.add(0, run(0, 10), full);    // chunks 0 and 1
  a.add(20, run(20, 24), full);  // chunk 2
  ASSERT_EQ(full.size(), 4u);
  EXPECT_EQ(a.open_chunks(), 0u);
  for (const RawChunk& c : full) {
    ASSERT_EQ(c.rows.size(), 8 * layout_.row_size());
    ASSERT_EQ(c.cells.size(), 8 * 2 * kBlockCellSize);
    for (std::uint64_t r = 0; r < 8; ++r) {
      const std::uint64_t id = c.index * 8 + r;
      const unsigned char row = id < 30 ? static_cast<unsigned char>(id % 251) : 0;
      const unsigned char cell = id < 30 ? static_cast<unsigned char>(id % 241) : 0;
      EXPECT_EQ(c.rows[r * layout_.row_size()], row) << id;
      EXPECT_EQ(c.rows[(r + 1) * layout_.row_size() - 1], row) << id;
      EXPECT_EQ(c.cells[r * 2 * kBlockCellSize], cell) << id;
      EXPECT_EQ(c.cells[(r + 1) * 2 * kBlockCellSize - 1], cell) << id;
    }
  }
}

// A rank's part file of a slice that starts inside a chunk (--ids 11:30, chunks of 8): chunk 1 is
// complete once rows 11..15 are in, rows 8..10 zero; rows before the slice are refused.
TEST_F(ChunkAssemblerTest, ASliceStartingInsideAChunkCompletesItFromItsFirstRow) {
  ChunkAssembler a(layout_, 30, 8, 11);
  std::vector<RawChunk> full;
  EXPECT_THROW(a.add(10, run(10, 12), full), std::logic_error);
  a.add(13, run(13, 16), full);
  EXPECT_TRUE(full.empty());
  a.add(11, run(11, 13), full);
  ASSERT_EQ(full.size(), 1u);
  EXPECT_EQ(full[0].index, 1u);
  EXPECT_EQ(a.chunk_first(1), 11u);
  EXPECT_EQ(a.chunk_first(2), 16u);
  for (std::uint64_t r = 0; r < 8; ++r) {
    const std::uint64_t id = 8 + r;
    const unsigned char row = id >= 11 ? static_cast<unsigned char>(id % 251) : 0;
    EXPECT_EQ(full[0].rows[r * layout_.row_size()], row) << id;
    EXPECT_EQ(full[0].rows[(r + 1) * layout_.row_size() - 1], row) << id;
    EXPECT_EQ(full[0].cells[r * 2 * kBlockCellSize], id >= 11 ? id % 241 : 0) << id;
  }
  EXPECT_EQ(a.open_chunks(), 0u);
}

TEST_F(ChunkAssemblerTest, RefusesRowsTwiceAndRowsPastTheGrid) {
  ChunkAssembler a(layout_, 30, 8);
  std::vector<RawChunk> full;
  a.add(0, run(0, 5), full);
  EXPECT_THROW(a.add(4, run(4, 10), full), std::logic_error);
  EXPECT_THROW(a.add(28, run(28, 31), full), std::logic_error);
  std::vector<unsigned char> ragged = run(10, 12);
  ragged.pop_back();
  EXPECT_THROW(a.add(10, ragged, full), std::logic_error);
}

TEST(ChunkCompressorTest, EverySubmittedChunkComesBackCompressed) {
  ChunkCompressor pool(16, 28, 1, 3);
  std::vector<std::vector<unsigned char>> raws;
  for (std::uint64_t k = 0; k < 20; ++k) {
    RawChunk c;
    c.index = k;
    c.rows = random_bytes(16 * 64, static_cast<unsigned>(k));
    raws.push_back(c.rows);
    pool.submit(std::move(c));
  }
  std::vector<CompressedChunk> got = pool.drain();
  ASSERT_EQ(got.size(), 20u);
  std::vector<bool> seen(20, false);
  for (const CompressedChunk& c : got) {
    ASSERT_LT(c.index, 20u);
    EXPECT_FALSE(seen[c.index]);
    seen[c.index] = true;
    EXPECT_TRUE(c.cells.empty());
    EXPECT_EQ(decompress_chunk(c.rows, 16, 16 * 64), raws[c.index]);
  }
  EXPECT_TRUE(pool.take_ready().empty());
}

}  // namespace
}  // namespace threadx
