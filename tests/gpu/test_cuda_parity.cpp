// CPU vs CUDA on real bars. Runs where a CUDA device is visible and is reported as skipped
// otherwise (no GPU was available where this was written: these tests have never run).
//
// Tolerance: none -- rows must be bit-identical. The kernel's thread body steps the strategy's
// run_bars over the combination's candidate bars, which gives the CPU's reference path's
// (run_one's) bits; the indicator series are the host's, copied; the kernel
// uses only IEEE-754 double +, -, *, / and sqrt, which CUDA rounds correctly by default
// (-prec-div and -prec-sqrt are on, denormals are kept for doubles), and FMA contraction is off
// on both sides (--fmad=false, -ffp-contract=off). A mismatch therefore means a real
// difference, and the test prints the largest relative difference per metric to diagnose it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "gpu/balancer.hpp"
#include "gpu/device.hpp"
#include "gpu_test_support.hpp"

namespace threadx::gpu {
namespace {

using gpu_testing::same_bits;

#define SKIP_WITHOUT_GPU()                                                           \
  const CudaProbe probe = probe_cuda();                                              \
  if (probe.devices.empty())                                                         \
  GTEST_SKIP() << "no CUDA device visible ("                                         \
               << (probe.compiled ? probe.error : std::string("built without CUDA")) \
               << "): CPU vs CUDA parity NOT run"

void expect_rows_equal(const std::vector<Metrics>& gpu, const std::vector<Metrics>& cpu,
                       ComboId first) {
  ASSERT_EQ(gpu.size(), cpu.size());
  std::size_t differ = 0;
  double worst[kMetrics.size()] = {};
  for (std::size_t k = 0; k < cpu.size(); ++k) {
    if (same_bits(gpu[k], cpu[k])) continue;
    ++differ;
    for (std::size_t m = 0; m < kMetrics.size(); ++m) {
      const double a = metric_value(gpu[k], m), b = metric_value(cpu[k], m);
      if (a == b || (std::isnan(a) && std::isnan(b))) continue;
      worst[m] = std::max(worst[m], std::fabs(a - b) / std::max(1e-300, std::fabs(b)));
    }
  }
  if (differ > 0) {
    ADD_FAILURE() << differ << " of " << cpu.size() << " rows differ from the CPU (ids from "
                  << first << ")";
    for (std::size_t m = 0; m < kMetrics.size(); ++m)
      if (worst[m] > 0)
        std::printf("  %s: max relative difference %.3g\n", kMetrics[m].name.data(), worst[m]);
  }
}

TEST(CudaParity, KernelRowsEqualTheCpuOnRealBars) {
  SKIP_WITHOUT_GPU();
  for (const char* data : {"960", "49632"}) {
    const BarSeries bars =
        load_bars({std::string(data) == "960" ? testing::btc_960() : testing::btc_49632()});
    IndicatorBank bank(bars);
    for (const Grid& g :
         {gpu_testing::grid_2p9m(), gpu_testing::mixed_grid(), gpu_testing::ma_cross_grid()}) {
      const ComboId gs = g.group_size(), last = g.group_count() - 1;
      // Several groups in one launch, mid-group starts, the trend filter on and off.
      const std::vector<WorkUnit> pieces{{0, gs, 0},
                                         {(last / 2) * gs + 3, (last / 2 + 1) * gs, last / 2},
                                         {last * gs, (last + 1) * gs, last}};
      std::uint64_t n = 0;
      for (const WorkUnit& p : pieces) n += p.size();
      std::vector<Metrics> gpu(n), cpu(n);
      make_cuda_runner(0, *g.strategy)->run({g, bank}, pieces, gpu.data(), {});
      std::size_t at = 0;
      for (const WorkUnit& p : pieces) {
        run_unit_cpu({g, bank}, p, cpu.data() + at, Isa::Scalar);
        at += p.size();
      }
      expect_rows_equal(gpu, cpu, pieces[0].begin);

      // --blocks 16: the kernel's per-block cells equal the CPU's bit for bit.
      constexpr int kS = 16;
      const std::vector<std::int64_t> starts =
          block_start_bars(static_cast<std::int64_t>(bars.size()), kS);
      std::vector<BlockStats> gpu_blocks(n * kS), cpu_blocks(n * kS);
      make_cuda_runner(0, *g.strategy)
          ->run({g, bank}, pieces, gpu.data(), {kS, starts.data(), gpu_blocks.data()});
      at = 0;
      for (const WorkUnit& p : pieces) {
        run_unit_cpu({g, bank}, p, cpu.data() + at, Isa::Scalar,
                     BlockOutput{kS, starts.data(), cpu_blocks.data()}.at(at));
        at += p.size();
      }
      expect_rows_equal(gpu, cpu, pieces[0].begin);
      std::size_t differ = 0;
      for (std::size_t c = 0; c < cpu_blocks.size(); ++c)
        if (!same_bits(gpu_blocks[c], cpu_blocks[c])) ++differ;
      EXPECT_EQ(differ, 0u) << "of " << cpu_blocks.size() << " block cells differ from the CPU";
    }
  }
}

// One runner, successive batches of growing then shrinking size (buffers grown, then reused),
// the largest cut into several slices on both streams (8 waves and more), with --blocks 4: rows
// and block cells equal the CPU's.
TEST(CudaParity, SlicedBatchesOnOneRunnerEqualTheCpu) {
  SKIP_WITHOUT_GPU();
  const BarSeries bars = load_bars({testing::btc_960()});
  IndicatorBank bank(bars);
  const Grid g = gpu_testing::grid_2p9m();
  CudaRunnerInfo info;
  const std::unique_ptr<UnitRunner> runner = make_cuda_runner(0, *g.strategy, &info);
  ASSERT_GT(info.wave, 0u);
  constexpr int kS = 4;
  const std::vector<std::int64_t> starts =
      block_start_bars(static_cast<std::int64_t>(bars.size()), kS);
  const ComboId gs = g.group_size();
  ComboId begin = 0;
  for (const std::uint64_t want : {std::uint64_t{1000}, 9 * info.wave + 77, std::uint64_t{300}}) {
    std::vector<WorkUnit> pieces;  // whole or cut key groups, from `begin`
    for (ComboId id = begin; id < begin + want;) {
      const ComboId end = std::min(begin + want, (id / gs + 1) * gs);
      pieces.push_back({id, end, id / gs});
      id = end;
    }
    std::vector<Metrics> gpu(want), cpu(want);
    std::vector<BlockStats> gpu_blocks(want * kS), cpu_blocks(want * kS);
    runner->run({g, bank}, pieces, gpu.data(), {kS, starts.data(), gpu_blocks.data()});
    std::size_t at = 0;
    for (const WorkUnit& p : pieces) {
      run_unit_cpu({g, bank}, p, cpu.data() + at, Isa::Scalar,
                   BlockOutput{kS, starts.data(), cpu_blocks.data()}.at(at));
      at += p.size();
    }
    expect_rows_equal(gpu, cpu, begin);
    std::size_t differ = 0;
    for (std::size_t c = 0; c < cpu_blocks.size(); ++c)
      if (!same_bits(gpu_blocks[c], cpu_blocks[c])) ++differ;
    EXPECT_EQ(differ, 0u) << "of " << cpu_blocks.size() << " block cells differ (batch of " << want
                          << ")";
    begin += want;
  }
}

// The balancer with the CPU and every visible GPU: the one-device rows, work on every device.
TEST(CudaParity, BalancedSweepOverCpuAndGpusEqualsOneDevice) {
  SKIP_WITHOUT_GPU();
  const BarSeries bars = load_bars({testing::btc_960()});
  IndicatorBank bank(bars);
  const Grid g = gpu_testing::grid_2p9m();
  std::vector<WorkUnit> units = plan_units(g, 4096);
  units.resize(std::min<std::size_t>(units.size(), 200));
  const ComboId n = units.back().end;
  const std::vector<Metrics> want = gpu_testing::reference_rows(g, bank, units, n);
  gpu_testing::RowSink sink(n, g.group_size());
  UnitListSource source(units);
  const BalancerReport r = run_devices({g, bank}, source, sink,
                                       make_balanced_devices({}, 0, best_isa(), *g.strategy), {});
  for (const std::string& line : device_summary_lines(r)) std::printf("  %s\n", line.c_str());
  std::vector<Metrics> got(sink.rows.begin(), sink.rows.begin() + static_cast<std::ptrdiff_t>(n));
  for (ComboId id = 0; id < n; ++id) ASSERT_EQ(sink.writes[id], 1) << id;
  expect_rows_equal(got, want, 0);
  for (const DeviceReport& d : r.devices) EXPECT_FALSE(d.failed) << d.name << ": " << d.error;
}

}  // namespace
}  // namespace threadx::gpu
