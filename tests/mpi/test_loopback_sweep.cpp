// The distributed sweep with its ranks as threads of this process (LoopbackHub): the start-up
// handshake, rank 0's coordinator and writer, workers that request, compute and send back packed
// rows and blocks, the final accounting. For 1 to 4 ranks and several unit sizes the results file
// holds the single-process rows and /blocks byte for byte, and every rank's combinations add up.
// (tests/mpi/mpi_sweep.sh runs the same under a real mpirun; this runs under ctest and ASan.)
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
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
SweepRun sweep(const Grid& grid, const BarSeries& bars, int ranks, std::uint64_t unit_size,
               const std::string& path, const KeepSpec& keep = {}) {
  LoopbackHub hub(ranks);
  ClusterSweepOptions o;
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
      if (worker_hello(t, h) == 0) run_worker(t, {grid, bank}, o);
    });
  SweepRun out;
  {
    Transport& t = hub.rank(0);
    StartGate gate(t);
    gate.collect();
    ResultsStorage storage;
    storage.keep = keep;
    ResultsFile file =
        ResultsFile::create(path, grid, bars, Provenance{}, true, o.run.blocks, storage);
    const std::vector<std::uint8_t> done =
        keep.all() ? file.read_done() : std::vector<std::uint8_t>(grid.size(), 0);
    gate.release(0);
    IndicatorBank bank(bars);
    const AggregateLayout layout(grid, o.aggregates);
    SweepSummary summary(grid, layout, keep, SweepSummary::Role::Root);
    const ClusterReport report =
        run_coordinator(t, {grid, bank}, file, done, summary, gate.workers(), o);
    file.finish({}, &summary);
    out.ranks = report.ranks;
    out.complete = report.complete;
    out.aggregates = summary.aggregates().encode();
    if (summary.keeper() != nullptr) out.kept = summary.keeper()->ids();
  }
  for (std::thread& w : workers) w.join();
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
