// The HDF5 results file: layout, provenance, round trip, crash-safe resume and refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include <unistd.h>

#include "common/error.hpp"
#include "data/loader.hpp"
#include "engine/cpu_backtest.hpp"
#include "engine/plan.hpp"
#include "grid/grid.hpp"
#include "indicators/indicator_bank.hpp"
#include "results/ranking.hpp"
#include "results/results_file.hpp"
#include "results/results_reader.hpp"
#include "strategies/bb_atr/spec.hpp"
#include "support/paths.hpp"

namespace threadx {
namespace {

namespace fs = std::filesystem;

class ResultsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("threadx_results_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    bars_ = load_bars({testing::btc_960()});
    grid_ = parse_grid_text(R"(strategy = "bb_atr"
[fixed]
fee_bps = 2.5
[grid]
bb_period = [15, 20, 25]
bb_std = [2, 2.5]
trailing_stop = [false, true]
atr_multiplier = { start = 1.0, stop = 2.0, step = 0.5 }
)",
                            "test_grid.toml");
    // Every row computed once, in memory.
    IndicatorBank bank(bars_);
    rows_.resize(grid_.size());
    for (const WorkUnit& u : plan_units(grid_, 1000))
      run_unit_cpu({grid_, bank}, u, rows_.data() + u.begin);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  Provenance prov() const {
    Provenance p;
    p.program_version = "test";
    p.command_line = "threadx sweep ...";
    p.devices = "cpu:2";
    p.start_time = "2026-11-24T00:00:00Z";
    return p;
  }
  void write(ResultsFile& f, const std::vector<WorkUnit>& units) {
    // As rank 0's writer gets them: rows packed by the rank that computed them.
    for (const WorkUnit& u : units) {
      std::vector<unsigned char> packed(f.layout().run_size(u.size()));
      f.layout().pack_run(grid_, u.begin, RowsView{{rows_.data() + u.begin, u.size()}, {}, 0},
                          packed.data());
      f.write_packed(u.begin, packed);
    }
  }

  fs::path dir_;
  BarSeries bars_;
  Grid grid_;
  std::vector<Metrics> rows_;
};

TEST_F(ResultsFileTest, RoundTripLayoutAndProvenance) {
  const std::string p = path("a.h5");
  {
    ResultsFile f = ResultsFile::create(p, grid_, bars_, prov(), false);
    write(f, plan_units(grid_, 5));
    f.finish({{"wall_seconds", "1.5"}});
  }
  ResultsReader r(p);
  ASSERT_EQ(r.rows(), 36u);
  std::vector<std::string> names;
  for (const Column& c : r.columns()) names.push_back(c.name);
  const std::vector<std::string> want{"combo_id",      "bb_period",    "bb_std",   "atr_multiplier",
                                      "trailing_stop", "total_return", "sharpe",   "sortino",
                                      "max_drawdown",  "trades",       "win_rate", "profit_factor",
                                      "expectancy",    "exposure",     "fees",     "final_equity"};
  EXPECT_EQ(names, want);
  const auto raw = r.read_rows(0, r.rows());
  for (ComboId id = 0; id < grid_.size(); ++id) {
    const unsigned char* row = raw.data() + id * r.row_size();
    const bb_atr::Params sp = bb_atr::decode(grid_.values_of(id));
    EXPECT_EQ(r.value(row, *r.find("combo_id")), static_cast<double>(id));
    EXPECT_EQ(r.value(row, *r.find("bb_period")), sp.bb_period);
    EXPECT_EQ(r.value(row, *r.find("bb_std")), sp.bb_std);
    EXPECT_EQ(r.value(row, *r.find("atr_multiplier")), sp.atr_multiplier);
    EXPECT_EQ(r.value(row, *r.find("trailing_stop")), sp.trailing_stop);
    EXPECT_EQ(r.value(row, *r.find("trades")), static_cast<double>(rows_[id].trades));
    EXPECT_EQ(r.value(row, *r.find("sharpe")), rows_[id].sharpe);
    EXPECT_EQ(r.value(row, *r.find("final_equity")), rows_[id].final_equity);
  }
  for (std::uint8_t d : r.read_done()) EXPECT_EQ(d, 1);
  EXPECT_EQ(r.attribute("complete"), "1");
  EXPECT_EQ(r.attribute("strategy"), "bb_atr");
  EXPECT_EQ(r.attribute("strategy_version"), "1");
  EXPECT_EQ(r.attribute("grid_text"), grid_.source_text);
  EXPECT_EQ(r.attribute("bar_count"), "960");
  EXPECT_EQ(r.attribute("first_timestamp_ms"), "1733011200000");
  EXPECT_EQ(r.attribute("first_time"), "2024-12-01T00:00:00Z");
  EXPECT_EQ(r.attribute("last_time"), "2024-12-10T23:45:00Z");
  EXPECT_EQ(r.attribute("data_sha256"),
            "7b4f0a5a97fc8ceb5ee5d569f49a86647d3ecdb5165065dbb57cb3b9ed27b62b");
  EXPECT_EQ(r.attribute("param.fee_bps"), "2.5");
  EXPECT_EQ(r.attribute("param.atr_period"), "14");
  EXPECT_EQ(r.attribute("wall_seconds"), "1.5");
  EXPECT_FALSE(r.attribute("end_time").value_or("").empty());
  EXPECT_FALSE(r.attribute("param.bb_std").has_value());  // swept: a column, not an attribute
}

// Both storages: uncompressed (flags set unit by unit) and compressed in chunks of 4 rows (a
// chunk's flags are set only once all its rows are stored; a chunk partly written is lost).
class ResultsStorageTest : public ResultsFileTest, public ::testing::WithParamInterface<int> {
 protected:
  ResultsStorage storage() const {
    ResultsStorage s;
    s.deflate_level = GetParam();
    s.chunk_rows = 4;
    return s;
  }
  // How many of the ids the units cover end up flagged done.
  std::uint64_t expected_done(const std::vector<WorkUnit>& units) const {
    std::vector<std::uint8_t> covered(grid_.size(), 0);
    for (const WorkUnit& u : units)
      for (ComboId id = u.begin; id < u.end; ++id) covered[id] = 1;
    std::uint64_t n = 0;
    const std::uint64_t chunk = GetParam() == 0 ? 1 : 4;
    for (std::uint64_t c = 0; c < grid_.size(); c += chunk) {
      const std::uint64_t e = std::min<std::uint64_t>(c + chunk, grid_.size());
      bool all = true;
      for (std::uint64_t id = c; id < e; ++id) all = all && covered[id] == 1;
      if (all) n += e - c;
    }
    return n;
  }
};

INSTANTIATE_TEST_SUITE_P(Storage, ResultsStorageTest, ::testing::Values(0, 1),
                         [](const ::testing::TestParamInfo<int>& p) {
                           return p.param == 0 ? std::string("Uncompressed")
                                               : std::string("Deflate1");
                         });

TEST_P(ResultsStorageTest, ResumeFinishesOnlyWhatIsMissingBitIdentical) {
  const std::string one = path("one.h5"), two = path("two.h5");
  {
    ResultsFile f = ResultsFile::create(one, grid_, bars_, prov(), false, 0, storage());
    write(f, plan_units(grid_, 36));
    f.finish({});
  }
  const std::vector<WorkUnit> units = plan_units(grid_, 5);
  {
    // A run that dies after some units: no finish(), the object just goes away.
    ResultsFile f = ResultsFile::create(two, grid_, bars_, prov(), false, 0, storage());
    write(f, {units[0], units[3], units[4]});
    f.drain();
  }
  {
    ResultsReader r(two);
    EXPECT_EQ(r.attribute("complete"), "0");
  }
  ResultsFile f = ResultsFile::open_for_resume(two, grid_, bars_, prov(), 0, storage());
  EXPECT_EQ(f.deflate_level(), GetParam());
  const std::vector<std::uint8_t> done = f.read_done();
  std::uint64_t n_done = 0;
  for (std::uint8_t d : done) n_done += d;
  EXPECT_EQ(n_done, expected_done({units[0], units[3], units[4]}));
  if (GetParam() > 0) {
    EXPECT_EQ(n_done, 12u);  // chunks [0,4), [16,20), [20,24)
  }
  const std::vector<WorkUnit> rest = plan_units(grid_, 7, &done);  // another unit size
  for (const WorkUnit& u : rest)
    for (ComboId id = u.begin; id < u.end; ++id) ASSERT_EQ(done[id], 0);
  write(f, rest);
  f.finish({});
  ResultsReader a(one), b(two);
  EXPECT_EQ(b.attribute("complete"), "1");
  EXPECT_EQ(a.read_rows(0, a.rows()), b.read_rows(0, b.rows()));
}

TEST_F(ResultsFileTest, RefusesToReplaceOrResumeTheWrongFile) {
  const std::string p = path("x.h5");
  { ResultsFile f = ResultsFile::create(p, grid_, bars_, prov(), false); }
  EXPECT_THROW(ResultsFile::create(p, grid_, bars_, prov(), false), OutputError);
  const Grid other = parse_grid_text(
      "strategy = \"bb_atr\"\n[grid]\nbb_period = [15, 20, 25]\n"
      "bb_std = [2, 2.5]\ntrailing_stop = [0, 1]\n"
      "atr_multiplier = [1.0, 1.5, 2.0]\n",
      "other.toml");
  try {
    ResultsFile::open_for_resume(p, other, bars_, prov());
    FAIL() << "resumed with another grid";
  } catch (const OutputError& e) {
    EXPECT_NE(std::string(e.what()).find("another grid"), std::string::npos) << e.what();
  }
  const BarSeries longer = load_bars({testing::btc_49632()});
  EXPECT_THROW(ResultsFile::open_for_resume(p, grid_, longer, prov()), OutputError);
  EXPECT_THROW(ResultsFile::open_for_resume(path("missing.h5"), grid_, bars_, prov()), OutputError);
  EXPECT_THROW(ResultsFile::create(path("no/such/dir/x.h5"), grid_, bars_, prov(), false),
               OutputError);
}

TEST_P(ResultsStorageTest, RankingSkipsUnfinishedRowsAndBreaksTiesById) {
  const std::string p = path("r.h5");
  const std::vector<WorkUnit> units = plan_units(grid_, 6);
  {
    ResultsFile f = ResultsFile::create(p, grid_, bars_, prov(), false, 0, storage());
    write(f, {units[1], units[2]});  // ids 6..17
    f.drain();
  }
  // Compressed in chunks of 4: ids 8..15 (chunks [8,12) and [12,16)) are stored.
  const std::uint64_t first = GetParam() == 0 ? 6 : 8, end = GetParam() == 0 ? 18 : 16;
  ResultsReader r(p);
  RankQuery q;
  q.by = "sharpe";
  q.n = 100;
  const RankResult res = rank_rows(r, q);
  EXPECT_EQ(res.done, end - first);
  ASSERT_EQ(res.rows.size(), end - first);
  const Column& sharpe = *r.find("sharpe");
  const Column& id = *r.find("combo_id");
  for (std::size_t k = 0; k < res.rows.size(); ++k) {
    const double v = r.value(res.rows[k].data(), sharpe);
    const double i = r.value(res.rows[k].data(), id);
    EXPECT_GE(i, static_cast<double>(first));
    EXPECT_LT(i, static_cast<double>(end));
    EXPECT_EQ(v, rows_[static_cast<ComboId>(i)].sharpe);
    if (k > 0) {
      const double pv = r.value(res.rows[k - 1].data(), sharpe);
      EXPECT_TRUE(pv > v || (pv == v && r.value(res.rows[k - 1].data(), id) < i));
    }
  }
  q.by = "no_such_metric";
  EXPECT_THROW(rank_rows(r, q), InputError);
}

}  // namespace
}  // namespace threadx
