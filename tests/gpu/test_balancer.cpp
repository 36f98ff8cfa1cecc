// The device balancer driven by simulated devices: CPU-backed batch devices that run the real
// kernel (the CUDA thread body, on the host) and then wait until `combos x delay` has passed
// since the batch started, so their speed is set by the test, not by the load of the machine
// (the wait dominates: 100-300 us per combination against ~10 us of compute). Checked: work is
// shared in proportion to speed, the devices finish close together, rows are bit-identical to a
// one-device run, a device that throws mid-unit loses nothing, and errors and the stop flag.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "gpu/balancer.hpp"
#include "gpu/unit_runner.hpp"
#include "gpu_test_support.hpp"

namespace threadx::gpu {
namespace {

using gpu_testing::RowSink;
using gpu_testing::same_bits;
using Clock = std::chrono::steady_clock;

// A batch device of a set speed: the host batch runner, then a wait up to combos x delay.
class SimulatedDevice final : public UnitRunner {
 public:
  explicit SimulatedDevice(std::chrono::microseconds per_combo, int fail_on_call = 0)
      : per_combo_(per_combo), fail_on_call_(fail_on_call) {}
  void run(const Grid& grid, IndicatorBank& bank, std::span<const WorkUnit> pieces, Metrics* out,
           const BlockOutput& blocks) override {
    const auto start = Clock::now();
    std::uint64_t n = 0;
    for (const WorkUnit& p : pieces) n += p.size();
    if (++calls_ == fail_on_call_) {
      // Mid-unit: half the rows are garbage when the device dies; none may reach the sink.
      for (std::uint64_t k = 0; k < n / 2; ++k)
        out[k] = Metrics{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
      throw std::runtime_error("simulated device lost (ECC error)");
    }
    inner_.run(grid, bank, pieces, out, blocks);
    std::this_thread::sleep_until(start + per_combo_ * static_cast<std::int64_t>(n));
  }

 private:
  HostBatchRunner inner_;
  std::chrono::microseconds per_combo_;
  int fail_on_call_;
  int calls_ = 0;
};

BalancedDevice simulated(const std::string& name, int delay_us, int fail_on_call = 0) {
  return BalancedDevice::batch(
      name, std::make_unique<SimulatedDevice>(std::chrono::microseconds(delay_us), fail_on_call));
}

// The first 36 units of 672 (12 key groups, 24,192 combinations) of the production grid.
struct Workload {
  BarSeries bars = load_bars({testing::btc_960()});
  Grid grid = gpu_testing::grid_2p9m();
  IndicatorBank bank{bars};
  std::vector<WorkUnit> units;
  ComboId n = 0;
  std::vector<Metrics> reference;

  explicit Workload(std::size_t count = 36) {
    units = plan_units(grid, 700);
    units.resize(count);
    n = units.back().end;
    reference = gpu_testing::reference_rows(grid, bank, units, n);
  }

  void expect_all_rows_once(const RowSink& sink) const {
    for (ComboId id = 0; id < n; ++id) {
      ASSERT_EQ(sink.writes[id], 1) << "id " << id;
      ASSERT_TRUE(same_bits(sink.rows[id], reference[id])) << "id " << id;
    }
  }
};

BalancerOptions test_options() {
  BalancerOptions o;
  o.target_chunk_s = 0.1;
  o.calibration_combos = 128;
  return o;
}

TEST(Balancer, SharesWorkInProportionToSpeedAndFinishesTogether) {
  Workload w;
  RowSink sink(w.n, w.grid.group_size());
  UnitListSource source(w.units);
  std::vector<BalancedDevice> devices;
  devices.push_back(simulated("slow_1x", 300));
  devices.push_back(simulated("fast_3x", 100));
  const BalancerReport r =
      run_devices(w.grid, w.bank, source, sink, std::move(devices), test_options());
  w.expect_all_rows_once(sink);
  EXPECT_EQ(r.combos_done, w.n);
  EXPECT_EQ(r.source_units, w.units.size());
  EXPECT_TRUE(r.undone.empty());
  ASSERT_EQ(r.devices.size(), 2u);
  const DeviceReport& slow = r.devices[0];
  const DeviceReport& fast = r.devices[1];
  EXPECT_EQ(slow.combos + fast.combos, w.n);
  EXPECT_EQ(slow.units + fast.units, r.units_done);
  const double fast_share = static_cast<double>(fast.combos) / static_cast<double>(w.n);
  const double spread = std::fabs(fast.finish_s - slow.finish_s);
  std::printf(
      "[ measured ] 1x/3x: shares %.1f%% / %.1f%% (ideal 25/75), finish %.3f s / %.3f s, spread "
      "%.3f s = %.1f%% of the %.3f s run; chunks %llu / %llu; rates %.0f / %.0f combos/s; busy "
      "%.3f / %.3f s\n",
      100 * (1 - fast_share), 100 * fast_share, slow.finish_s, fast.finish_s, spread,
      100 * spread / r.wall_s, r.wall_s, static_cast<unsigned long long>(slow.chunks),
      static_cast<unsigned long long>(fast.chunks), slow.rate, fast.rate, slow.busy_s, fast.busy_s);
  // Ideal 75%; the calibration chunks and the wait granularity pull it a little toward 50%.
  EXPECT_GT(fast_share, 0.65);
  EXPECT_LT(fast_share, 0.85);
  // An even split would leave the slow device finishing at 1.5x the balanced time (spread ~67%
  // of the run); pulling by throughput keeps it within a few end-game chunks.
  EXPECT_LT(spread, 0.15 * r.wall_s);
  // The measured rates are the set speeds (3,333 and 10,000 combos/s) within 30%.
  EXPECT_NEAR(slow.rate, 1e6 / 300, 0.3 * 1e6 / 300);
  EXPECT_NEAR(fast.rate, 1e6 / 100, 0.3 * 1e6 / 100);
  EXPECT_FALSE(slow.failed);
  EXPECT_FALSE(fast.failed);
}

TEST(Balancer, CpuDeviceAndBatchDeviceGiveTheOneDeviceRows) {
  Workload w;
  for (Isa isa : {best_isa(), Isa::Scalar}) {
    RowSink sink(w.n, w.grid.group_size());
    UnitListSource source(w.units);
    std::vector<BalancedDevice> devices;
    devices.push_back(BalancedDevice::cpu(2, isa));
    devices.push_back(simulated("sim", 100));
    const BalancerReport r =
        run_devices(w.grid, w.bank, source, sink, std::move(devices), test_options());
    w.expect_all_rows_once(sink);
    EXPECT_EQ(r.devices[0].combos + r.devices[1].combos, w.n);
    EXPECT_EQ(r.devices[0].name, "cpu");
    EXPECT_GT(r.devices[0].combos, 0u);
    EXPECT_GE(sink.flushes, 1);
  }
}

// With --blocks, every row's blocks travel with it through the pieces, chunks and devices: the
// CPU's lane path and the batch device's one-combination path give the scalar path's cells.
TEST(Balancer, BlocksTravelWithTheirRowsAcrossDevices) {
  Workload w(12);
  constexpr int kS = 8;
  const std::vector<std::int64_t> starts =
      block_start_bars(static_cast<std::int64_t>(w.bars.size()), kS);
  std::vector<BlockStats> want(w.n * kS);
  for (const WorkUnit& u : w.units) {
    std::vector<Metrics> rows(u.size());
    run_unit_cpu(w.grid, w.bank, u, rows.data(), Isa::Scalar,
                 BlockOutput{kS, starts.data(), want.data()}.at(u.begin));
  }
  RowSink sink(w.n, w.grid.group_size());
  UnitListSource source(w.units);
  std::vector<BalancedDevice> devices;
  devices.push_back(BalancedDevice::cpu(2, best_isa()));
  devices.push_back(simulated("sim", 50));
  BalancerOptions o = test_options();
  o.blocks = kS;
  const BalancerReport r = run_devices(w.grid, w.bank, source, sink, std::move(devices), o);
  w.expect_all_rows_once(sink);
  EXPECT_GT(r.devices[0].combos, 0u);
  EXPECT_GT(r.devices[1].combos, 0u);
  ASSERT_EQ(sink.blocks.size(), want.size());
  for (std::size_t c = 0; c < want.size(); ++c)
    ASSERT_TRUE(same_bits(sink.blocks[c], want[c])) << "id " << c / kS << " block " << c % kS;
}

TEST(Balancer, ADeviceThatThrowsMidUnitLosesNothing) {
  for (int fail_on : {1, 3}) {  // on its calibration chunk, and later on a full-size chunk
    Workload w(12);
    RowSink sink(w.n, w.grid.group_size());
    UnitListSource source(w.units);
    std::vector<BalancedDevice> devices;
    devices.push_back(simulated("steady", 150));
    devices.push_back(simulated("flaky", 50, fail_on));
    const BalancerReport r =
        run_devices(w.grid, w.bank, source, sink, std::move(devices), test_options());
    w.expect_all_rows_once(sink);  // garbage rows of the failed chunk never reached the sink
    const DeviceReport& flaky = r.devices[1];
    EXPECT_TRUE(flaky.failed);
    EXPECT_NE(flaky.error.find("ECC error"), std::string::npos);
    EXPECT_EQ(flaky.chunks_returned, 1u);
    EXPECT_EQ(flaky.chunks, static_cast<std::uint64_t>(fail_on - 1));
    EXPECT_FALSE(r.devices[0].failed);
    EXPECT_EQ(r.devices[0].combos + flaky.combos, w.n);
    EXPECT_EQ(r.combos_done, w.n);
  }
}

TEST(Balancer, EveryDeviceFailingIsAnErrorAfterTheFinishedRows) {
  Workload w(6);
  RowSink sink(w.n, w.grid.group_size());
  UnitListSource source(w.units);
  std::vector<BalancedDevice> devices;
  devices.push_back(simulated("a", 10, 2));
  devices.push_back(simulated("b", 10, 3));
  try {
    run_devices(w.grid, w.bank, source, sink, std::move(devices), test_options());
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("every device failed"), std::string::npos) << e.what();
  }
  std::uint64_t written = 0;
  for (ComboId id = 0; id < w.n; ++id) {
    ASSERT_LE(sink.writes[id], 1);
    if (sink.writes[id] == 1) {
      ++written;
      ASSERT_TRUE(same_bits(sink.rows[id], w.reference[id])) << id;
    }
  }
  EXPECT_GT(written, 0u);  // the chunks done before the failures
  EXPECT_LT(written, w.n);
}

TEST(Balancer, SourceUnitsAreReportedDoneOnceAllTheirPiecesAreWritten) {
  Workload w(12);
  RowSink sink(w.n, w.grid.group_size());
  UnitListSource source(w.units);
  BalancerOptions o = test_options();
  std::vector<WorkUnit> acked;
  o.on_source_unit_done = [&](const WorkUnit& u) {
    for (ComboId id = u.begin; id < u.end; ++id) ASSERT_EQ(sink.writes[id], 1) << id;
    acked.push_back(u);
  };
  std::vector<BalancedDevice> devices;
  devices.push_back(simulated("a", 30));
  devices.push_back(BalancedDevice::cpu(1));
  run_devices(w.grid, w.bank, source, sink, std::move(devices), o);
  std::sort(acked.begin(), acked.end(),
            [](const WorkUnit& a, const WorkUnit& b) { return a.begin < b.begin; });
  EXPECT_EQ(acked, w.units);
  EXPECT_GT(sink.pieces, static_cast<int>(w.units.size()));  // units were split into sub-units
}

// A rank queue that hands out units slowly (as an MPI worker waiting for grants would) and
// can fail.
class SlowSource final : public WorkSource {
 public:
  SlowSource(std::vector<WorkUnit> units, int fail_at)
      : units_(std::move(units)), fail_at_(fail_at) {}
  std::optional<WorkUnit> next() override {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const std::size_t k = next_.fetch_add(1);
    if (static_cast<int>(k) == fail_at_) throw std::runtime_error("rank 0 unreachable");
    if (k >= units_.size()) return std::nullopt;
    return units_[k];
  }

 private:
  std::vector<WorkUnit> units_;
  int fail_at_;
  std::atomic<std::size_t> next_{0};
};

TEST(Balancer, BlockingSourceIsDrainedAndASourceErrorIsRethrown) {
  Workload w(12);
  {
    RowSink sink(w.n, w.grid.group_size());
    SlowSource source(w.units, -1);
    std::vector<BalancedDevice> devices;
    devices.push_back(simulated("a", 20));
    devices.push_back(BalancedDevice::cpu(1));
    run_devices(w.grid, w.bank, source, sink, std::move(devices), test_options());
    w.expect_all_rows_once(sink);
  }
  RowSink sink(w.n, w.grid.group_size());
  SlowSource source(w.units, 4);
  std::vector<BalancedDevice> devices;
  devices.push_back(simulated("a", 20));
  devices.push_back(BalancedDevice::cpu(1));
  EXPECT_THROW(run_devices(w.grid, w.bank, source, sink, std::move(devices), test_options()),
               std::runtime_error);
  for (ComboId id = 0; id < w.n; ++id) {
    ASSERT_LE(sink.writes[id], 1);
    if (sink.writes[id] == 1) {
      ASSERT_TRUE(same_bits(sink.rows[id], w.reference[id])) << id;
    }
  }
}

// As rank 0 treats a calibrating rank: unit k+1 is handed out only once unit k is done. The
// balancer must not wait for unit k+1 while it holds unit k (it did: a one-thread rank hung).
class GatedSource final : public WorkSource {
 public:
  explicit GatedSource(std::vector<WorkUnit> units) : units_(std::move(units)) {}
  std::optional<WorkUnit> next() override {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, std::chrono::seconds(20), [&] { return next_ <= done_; }))
      throw std::runtime_error("gated source: waited 20 s for a unit that was never finished");
    if (next_ >= units_.size()) return std::nullopt;
    return units_[next_++];
  }
  bool ready() override {
    std::lock_guard lock(mutex_);
    return next_ <= done_;
  }
  void unit_done() {
    std::lock_guard lock(mutex_);
    ++done_;
    cv_.notify_all();
  }

 private:
  std::vector<WorkUnit> units_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::size_t next_ = 0, done_ = 0;
};

TEST(Balancer, NeverWaitsForAUnitThatNeedsItsOwnWorkDone) {
  for (const bool with_batch_device : {false, true}) {
    Workload w(6);
    RowSink sink(w.n, w.grid.group_size());
    GatedSource source(w.units);
    BalancerOptions o = test_options();
    o.on_source_unit_done = [&](const WorkUnit&) { source.unit_done(); };
    std::vector<BalancedDevice> devices;
    devices.push_back(BalancedDevice::cpu(1));
    if (with_batch_device) devices.push_back(simulated("a", 20));
    const BalancerReport r = run_devices(w.grid, w.bank, source, sink, std::move(devices), o);
    EXPECT_EQ(r.combos_done, w.n);
    w.expect_all_rows_once(sink);
  }
}

TEST(Balancer, StopFlagEndsAfterTheChunksInFlight) {
  Workload w(12);
  RowSink sink(w.n, w.grid.group_size());
  UnitListSource source(w.units);
  std::atomic<bool> stop{false};
  BalancerOptions o = test_options();
  o.stop = &stop;
  o.progress_interval_s = 1e-9;
  o.on_progress = [&](const SweepProgress& p) {
    if (p.combos_done > 0) stop = true;
  };
  std::vector<BalancedDevice> devices;
  devices.push_back(simulated("a", 100));
  devices.push_back(simulated("b", 100));
  const BalancerReport r = run_devices(w.grid, w.bank, source, sink, std::move(devices), o);
  EXPECT_TRUE(r.stopped);
  EXPECT_LT(r.combos_done, w.n);
  // What was written, what the balancer holds back as undone and what was never taken from the
  // source cover every id exactly once.
  std::vector<int> seen(w.n, 0);
  for (ComboId id = 0; id < w.n; ++id) seen[id] = sink.writes[id];
  for (const WorkUnit& u : r.undone)
    for (ComboId id = u.begin; id < u.end; ++id) ++seen[id];
  for (std::size_t k = r.source_units; k < w.units.size(); ++k)
    for (ComboId id = w.units[k].begin; id < w.units[k].end; ++id) ++seen[id];
  for (ComboId id = 0; id < w.n; ++id) ASSERT_EQ(seen[id], 1) << id;
}

TEST(Balancer, AccountingAttributesNameEveryDevice) {
  BalancerReport r;
  DeviceReport a;
  a.name = "cpu";
  a.units = 3;
  a.combos = 300;
  a.busy_s = 1.5;
  DeviceReport b;
  b.name = "cuda:0";
  b.failed = true;
  b.error = "lost";
  r.devices = {a, b};
  r.combos_done = 300;
  const auto attrs = device_attributes(r);
  auto value = [&](const std::string& k) {
    for (const auto& [key, v] : attrs)
      if (key == k) return v;
    return std::string("<missing>");
  };
  EXPECT_EQ(value("devices_used"), "cpu,cuda:0");
  EXPECT_EQ(value("device.cpu.units"), "3");
  EXPECT_EQ(value("device.cpu.combinations"), "300");
  EXPECT_EQ(value("device.cpu.busy_seconds"), "1.5");
  EXPECT_EQ(value("device.cuda:0.error"), "lost");
  const auto lines = device_summary_lines(r);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("300 combinations (100.0%)"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("FAILED: lost"), std::string::npos) << lines[1];
}

}  // namespace
}  // namespace threadx::gpu
