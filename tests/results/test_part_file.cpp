// A rank's part file (--write-path ranks, results/part_file.hpp): whole chunks stored compressed
// at their places, read back through HDF5's own filters (as h5py would); a run that is not whole
// chunks, or a file that exists, is refused; the unused parts of a results file are removed, and
// nothing else in its directory.
#include <gtest/gtest.h>

#include <hdf5.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "grid/grid.hpp"
#include "results/h5_id.hpp"
#include "results/h5_support.hpp"
#include "results/part_file.hpp"
#include "results/row_layout.hpp"
#include "support/marked_run.hpp"
#include "support/paths.hpp"

namespace threadx {
namespace {

namespace fs = std::filesystem;

class PartFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("threadx_part_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // 3 x 2 x 5 = 30 combinations of bb_atr, with 2 blocks.
  Grid grid_ = parse_grid_text(
      "strategy = \"bb_atr\"\n[grid]\nbb_period = [15, 20, 25]\nbb_std = [2, 2.5]\n"
      "atr_multiplier = [1.0, 1.5, 2.0, 2.5, 3.0]\n",
      "g.toml");
  RowLayout layout_{grid_, 2};
  fs::path dir_;
  std::vector<unsigned char> run(ComboId begin, ComboId end) const {
    return testing::marked_run(layout_, begin, end);
  }
};

TEST_F(PartFileTest, StoresWholeChunksThatHdf5ReadsInPlace) {
  const std::string path = (dir_ / "out.h5.parts" / "1-2-r0.h5").string();
  const PartShape shape{3, 30, 8, 1};  // a slice from id 3: chunks [0,8) .. [24,30) of ids
  {
    PartFile part(path, layout_, shape);
    part.write(3, run(3, 8));     // the first chunk, from the slice's first id
    part.write(24, run(24, 30));  // the edge chunk
    EXPECT_THROW(part.write(8, run(8, 13)), std::logic_error) << "part of a chunk";
    part.flush();
    EXPECT_GT(part.bytes_stored(), 0u);
    EXPECT_LT(part.bytes_stored(), part.bytes_in());
    EXPECT_THROW(PartFile(path, layout_, shape), OutputError) << "the file exists";
  }
  H5Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  ASSERT_TRUE(file.ok());
  H5Id set(H5Dopen2(file.get(), "results", H5P_DEFAULT));
  ASSERT_TRUE(set.ok());
  H5Id type(h5::row_type(layout_));
  std::vector<unsigned char> rows(30 * layout_.row_size());
  ASSERT_GE(H5Dread(set.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()), 0);
  for (ComboId id = 0; id < 30; ++id) {
    const bool stored = (id >= 3 && id < 8) || id >= 24;
    const unsigned char want = stored ? static_cast<unsigned char>(id % 251) : 0;
    EXPECT_EQ(rows[id * layout_.row_size()], want) << id;
    EXPECT_EQ(rows[(id + 1) * layout_.row_size() - 1], want) << id;
  }
  H5Id cells(H5Dopen2(file.get(), "blocks", H5P_DEFAULT));
  ASSERT_TRUE(cells.ok());
  H5Id cell_type(h5::cell_type());
  std::vector<unsigned char> blocks(30 * 2 * kBlockCellSize);
  ASSERT_GE(H5Dread(cells.get(), cell_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, blocks.data()), 0);
  EXPECT_EQ(blocks[25 * 2 * kBlockCellSize], 25u);
  EXPECT_EQ(blocks[9 * 2 * kBlockCellSize], 0u);
}

// Chunks divide a group, and shrink with the threads sharing the run (a unit is whole chunks):
// reference_2p9m's groups of 2,016 stay whole on 2 threads and come down to 72 rows (no divisor
// of 2,016 lies in [64, 64]: the smallest above) at 10,000 threads; a prime group stays whole.
TEST(PartChunkRows, DivideAGroupAndShrinkWithTheThreads) {
  const Grid g = parse_grid_file(testing::repo_path("data/grids/reference_2p9m.toml"));
  ASSERT_EQ(g.group_size(), 2016u);
  EXPECT_EQ(part_chunk_rows(g, g.size(), 2), 2016u);
  EXPECT_EQ(part_chunk_rows(g, g.size(), 10), 504u);  // at most 2,903,040 / (10 x 512) = 567
  EXPECT_EQ(part_chunk_rows(g, g.size(), 10000), 72u);
  EXPECT_EQ(part_chunk_rows(g, 1000, 1), 72u);  // a small slice
  const Grid prime = parse_grid_text(
      "strategy = \"bb_atr\"\n[grid]\nbb_period = [20]\n"
      "max_hold_bars = { start = 1, stop = 127, step = 1 }\n",
      "prime.toml");
  ASSERT_EQ(prime.group_size(), 127u);
  EXPECT_EQ(part_chunk_rows(prime, 127000, 1000), 127u);
  std::uint64_t last = 1u << 20;
  for (std::uint64_t slots = 1; slots <= 100000; slots *= 3) {
    const std::uint64_t r = part_chunk_rows(g, g.size(), slots);
    EXPECT_EQ(g.group_size() % r, 0u) << slots;
    EXPECT_GE(r, 64u) << slots;
    EXPECT_LE(r, last) << slots;
    last = r;
  }
}

// Only the candidates (the run's own part files and those of the file it replaced) that no
// mapping uses go; another file's parts in the same directory (a results file moved away still
// reads them) and files threadx did not make stay.
TEST_F(PartFileTest, RemovesOnlyTheUnusedPartsItIsGiven) {
  const fs::path parts = dir_ / "out.h5.parts";
  fs::create_directories(parts);
  for (const char* name : {"1-2-r0.h5", "1-2-r1.h5", "3-4-r0.h5", "5-6-r0.h5", "notes.txt"})
    std::ofstream(parts / name) << "x";
  const std::string out = (dir_ / "out.h5").string();
  const std::vector<std::string> candidates = {"out.h5.parts/1-2-r0.h5", "out.h5.parts/1-2-r1.h5",
                                               "out.h5.parts/3-4-r0.h5", "other.parts/9-9-r0.h5",
                                               "out.h5.parts/../notes.txt"};
  EXPECT_EQ(remove_unused_parts(out, candidates, {"out.h5.parts/1-2-r1.h5"}), 2u);
  EXPECT_TRUE(fs::exists(parts / "1-2-r1.h5"));
  EXPECT_TRUE(fs::exists(parts / "5-6-r0.h5")) << "another file's part was removed";
  EXPECT_TRUE(fs::exists(parts / "notes.txt"));
  EXPECT_FALSE(fs::exists(parts / "1-2-r0.h5"));
  EXPECT_FALSE(fs::exists(parts / "3-4-r0.h5"));
  for (const char* name : {"1-2-r1.h5", "5-6-r0.h5", "notes.txt"}) fs::remove(parts / name);
  std::ofstream(parts / "7-8-r0.h5") << "x";
  EXPECT_EQ(remove_unused_parts(out, {"out.h5.parts/7-8-r0.h5"}, {}), 1u);
  EXPECT_FALSE(fs::exists(parts)) << "the emptied directory is left";
}

}  // namespace
}  // namespace threadx
