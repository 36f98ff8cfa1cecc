// The distributed sweep with its ranks as threads of this process (LoopbackHub): the start-up
// handshake, rank 0's coordinator and writer, workers that request, compute and send back packed
// rows and blocks, the final accounting. For 1 to 4 ranks and several unit sizes the results file
// holds the single-process rows and /blocks byte for byte, and every rank's combinations add up.
// (tests/mpi/mpi_sweep.sh runs the same under a real mpirun; this runs under ctest and ASan.)
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "data/loader.hpp"
#include "engine/plan.hpp"
#include "indicators/indicator_bank.hpp"
#include "mpi/cluster_sweep.hpp"
#include "mpi/loopback_transport.hpp"
#include "mpi/protocol.hpp"
#include "report/aggregate.hpp"
#include "results/part_file.hpp"
#include "results/ranking.hpp"
#include "results/results_file.hpp"
#include "results/results_reader.hpp"
#include "results/sweep_summary.hpp"
#include "support/grids.hpp"
#include "support/paths.hpp"

namespace threadx::dist {
namespace {

namespace fs = std::filesystem;
constexpr int kBlocks = 4;

struct SweepRun {
  std::vector<std::int64_t> aggregates;  // the exact encoding
  std::vector<ComboId> kept;
  std::vector<unsigned char> rows;
  std::vector<BlockStats> blocks;
  std::vector<RankReport> ranks;
  bool complete = false;
};

// One sweep of `grid` over `ranks` loopback ranks (rank 0 computes too), one thread each.
// slice: --ids [first, second) ({0, 0}: the whole grid).
SweepRun sweep(const Grid& grid, const BarSeries& bars, int ranks, std::uint64_t unit_size,
               const std::string& path, const KeepSpec& keep = {},
               std::pair<ComboId, ComboId> slice = {0, 0}, bool by_ranks = false) {
  if (slice.second == 0) slice = {0, grid.size()};
  LoopbackHub hub(ranks);
  ClusterSweepOptions o;
  o.aggregates.ids_begin = slice.first;
  o.aggregates.ids_end = slice.second;
  o.threads = 1;
  o.unit_size = unit_size;
  o.keep = keep;
  o.summary_interval_s = 0.01;
  o.run.blocks = keep.all() ? kBlocks : 0;
  o.run.flush_interval_s = 0.05;
  o.run.progress_interval_s = 1e9;
  std::vector<std::thread> workers;
  for (int r = 1; r < ranks; ++r)
    workers.emplace_back([&, r] {
      IndicatorBank bank(bars);
      Transport& t = hub.rank(r);
      Hello h;
      h.host = "loopback";
      h.pid = r;
      h.threads = 1;
      StartInfo start;
      if (worker_hello(t, h, &start) != 0) return;
      ClusterSweepOptions mine = o;
      if (start.part_level > 0) {
        mine.part_path = part_path(path, start.session, r);
        mine.part_shape = {slice.first, slice.second, start.part_rows, start.part_level};
      }
      run_worker(t, {grid, bank}, mine);
    });
  SweepRun out;
  {
    Transport& t = hub.rank(0);
    StartGate gate(t);
    gate.collect();
    ResultsStorage storage;
    storage.keep = keep;
    storage.ids_begin = slice.first;
    storage.ids_end = slice.second;
    storage.rows_by_ranks = by_ranks;
    storage.out_name = fs::path(path).filename().string();
    storage.session = "1-" + std::to_string(ranks);
    storage.part_ranks = ranks;
    ResultsFile file =
        ResultsFile::create(path, grid, bars, Provenance{}, true, o.run.blocks, storage);
    IdRanges done = keep.all() ? IdRanges::from_flags(file.read_done(), slice.first) : IdRanges{};
    done.add(0, slice.first);  // outside the slice: not to run
    done.add(slice.second, grid.size());
    gate.release(0, {storage.session, by_ranks ? file.deflate_level() : 0,
                     by_ranks ? file.part_shape().rows_per_chunk : 0});
    if (by_ranks) {
      o.part_path = part_path(path, storage.session, 0);
      o.part_shape = file.part_shape();
    }
    IndicatorBank bank(bars);
    const AggregateLayout layout(grid, o.aggregates);
    SweepSummary summary(grid, layout, keep, SweepSummary::Role::Root);
    const ClusterReport report =
        run_coordinator(t, {grid, bank}, file, done, summary, gate.workers(), o);
    // The workers' part files are closed before rank 0 joins them (HDF5 is not thread-safe: in
    // one process the ranks' calls would overlap).
    for (std::thread& w : workers) w.join();
    file.finish({}, &summary);
    out.ranks = report.ranks;
    out.complete = report.complete;
    out.aggregates = summary.aggregates().encode();
    if (summary.keeper() != nullptr) out.kept = summary.keeper()->ids();
  }
  if (!keep.all()) return out;
  const ResultsReader reader(path);
  out.rows = reader.read_rows(0, reader.rows());
  out.blocks = reader.read_blocks(0, reader.rows());
  return out;
}

bool same_cells(const std::vector<BlockStats>& a, const std::vector<BlockStats>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i].sum_r, &b[i].sum_r, 24) != 0 || a[i].trades != b[i].trades) return false;
  return true;
}

TEST(LoopbackSweep, AnyRankCountGivesTheOneProcessFileByteForByte) {
  const BarSeries bars = load_bars({testing::btc_960()});
  const Grid grid = testing::mixed_grid();
  const fs::path dir =
      fs::temp_directory_path() / ("threadx_loopback_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const SweepRun one = sweep(grid, bars, 1, 4096, (dir / "one.h5").string());
  ASSERT_TRUE(one.complete);
  ASSERT_EQ(one.blocks.size(), grid.size() * kBlocks);
  for (const auto& [ranks, unit] :
       std::vector<std::pair<int, std::uint64_t>>{{2, 100}, {3, 37}, {4, 512}}) {
    const SweepRun many =
        sweep(grid, bars, ranks, unit, (dir / ("np" + std::to_string(ranks) + ".h5")).string());
    EXPECT_TRUE(many.complete) << ranks << " ranks";
    EXPECT_TRUE(many.rows == one.rows) << ranks << " ranks, unit " << unit << ": /results differ";
    EXPECT_TRUE(same_cells(many.blocks, one.blocks))
        << ranks << " ranks, unit " << unit << ": /blocks differ";
    EXPECT_TRUE(many.aggregates == one.aggregates)
        << ranks << " ranks, unit " << unit << ": aggregates differ";
    ASSERT_EQ(many.ranks.size(), static_cast<std::size_t>(ranks));
    std::uint64_t combos = 0;
    for (const RankReport& r : many.ranks) combos += r.combos;
    EXPECT_EQ(combos, grid.size()) << ranks << " ranks";
    for (int r = 1; r < ranks; ++r)
      EXPECT_GT(many.ranks[static_cast<std::size_t>(r)].combos, 0u) << "rank " << r << " idle";
  }
  fs::remove_all(dir);
}

// --write-path ranks: every rank stores its rows in its own part file and /results is a virtual
// dataset over them; for 1 to 4 ranks and unit sizes that are not whole chunks, the rows, /blocks
// and aggregates are those of the one-process file of rank 0, and so is a slice cut inside chunks.
TEST(LoopbackSweep, RowsStoredByTheRanksGiveTheOneProcessFile) {
  const BarSeries bars = load_bars({testing::btc_960()});
  const Grid grid = testing::mixed_grid();
  ASSERT_LT(part_chunk_rows(grid, grid.size(), 1), grid.size() / 4) << "too few chunks to share";
  const fs::path dir =
      fs::temp_directory_path() / ("threadx_loopback_ranks_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const SweepRun one = sweep(grid, bars, 1, 4096, (dir / "one.h5").string());
  for (const auto& [ranks, unit] :
       std::vector<std::pair<int, std::uint64_t>>{{1, 4096}, {2, 100}, {3, 37}, {4, 512}}) {
    const std::string path = (dir / ("ranks" + std::to_string(ranks) + ".h5")).string();
    const SweepRun many = sweep(grid, bars, ranks, unit, path, {}, {0, 0}, true);
    EXPECT_TRUE(many.complete) << ranks << " ranks";
    EXPECT_TRUE(many.rows == one.rows) << ranks << " ranks, unit " << unit << ": /results differ";
    EXPECT_TRUE(same_cells(many.blocks, one.blocks)) << ranks << " ranks: /blocks differ";
    EXPECT_TRUE(many.aggregates == one.aggregates) << ranks << " ranks: aggregates differ";
    const ResultsReader reader(path);
    EXPECT_EQ(reader.attribute("write_path").value_or(""), "ranks");
    std::size_t busy = 0;
    for (const RankReport& r : many.ranks) busy += r.combos > 0 ? 1 : 0;
    EXPECT_GE(busy, ranks > 1 ? 2u : 1u) << "the rows of one rank only";
    EXPECT_EQ(reader.storage().rfind("virtual, over " + std::to_string(busy) + " part file(s)", 0),
              0u)
        << reader.storage() << ": not one part file for each rank that computed rows";
    // One part file per rank, named after the session and the rank.
    for (int r = 0; r < ranks; ++r)
      EXPECT_TRUE(fs::exists(part_path(path, "1-" + std::to_string(ranks), r))) << "rank " << r;
  }
  const std::pair<ComboId, ComboId> slice{300, 777};  // cuts chunks at both ends
  const SweepRun cut = sweep(grid, bars, 3, 37, (dir / "slice.h5").string(), {}, slice, true);
  const std::size_t row = one.rows.size() / grid.size();
  EXPECT_TRUE(cut.complete);
  EXPECT_TRUE(std::equal(cut.rows.begin(), cut.rows.end(),
                         one.rows.begin() + static_cast<std::ptrdiff_t>(slice.first * row),
                         one.rows.begin() + static_cast<std::ptrdiff_t>(slice.second * row)))
      << "the slice's rows are not the whole run's rows of its ids";
  // Without its part files the file's rows are an error naming the missing file, never zeros.
  fs::rename(dir / "ranks3.h5.parts", dir / "moved");
  try {
    const ResultsReader reader((dir / "ranks3.h5").string());
    ADD_FAILURE() << "a file without its part files was opened";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("which is missing"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

// --keep top:...: no rows in the file, the summary checkpointed as it goes; the kept ids and the
// aggregates are those of the one-process --keep all run, for any rank count and unit size.
TEST(LoopbackSweep, KeepTopGivesTheSameSummaryOnAnyRankCount) {
  const BarSeries bars = load_bars({testing::btc_960()});
  const Grid grid = testing::mixed_grid();
  const fs::path dir =
      fs::temp_directory_path() / ("threadx_loopback_top_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const SweepRun all = sweep(grid, bars, 1, 4096, (dir / "all.h5").string());
  const KeepSpec keep = parse_keep("top:20:sharpe,top:7:max_drawdown");
  TopKeeper want(grid, keep);
  {
    const ResultsReader reader((dir / "all.h5").string());
    const RowLayout layout(grid, 0);
    std::vector<Metrics> rows;
    const std::vector<unsigned char> packed = reader.read_rows(0, reader.rows());
    for (ComboId id = 0; id < grid.size(); ++id)
      rows.push_back(layout.unpack_metrics(packed.data() + id * layout.row_size()));
    want.offer(0, rows);
  }
  for (const auto& [ranks, unit] :
       std::vector<std::pair<int, std::uint64_t>>{{1, 4096}, {2, 100}, {3, 37}}) {
    const std::string path = (dir / ("top" + std::to_string(ranks) + ".h5")).string();
    const SweepRun top = sweep(grid, bars, ranks, unit, path, keep);
    EXPECT_TRUE(top.complete) << ranks << " ranks";
    EXPECT_TRUE(top.aggregates == all.aggregates) << ranks << " ranks: aggregates differ";
    EXPECT_EQ(top.kept, want.ids()) << ranks << " ranks";
    const ResultsReader reader(path);
    EXPECT_EQ(reader.attribute("keep").value_or(""), keep.text());
  }
  fs::remove_all(dir);
}

// A worker whose inputs failed to load: rank 0's gate names it, and every worker is released
// with exit code 1 rather than left waiting.
// `threadx report` on a --keep none file (3 ranks) draws from /aggregates: for every metric,
// every cell's count, best (and its id), min and max are those the report computes from the rows
// of the one-process --keep all file, its mean and sd agree to rounding; the stored histogram of
// sharpe holds the rows' values in the bins docs/SWEEP.md defines; filters are refused.
TEST(LoopbackSweep, AReportFromTheAggregatesAgreesWithOneFromTheRows) {
  const BarSeries bars = load_bars({testing::btc_960()});
  const Grid grid = testing::mixed_grid();
  const fs::path dir =
      fs::temp_directory_path() / ("threadx_loopback_report_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string all_path = (dir / "all.h5").string(), none_path = (dir / "none.h5").string();
  ASSERT_TRUE(sweep(grid, bars, 1, 4096, all_path).complete);
  ASSERT_TRUE(sweep(grid, bars, 3, 37, none_path, parse_keep("none")).complete);
  const ResultsReader rows(all_path), none(none_path);
  ASSERT_FALSE(none.has_rows());
  const std::optional<StoredAggregates> stored = none.read_aggregates();
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->combinations, grid.size());
  std::vector<std::string> names;
  for (std::size_t p = 0; p < grid.param_count(); ++p) names.emplace_back(grid.param(p).name);

  auto same = [](const report::Cell& a, const report::Cell& b, const std::string& where) {
    ASSERT_EQ(a.count, b.count) << where;
    if (a.count == 0) return;
    EXPECT_EQ(a.best, b.best) << where;
    EXPECT_EQ(a.best_id, b.best_id) << where;
    EXPECT_EQ(a.min, b.min) << where;
    EXPECT_EQ(a.max, b.max) << where;
    const double scale = std::max(1.0, std::fabs(a.max) + std::fabs(a.min));
    EXPECT_NEAR(a.mean, b.mean, 1e-12 * scale) << where;
    EXPECT_NEAR(a.sd, b.sd, 1e-7 * scale) << where;
  };
  for (const MetricSpec& m : kMetrics) {
    report::AggregateOptions ao;
    ao.metric = std::string(m.name);
    const report::Aggregates want = report::aggregate(rows, grid, ao);
    const report::Aggregates got = report::from_stored(*stored, grid, names, ao, none_path);
    EXPECT_FALSE(got.quantiles);
    EXPECT_EQ(got.done, grid.size());
    EXPECT_EQ(got.not_finite, want.not_finite) << m.name;
    same(got.overall, want.overall, ao.metric + " overall");
    ASSERT_EQ(got.axes.size(), want.axes.size());
    for (std::size_t a = 0; a < got.axes.size(); ++a)
      for (std::size_t i = 0; i < got.axes[a].values.size(); ++i)
        same(got.sensitivity[a][i], want.sensitivity[a][i],
             ao.metric + " " + got.axes[a].name + "[" + std::to_string(i) + "]");
    ASSERT_EQ(got.pairs.size(), want.pairs.size());
    for (std::size_t p = 0; p < got.pairs.size(); ++p) {
      ASSERT_EQ(got.pairs[p].a, want.pairs[p].a);
      ASSERT_EQ(got.pairs[p].b, want.pairs[p].b);
      for (std::size_t c = 0; c < got.pairs[p].cells.size(); ++c)
        same(got.pairs[p].cells[c], want.pairs[p].cells[c],
             ao.metric + " pair " + std::to_string(p) + " cell " + std::to_string(c));
    }
    EXPECT_EQ(got.histogram.counts.empty(), ao.metric != "sharpe") << m.name;
  }

  // The histogram of sharpe: bins of width 0.1 from -10, the empty ones at both ends left out.
  report::AggregateOptions ao;
  const report::Aggregates got = report::from_stored(*stored, grid, names, ao, none_path);
  const report::Histogram& h = got.histogram;
  const double width = 20.0 / 200;
  std::vector<std::uint64_t> want(200, 0);
  std::uint64_t below = 0, above = 0;
  const Column& sharpe = *rows.find("sharpe");
  const std::vector<unsigned char> all = rows.read_rows(0, rows.rows());
  for (std::uint64_t r = 0; r < rows.rows(); ++r) {
    const double x = ResultsReader::value(all.data() + r * rows.row_size(), sharpe);
    if (x < -10)
      ++below;
    else if (x >= 10)
      ++above;
    else if (x == x)
      ++want[static_cast<std::size_t>(std::floor((x + 10) / width))];
  }
  EXPECT_EQ(h.below, below);
  EXPECT_EQ(h.above, above);
  const auto first = static_cast<std::size_t>(std::llround((h.lo + 10) / width));
  const std::size_t n = h.counts.size();
  ASSERT_EQ(n, static_cast<std::size_t>(std::llround((h.hi - h.lo) / width)));
  EXPECT_GT(want[first], 0u);
  EXPECT_GT(want[first + n - 1], 0u);
  for (std::size_t b = 0; b < 200; ++b) {
    // Values outside [-10, 10) are counted in the end bars.
    const std::uint64_t extra = (b == first ? below : 0) + (b == first + n - 1 ? above : 0);
    const bool inside = b >= first && b < first + n;
    EXPECT_EQ(inside ? h.counts[b - first] : 0, want[b] + extra) << "bin " << b;
  }

  ao.min_trades = 3;
  try {
    (void)report::from_stored(*stored, grid, names, ao, none_path);
    ADD_FAILURE() << "--min-trades was applied to aggregates";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(none_path), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

// --ids: a slice swept by 1 and by 3 ranks, kept whole and as its top rows: the same rows (the
// whole grid's rows of those ids), the same aggregates, the same kept ids as the rows' best.
TEST(LoopbackSweep, ASliceGivesTheSameRowsAndAggregatesOnAnyRankCount) {
  const BarSeries bars = load_bars({testing::btc_960()});
  const Grid grid = testing::mixed_grid();
  const fs::path dir =
      fs::temp_directory_path() / ("threadx_loopback_slice_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::pair<ComboId, ComboId> slice{300, 777};  // inside canonical blocks at both ends
  const SweepRun whole = sweep(grid, bars, 1, 4096, (dir / "whole.h5").string());
  const SweepRun one = sweep(grid, bars, 1, 4096, (dir / "one.h5").string(), {}, slice);
  ASSERT_TRUE(one.complete);
  const std::size_t row = whole.rows.size() / grid.size();
  ASSERT_EQ(one.rows.size(), (slice.second - slice.first) * row);
  EXPECT_TRUE(std::equal(one.rows.begin(), one.rows.end(),
                         whole.rows.begin() + static_cast<std::ptrdiff_t>(slice.first * row)))
      << "the slice's rows are not the whole run's rows of its ids";
  const SweepRun three = sweep(grid, bars, 3, 37, (dir / "three.h5").string(), {}, slice);
  EXPECT_TRUE(three.complete);
  EXPECT_TRUE(three.rows == one.rows);
  EXPECT_TRUE(three.aggregates == one.aggregates);
  const KeepSpec keep = parse_keep("top:25:sharpe");
  const SweepRun top = sweep(grid, bars, 3, 11, (dir / "top.h5").string(), keep, slice);
  EXPECT_TRUE(top.complete);
  EXPECT_TRUE(top.aggregates == one.aggregates);
  const ResultsReader reader((dir / "one.h5").string());
  EXPECT_EQ(reader.first_id(), slice.first);
  RankQuery q;
  q.n = 25;
  std::vector<ComboId> want;
  const Column& id = *reader.find("combo_id");
  for (const std::vector<unsigned char>& r : rank_rows(reader, q).rows)
    want.push_back(static_cast<ComboId>(ResultsReader::value(r.data(), id)));
  std::sort(want.begin(), want.end());
  EXPECT_EQ(top.kept, want);
  fs::remove_all(dir);
}

TEST(LoopbackSweep, AWorkerThatCannotLoadIsNamedAndEveryoneIsReleased) {
  LoopbackHub hub(3);
  std::vector<int> codes(3, -2);
  std::vector<std::thread> workers;
  for (int r = 1; r < 3; ++r)
    workers.emplace_back([&, r] {
      Hello h;
      h.host = "node" + std::to_string(r);
      h.threads = 1;
      if (r == 2) h.error = "bars.csv: no such file";
      codes[static_cast<std::size_t>(r)] = worker_hello(hub.rank(r), h);
    });
  StartGate gate(hub.rank(0));
  try {
    gate.collect();
    ADD_FAILURE() << "collect() accepted a worker that could not load";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "rank 2 (host node2): bars.csv: no such file");
    gate.fail();
  }
  for (std::thread& w : workers) w.join();
  EXPECT_EQ(codes[1], 1);
  EXPECT_EQ(codes[2], 1);
}

// A transport that fails when its rank sends a result (a network error mid-run).
class FailsOnResult final : public Transport {
 public:
  explicit FailsOnResult(Transport& inner) : inner_(inner) {}
  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }
  int local_size() const override { return inner_.local_size(); }
  void send(int dest, Tag tag, std::vector<std::byte> data) override {
    if (tag == Tag::Result) throw std::runtime_error("network down");
    inner_.send(dest, tag, std::move(data));
  }
  std::optional<Message> receive(std::chrono::microseconds wait) override {
    return inner_.receive(wait);
  }
  void drain() override {}
  [[noreturn]] void abort(int code) override {
    inner_.abort(code);
    std::_Exit(code);  // not reached: every transport's abort ends the rank
  }

 private:
  Transport& inner_;
};

// A worker whose transport throws mid-run ends with that error: its compute thread, still waiting
// for more units (the work is not all handed out), is stopped rather than joined forever.
TEST(LoopbackSweep, AWorkerWhoseTransportFailsEndsWithTheError) {
  const BarSeries bars = load_bars({testing::btc_960()});
  const Grid grid = testing::mixed_grid();
  LoopbackHub hub(2);
  FailsOnResult failing(hub.rank(1));
  ClusterSweepOptions o;
  o.threads = 1;
  std::future<std::string> ended = std::async(std::launch::async, [&] {
    IndicatorBank bank(bars);
    try {
      run_worker(failing, {grid, bank}, o);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  });
  // Rank 0, by hand: one unit for the worker's first request, and more work said to be left.
  Transport& zero = hub.rank(0);
  std::optional<Message> request;
  for (int i = 0; i < 600 && !request; ++i) request = zero.receive(std::chrono::milliseconds(100));
  ASSERT_TRUE(request && request->tag == Tag::Request);
  Writer w;
  w.put<std::uint64_t>(1).put<std::uint8_t>(0).put<std::uint64_t>(1);
  detail::put_unit(w, plan_units(grid, 8).front());
  zero.send(1, Tag::Grant, w.take());
  if (ended.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    ADD_FAILURE() << "the worker hangs after its transport failed";
    std::_Exit(1);  // its threads cannot be joined
  }
  EXPECT_EQ(ended.get(), "network down");
}

}  // namespace
}  // namespace threadx::dist
