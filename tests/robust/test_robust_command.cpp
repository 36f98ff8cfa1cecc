// `threadx robust`'s pieces on a real results file with /blocks (tests/support/blocks_fixture.hpp):
// the reader's /blocks, the replayed returns against /blocks and the report's re-run, the chunked
// partials and their byte form (what MPI ranks send) against one pass over every row, and the
// whole command against the library run on the matrix in memory, with its refusals.
//
// With THREADX_ROBUST_FIXTURE=DIR, Fixture.WriteForCli leaves results files with /blocks in DIR
// for tests/cli/robust.sh (until `threadx sweep --blocks` writes them).
#include <gtest/gtest.h>

#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "data/loader.hpp"
#include "engine/replay.hpp"
#include "mpi/robust_gather.hpp"
#include "report/rerun.hpp"
#include "report/robust_file.hpp"
#include "robust/cscv.hpp"
#include "robust/dsr.hpp"
#include "robust/partials.hpp"
#include "robust/robust_support.hpp"
#include "robust/walk_forward.hpp"
#include "support/blocks_fixture.hpp"
#include "support/grids.hpp"
#include "support/paths.hpp"

namespace threadx {
namespace {

namespace fs = std::filesystem;

bool same(double a, double b) {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

// A small grid that trades on the 960-bar file: 2 x 3 x 2 x 2 x 2 x 2 = 96 combinations, with
// parameters that change no trade for some rows (identical streams).
Grid small_grid() {
  return parse_grid_text(R"(strategy = "bb_atr"
[grid]
bb_period = [14, 30]
bb_std = [1.5, 2.0, 2.5]
atr_period = [7, 14]
max_hold_bars = [12, 96]
spacing_bars = [0, 400]
trailing_stop = [0, 1]
)",
                         "small.toml");
}

class RobustCommand : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("threadx-robust-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    grid_ = new Grid(small_grid());
    results_ = (dir_ / "sweep.h5").string();
    cells_ = new std::vector<BlockStats>(
        testing::write_results_with_blocks(results_, *grid_, testing::btc_960(), kBlocks));
  }
  static void TearDownTestSuite() {
    delete grid_;
    delete cells_;
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static robust::BlockMatrix matrix(const std::vector<std::int64_t>& n_b) {
    robust::BlockMatrix m;
    m.blocks = kBlocks;
    m.returns_per_block = n_b;
    m.cells = *cells_;
    return m;
  }
  RobustOptions options(const std::string& out) const {
    RobustOptions o;
    o.file = results_;
    o.out = (dir_ / out).string();
    o.cscv = true;
    o.dsr = 5;
    o.walk_forward = true;
    o.wf_window = 3;
    o.threads = 2;
    return o;
  }

  static constexpr int kBlocks = 8;
  static inline fs::path dir_;
  static inline Grid* grid_ = nullptr;
  static inline std::string results_;
  static inline std::vector<BlockStats>* cells_ = nullptr;
};

TEST_F(RobustCommand, ReaderReadsBlocksAsWritten) {
  const ResultsReader r(results_);
  ASSERT_EQ(r.blocks(), kBlocks);
  const std::vector<BlockStats> all = r.read_blocks(0, r.rows());
  ASSERT_EQ(all.size(), cells_->size());
  std::int64_t trades = 0;
  for (std::size_t c = 0; c < all.size(); ++c) {
    ASSERT_TRUE(same(all[c].sum_r, (*cells_)[c].sum_r)) << c;
    ASSERT_TRUE(same(all[c].sum_r2, (*cells_)[c].sum_r2)) << c;
    ASSERT_TRUE(same(all[c].equity, (*cells_)[c].equity)) << c;
    ASSERT_EQ(all[c].trades, (*cells_)[c].trades) << c;
    trades += all[c].trades;
  }
  EXPECT_GT(trades, 1000) << "the fixture should trade";
  const std::vector<BlockStats> some = r.read_blocks(17, 3);
  ASSERT_EQ(some.size(), 3u * kBlocks);
  EXPECT_TRUE(same(some[kBlocks + 2].sum_r, (*cells_)[18 * kBlocks + 2].sum_r));
}

TEST_F(RobustCommand, ReaderWithoutBlocksSaysHowToGetThem) {
  const std::string plain = (dir_ / "plain.h5").string();
  {
    const BarSeries bars = load_bars({testing::btc_960()});
    ResultsFile f = ResultsFile::create(plain, *grid_, bars, Provenance{}, true);
    f.finish({});
  }
  const ResultsReader r(plain);
  EXPECT_EQ(r.blocks(), 0);
  try {
    (void)r.read_blocks(0, 1);
    FAIL() << "no InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), plain + ": no /blocks: run the sweep with --blocks S");
  }
}

// The replayed returns sum to the sweep's /blocks bit for bit, and are the ratios of the report's
// re-run equity curve, bit for bit.
TEST_F(RobustCommand, ReplayedReturnsGiveBackBlocksAndEquity) {
  const BarSeries bars = load_bars({testing::btc_960()});
  IndicatorBank bank(bars);
  const std::vector<std::int64_t> starts = block_start_bars(960, kBlocks);
  std::size_t nonzero = 0;
  for (ComboId id = 0; id < grid_->size(); id += 5) {
    const std::vector<double> r = replay_returns({*grid_, bank}, id);
    ASSERT_EQ(r.size(), 959u);
    for (int b = 0; b < kBlocks; ++b) {
      double s1 = 0.0, s2 = 0.0;
      for (std::int64_t i = starts[static_cast<std::size_t>(b)];
           i < starts[static_cast<std::size_t>(b) + 1]; ++i) {
        s1 += r[static_cast<std::size_t>(i - 1)];
        s2 += r[static_cast<std::size_t>(i - 1)] * r[static_cast<std::size_t>(i - 1)];
      }
      const BlockStats& want = (*cells_)[id * kBlocks + static_cast<std::size_t>(b)];
      ASSERT_TRUE(same(s1, want.sum_r)) << "id " << id << " block " << b;
      ASSERT_TRUE(same(s2, want.sum_r2)) << "id " << id << " block " << b;
    }
    const report::Rerun run = report::rerun_combination({*grid_, bank}, id);
    for (std::size_t i = 1; i < run.equity.size(); ++i) {
      const double prev = run.equity[i - 1];
      const double want = prev > 0 ? run.equity[i] / prev - 1.0 : 0.0;
      ASSERT_TRUE(same(r[i - 1], want)) << "id " << id << " bar " << i;
      nonzero += r[i - 1] != 0.0;
    }
  }
  EXPECT_GT(nonzero, 1000u);
  EXPECT_THROW(replay_returns({*grid_, bank}, grid_->size()), InputError);
}

void expect_same_streams(const robust::StreamSet& a, const robust::StreamSet& b) {
  ASSERT_EQ(a.size(), b.size());
  ASSERT_EQ(a.rows(), b.rows());
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a.id(i), b.id(i));
    ASSERT_EQ(a.multiplicity(i), b.multiplicity(i));
    for (int blk = 0; blk < a.blocks(); ++blk) {
      ASSERT_TRUE(same(a.sum_r(blk)[i], b.sum_r(blk)[i]));
      ASSERT_TRUE(same(a.sum_r2(blk)[i], b.sum_r2(blk)[i]));
    }
  }
}

// Any chunk size and any cut into rank ranges, sent as bytes and merged in rank order, give the
// partial of one pass over every row.
TEST_F(RobustCommand, PartialsMergeToTheWholeForAnyCut) {
  const ResultsReader reader(results_);
  robust::RobustPlan plan;
  plan.blocks = kBlocks;
  plan.returns_per_block = returns_per_block(960, kBlocks);
  plan.dsr_k = 7;
  plan.walk_forward = robust::WalkForwardConfig{2, robust::WalkMode::anchored, 1};
  const robust::BlockMatrix m = matrix(plan.returns_per_block);

  const robust::RobustPartial whole = compute_partial(reader, plan, 0, reader.rows());
  expect_same_streams(whole.streams, robust::distinct_streams(m));
  EXPECT_LT(whole.streams.size(), grid_->size()) << "the grid should have identical streams";
  const std::vector<robust::RankedCombination> top = robust::top_by_sharpe(m, 7);
  ASSERT_EQ(whole.top.size(), top.size());
  for (std::size_t k = 0; k < top.size(); ++k) {
    EXPECT_EQ(whole.top[k].id, top[k].id);
    EXPECT_TRUE(same(whole.top[k].sharpe, top[k].sharpe));
  }

  const robust::CscvResult cscv_whole = robust::cscv(whole.streams, 1);
  for (int ranks : {2, 3, 7, 250}) {
    plan.rows_per_read = static_cast<std::uint64_t>(ranks * 3 + 1);
    robust::RobustPartial merged;
    std::vector<robust::StreamSet> own;  // each rank's own streams, for its CSCV passes
    for (int rank = 0; rank < ranks; ++rank) {
      const auto [b, e] = dist::robust_rows_of_rank(reader.rows(), ranks, rank);
      robust::RobustPartial p = compute_partial(reader, plan, b, e);
      own.push_back(p.streams);
      if (rank == 0)
        merged = std::move(p);
      else
        robust::merge_partial(merged, dist::deserialize(dist::serialize(p), plan), plan);
    }
    // CSCV as the ranks run it: selections merged in rank order, ranks against the merged one.
    robust::CscvSelection sel = robust::cscv_select(own[0], 1);
    for (int rank = 1; rank < ranks; ++rank)
      robust::merge_into(sel, dist::deserialize_selection(dist::serialize(
                                  robust::cscv_select(own[static_cast<std::size_t>(rank)], 2))));
    robust::CscvRanks rk = robust::cscv_rank(own[0], sel, 1);
    for (int rank = 1; rank < ranks; ++rank)
      robust::merge_into(rk, dist::deserialize_ranks(dist::serialize(
                                 robust::cscv_rank(own[static_cast<std::size_t>(rank)], sel, 1))));
    const robust::CscvResult c = robust::cscv_result(sel, rk);
    EXPECT_TRUE(same(c.pbo, cscv_whole.pbo)) << ranks;
    EXPECT_TRUE(same(c.slope, cscv_whole.slope)) << ranks;
    for (std::size_t j = 0; j < c.per_split.size(); ++j) {
      ASSERT_EQ(c.per_split[j].chosen, cscv_whole.per_split[j].chosen) << ranks << " split " << j;
      ASSERT_TRUE(same(c.per_split[j].lambda, cscv_whole.per_split[j].lambda)) << ranks;
    }
    EXPECT_EQ(merged.end, reader.rows());
    expect_same_streams(merged.streams, whole.streams);
    ASSERT_EQ(merged.top.size(), whole.top.size());
    for (std::size_t k = 0; k < whole.top.size(); ++k) EXPECT_EQ(merged.top[k].id, whole.top[k].id);
    const robust::WalkForwardResult a = robust::walk_forward_result(*merged.walk_forward);
    const robust::WalkForwardResult w = robust::walk_forward_result(*whole.walk_forward);
    ASSERT_EQ(a.folds.size(), w.folds.size());
    for (std::size_t f = 0; f < w.folds.size(); ++f) {
      EXPECT_EQ(a.folds[f].chosen, w.folds[f].chosen) << ranks << " ranks, fold " << f;
      EXPECT_TRUE(same(a.folds[f].oos_growth, w.folds[f].oos_growth));
    }
    EXPECT_TRUE(same(a.oos_total_return, w.oos_total_return)) << ranks;
  }
}

// CSCV over slices of streams, each pass merged, is CSCV over the whole set, bit for bit.
TEST(RobustSlices, CscvInSlicesEqualsOnePass) {
  const robust::testing::OwnedMatrix m = robust::testing::random_matrix(3000, 8, 1900, 7);
  const robust::StreamSet streams = robust::distinct_streams(m.view());
  const robust::CscvResult want = robust::cscv(streams, 2);
  for (std::size_t slice : {1u, 7u, 300u, 1000u, 100000u}) {
    std::size_t calls = 0;
    const robust::CscvResult got =
        robust::cscv_in_slices(streams, 2, slice, [&](int, std::size_t) { ++calls; });
    EXPECT_GE(calls, 2u);
    EXPECT_EQ(got.candidates, want.candidates);
    EXPECT_TRUE(same(got.pbo, want.pbo)) << slice;
    EXPECT_TRUE(same(got.slope, want.slope)) << slice;
    EXPECT_TRUE(same(got.intercept, want.intercept)) << slice;
    ASSERT_EQ(got.per_split.size(), want.per_split.size());
    for (std::size_t j = 0; j < want.per_split.size(); ++j) {
      ASSERT_EQ(got.per_split[j].chosen, want.per_split[j].chosen) << slice << " split " << j;
      ASSERT_TRUE(same(got.per_split[j].lambda, want.per_split[j].lambda)) << slice;
    }
  }
  const robust::StreamSet part = robust::stream_slice(streams, 10, 20);
  ASSERT_EQ(part.size(), 10u);
  EXPECT_EQ(part.id(0), streams.id(10));
  EXPECT_EQ(part.multiplicity(9), streams.multiplicity(19));
}

const std::vector<double>& column(const report::RobustPart& p, const char* name) {
  const std::vector<double>* c = p.table.column(name);
  if (c == nullptr) throw std::runtime_error(std::string("no column ") + name);
  return *c;
}

// The whole command against the library run on every row in memory, field by field and bit for
// bit; the file reads back with the report's reader.
TEST_F(RobustCommand, WritesWhatTheLibraryComputes) {
  RobustOptions o = options("robust.h5");
  o.rows_per_read = 10;      // many chunks
  o.cscv_slice_streams = 5;  // CSCV over many slices of streams
  ASSERT_EQ(run_robust(o), 0);
  ASSERT_TRUE(fs::exists(o.out));
  EXPECT_FALSE(fs::exists(o.out + ".partial"));
  const report::RobustFile f = report::read_robust_file(o.out);

  const std::vector<std::int64_t> n_b = returns_per_block(960, kBlocks);
  const robust::BlockMatrix m = matrix(n_b);
  const robust::StreamSet streams = robust::distinct_streams(m);

  const robust::CscvResult c = robust::cscv(streams, 1);
  ASSERT_TRUE(f.cscv.present);
  EXPECT_EQ(*f.cscv.number("S"), kBlocks);
  EXPECT_EQ(*f.cscv.number("splits"), 70);
  EXPECT_EQ(*f.cscv.number("candidates"), static_cast<double>(grid_->size()));
  EXPECT_TRUE(same(*f.cscv.number("pbo"), c.pbo));
  EXPECT_TRUE(same(*f.cscv.number("prob_oos_loss"), c.prob_oos_loss));
  EXPECT_TRUE(same(*f.cscv.number("slope"), c.slope));
  EXPECT_TRUE(same(*f.cscv.number("intercept"), c.intercept));
  ASSERT_EQ(f.cscv.table.rows, 70u);
  for (std::size_t j = 0; j < 70; ++j) {
    EXPECT_TRUE(same(column(f.cscv, "lambda")[j], c.per_split[j].lambda)) << j;
    EXPECT_EQ(column(f.cscv, "chosen")[j], static_cast<double>(c.per_split[j].chosen)) << j;
    EXPECT_TRUE(same(column(f.cscv, "is_sharpe")[j], c.per_split[j].is_sharpe)) << j;
    EXPECT_TRUE(same(column(f.cscv, "oos_sharpe")[j], c.per_split[j].oos_sharpe)) << j;
  }

  const robust::TrialStats trials = robust::trial_stats(streams);
  const std::vector<robust::RankedCombination> top = robust::top_by_sharpe(m, 5);
  const BarSeries bars = load_bars({testing::btc_960()});
  IndicatorBank bank(bars);
  ASSERT_TRUE(f.dsr.present);
  ASSERT_EQ(f.dsr.table.rows, 5u);
  for (std::size_t k = 0; k < 5; ++k) {
    const robust::DsrRow d = robust::dsr_row(
        top[k].id, replay_returns({*grid_, bank}, static_cast<ComboId>(top[k].id)), trials);
    EXPECT_EQ(column(f.dsr, "combo_id")[k], static_cast<double>(d.combo_id));
    EXPECT_EQ(column(f.dsr, "trials")[k], static_cast<double>(trials.trials));
    for (const auto& [name, want] : {std::pair{"sharpe", d.sharpe},
                                     {"skewness", d.skewness},
                                     {"kurtosis", d.kurtosis},
                                     {"var_sharpe", d.var_sharpe},
                                     {"sr0", d.sr0},
                                     {"dsr", d.dsr},
                                     {"psr0", d.psr0}})
      EXPECT_TRUE(same(column(f.dsr, name)[k], want)) << name << " row " << k;
  }

  const robust::WalkForwardResult w = robust::walk_forward(m, {3, robust::WalkMode::rolling, 1}, 1);
  ASSERT_TRUE(f.walk_forward.present);
  EXPECT_EQ(*f.walk_forward.number("window"), 3);
  EXPECT_EQ(*f.walk_forward.number("min_trades"), 1);
  EXPECT_TRUE(same(*f.walk_forward.number("oos_sharpe"), w.oos_sharpe));
  EXPECT_TRUE(same(*f.walk_forward.number("oos_total_return"), w.oos_total_return));
  EXPECT_EQ(*f.walk_forward.number("oos_trades"), static_cast<double>(w.oos_trades));
  EXPECT_TRUE(same(*f.walk_forward.number("wf_efficiency"), w.wf_efficiency));
  bool mode = false;
  for (const auto& [name, value] : f.walk_forward.attributes)
    mode |= name == "mode" && value == "rolling";
  EXPECT_TRUE(mode);
  ASSERT_EQ(f.walk_forward.table.rows, 5u);  // folds 3..7
  for (std::size_t k = 0; k < 5; ++k) {
    const robust::WalkForwardFold& x = w.folds[k];
    EXPECT_EQ(column(f.walk_forward, "fold")[k], x.fold);
    EXPECT_EQ(column(f.walk_forward, "is_first_block")[k], x.is_first_block);
    EXPECT_EQ(column(f.walk_forward, "is_last_block")[k], x.is_last_block);
    EXPECT_EQ(column(f.walk_forward, "chosen")[k], static_cast<double>(x.chosen));
    EXPECT_TRUE(same(column(f.walk_forward, "is_sharpe")[k], x.is_sharpe));
    EXPECT_TRUE(same(column(f.walk_forward, "oos_sharpe")[k], x.oos_sharpe));
    EXPECT_TRUE(same(column(f.walk_forward, "oos_growth")[k], x.oos_growth));
    EXPECT_EQ(column(f.walk_forward, "oos_trades")[k], static_cast<double>(x.oos_trades));
  }

  // Only the requested parts: no --cscv, no --wf-window.
  RobustOptions dsr_only = options("dsr_only.h5");
  dsr_only.cscv = false;
  dsr_only.walk_forward = false;
  ASSERT_EQ(run_robust(dsr_only), 0);
  const report::RobustFile g = report::read_robust_file(dsr_only.out);
  EXPECT_FALSE(g.cscv.present);
  EXPECT_FALSE(g.walk_forward.present);
  EXPECT_EQ(g.dsr.table.rows, 5u);
}

// Each refusal: InputError/OutputError with its one line, and no output file.
TEST_F(RobustCommand, RefusesBadInputWithoutWritingAnything) {
  const std::string odd = (dir_ / "odd.h5").string();
  testing::write_results_with_blocks(odd, *grid_, testing::btc_960(), 5);
  const std::string partial = (dir_ / "partial.h5").string();
  testing::write_results_with_blocks(partial, *grid_, testing::btc_960(), 4, /*complete=*/false);
  const std::string plain = (dir_ / "plain2.h5").string();
  testing::write_results_with_blocks(plain, *grid_, testing::btc_960(), 0);
  const std::string text = (dir_ / "text.h5").string();
  std::ofstream(text) << "not hdf5\n";

  struct Case {
    std::string name;
    std::function<void(RobustOptions&)> change;
    std::string message;
  };
  const std::string out = (dir_ / "refused.h5").string();
  const std::vector<Case> cases{
      {"missing", [&](RobustOptions& o) { o.file = (dir_ / "nope.h5").string(); },
       (dir_ / "nope.h5").string() + ": no such file"},
      {"not hdf5", [&](RobustOptions& o) { o.file = text; }, text + ": not an HDF5 file"},
      {"no blocks", [&](RobustOptions& o) { o.file = plain; },
       plain + ": no /blocks: run the sweep with --blocks S"},
      {"odd S", [&](RobustOptions& o) { o.file = odd; }, "CSCV needs an even S"},
      {"W = S", [&](RobustOptions& o) { o.wf_window = kBlocks; },
       "--wf-window 8: must be between 1 and S - 1 = 7"},
      {"W = 0", [&](RobustOptions& o) { o.wf_window = 0; }, "--wf-window 0: must be at least 1"},
      {"mode", [&](RobustOptions& o) { o.wf_mode = "sliding"; },
       "--wf-mode sliding: must be rolling or anchored"},
      {"incomplete", [&](RobustOptions& o) { o.file = partial; },
       "finish it with threadx sweep --resume"},
      {"K = 0", [&](RobustOptions& o) { o.dsr = 0; }, "--dsr 0: K must be at least 1"},
      {"M < 0", [&](RobustOptions& o) { o.wf_min_trades = -1; },
       "--wf-min-trades -1: must be >= 0"},
      {"out = results",
       [&](RobustOptions& o) {
         o.out = results_;
         o.force = true;
       },
       "that is the results file itself"},
      {"data changed", [&](RobustOptions& o) { o.data = {testing::btc_49632()}; },
       "the data file changed since the sweep"},
  };
  for (const Case& c : cases) {
    RobustOptions o = options("refused.h5");
    c.change(o);
    try {
      run_robust(o);
      ADD_FAILURE() << c.name << ": no error";
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(c.message), std::string::npos) << c.name << ": " << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << c.name << ": " << what;
    }
    EXPECT_FALSE(fs::exists(out)) << c.name;
    EXPECT_FALSE(fs::exists(out + ".partial")) << c.name;
  }

  // An existing output: refused without --force, replaced with it.
  RobustOptions o = options("exists.h5");
  std::ofstream(o.out) << "old\n";
  try {
    run_robust(o);
    ADD_FAILURE() << "existing output replaced without --force";
  } catch (const OutputError& e) {
    EXPECT_EQ(std::string(e.what()), o.out + ": already exists; add --force to replace it");
  }
  o.force = true;
  EXPECT_EQ(run_robust(o), 0);
  EXPECT_TRUE(report::read_robust_file(o.out).dsr.present);
}

// Leaves fixtures for tests/cli/robust.sh when THREADX_ROBUST_FIXTURE names a directory: S = 8 on
// the small grid, S = 5, a stopped sweep and a sweep without /blocks.
TEST(RobustFixture, WriteForCli) {
  const char* dir = std::getenv("THREADX_ROBUST_FIXTURE");
  if (dir == nullptr) GTEST_SKIP() << "THREADX_ROBUST_FIXTURE not set";
  const Grid g = small_grid();
  const fs::path d(dir);
  testing::write_results_with_blocks((d / "blocks8.h5").string(), g, testing::btc_960(), 8);
  testing::write_results_with_blocks((d / "blocks5.h5").string(), g, testing::btc_960(), 5);
  testing::write_results_with_blocks((d / "stopped.h5").string(), g, testing::btc_960(), 8, false);
  testing::write_results_with_blocks((d / "noblocks.h5").string(), g, testing::btc_960(), 0);
  // THREADX_ROBUST_FIXTURE_GRID=grid.toml [THREADX_ROBUST_FIXTURE_BLOCKS=S]: also large.h5 from
  // that grid on the 960-bar file (e.g. reference_2p9m, for timings).
  if (const char* grid = std::getenv("THREADX_ROBUST_FIXTURE_GRID")) {
    const char* s = std::getenv("THREADX_ROBUST_FIXTURE_BLOCKS");
    testing::write_results_with_blocks((d / "large.h5").string(), parse_grid_file(grid),
                                       testing::btc_960(), s != nullptr ? std::atoi(s) : 8);
  }
}

}  // namespace
}  // namespace threadx
