// A --keep none file's checkpoint slots: the newest whole one is read back; a torn newest slot
// falls back to the older one (and the next checkpoint does not overwrite that one); when every
// recorded slot is torn, --resume is a one-line error naming the file rather than a silent
// restart. And a summary refuses ids given twice before counting their rows.
#include <gtest/gtest.h>

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "common/error.hpp"
#include "results/h5_id.hpp"
#include "results/results_file.hpp"
#include "results/sweep_summary.hpp"
#include "support/real_rows.hpp"

namespace threadx {
namespace {

namespace fs = std::filesystem;

std::vector<std::byte> bytes_of(const std::string& s) {
  std::vector<std::byte> b;
  for (const char c : s) b.push_back(static_cast<std::byte>(c));
  return b;
}

// Overwrites the first byte of checkpoint slot k of the file at path.
void tear(const std::string& path, int k) {
  H5Id f(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
  ASSERT_TRUE(f.ok());
  H5Id set(
      H5Dopen2(f.get(), k == 0 ? "summary/checkpoint_0" : "summary/checkpoint_1", H5P_DEFAULT));
  ASSERT_TRUE(set.ok());
  const hsize_t one = 1, start = 0;
  H5Id mem(H5Screate_simple(1, &one, nullptr));
  H5Id space(H5Dget_space(set.get()));
  H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, &start, nullptr, &one, nullptr);
  const std::uint8_t junk = 0xee;
  ASSERT_GE(H5Dwrite(set.get(), H5T_NATIVE_UINT8, mem.get(), space.get(), H5P_DEFAULT, &junk), 0);
}

TEST(SummaryStore, ReadsTheNewestWholeCheckpointAndRefusesOnlyTornOnes) {
  const testing::RealRows& r = testing::real_rows();
  const fs::path dir = fs::temp_directory_path() / ("threadx_slots_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "s.h5").string();
  ResultsStorage storage;
  storage.keep = parse_keep("none");
  {
    ResultsFile f = ResultsFile::create(path, r.grid, r.bars, Provenance{}, true, 0, storage);
    EXPECT_TRUE(f.read_checkpoint().empty());  // none yet
    f.write_checkpoint(bytes_of("first"));
    f.write_checkpoint(bytes_of("second, longer"));
    EXPECT_EQ(f.read_checkpoint(), bytes_of("second, longer"));
  }
  tear(path, 1);  // the newest ("second, longer") went to slot 1
  {
    ResultsFile f = ResultsFile::open_for_resume(path, r.grid, r.bars, Provenance{}, 0, storage);
    EXPECT_EQ(f.read_checkpoint(), bytes_of("first"));
    f.write_checkpoint(bytes_of("third"));  // into the torn slot, not over "first"
    EXPECT_EQ(f.read_checkpoint(), bytes_of("third"));
  }
  tear(path, 0);
  tear(path, 1);
  {
    ResultsFile f = ResultsFile::open_for_resume(path, r.grid, r.bars, Provenance{}, 0, storage);
    try {
      (void)f.read_checkpoint();
      ADD_FAILURE() << "two torn slots were read as no checkpoint";
    } catch (const OutputError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("--force"), std::string::npos) << e.what();
    }
  }
  fs::remove_all(dir);
}

TEST(SummaryStore, ASummaryRefusesIdsTwiceBeforeCountingThem) {
  const testing::RealRows& r = testing::real_rows();
  const AggregateLayout layout(r.grid, AggregateSpec{});
  SweepSummary s(r.grid, layout, parse_keep("all"), SweepSummary::Role::Root);
  const WorkUnit u{0, r.grid.group_size(), 0};
  const std::span<const Metrics> rows = std::span(r.rows).first(u.size());
  s.add(u, rows);
  const std::vector<std::int64_t> once = s.aggregates().encode();
  EXPECT_THROW(s.add(WorkUnit{10, 20, 0}, rows.subspan(10, 10)), std::logic_error);
  EXPECT_EQ(s.aggregates().encode(), once);
}

}  // namespace
}  // namespace threadx
