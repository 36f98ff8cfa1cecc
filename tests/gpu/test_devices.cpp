// Device specs, their resolution against what is visible (no GPU: a warning and the CPU), the
// CUDA probe of this build, and the batch thread body -- the CUDA kernel's per-thread code --
// run by the host compiler against the CPU's reference path on real bars.
#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "gpu/batch_kernel.hpp"
#include "gpu/device.hpp"
#include "gpu/unit_runner.hpp"
#include "gpu_test_support.hpp"
#include "strategy/catalog.hpp"

namespace threadx::gpu {
namespace {

using gpu_testing::same_bits;

std::string input_error_of(const std::string& spec) {
  try {
    parse_device_list(spec);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(DeviceSpec, ParsesCpuAndCudaOrdinals) {
  EXPECT_EQ(Device::parse("cpu"), (Device{Device::Kind::Cpu, 0}));
  EXPECT_EQ(Device::parse("cuda"), (Device{Device::Kind::Cuda, 0}));
  EXPECT_EQ(Device::parse("cuda:3"), (Device{Device::Kind::Cuda, 3}));
  // A GPU named by its number must run; "cuda" asks for one if it can.
  EXPECT_TRUE(Device::parse("cuda:0").required);
  EXPECT_FALSE(Device::parse("cuda").required);
  EXPECT_NE(input_error_of("cuda,cuda:0").find("cuda:0 is listed twice"), std::string::npos);
  EXPECT_EQ(Device::parse("cuda:12").str(), "cuda:12");
  const std::vector<Device> list = parse_device_list("cpu,cuda:0,cuda:1");
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[2].str(), "cuda:1");
  EXPECT_TRUE(parse_device_list("auto").empty());
}

TEST(DeviceSpec, BadSpecsAreOneLineErrorsNamingTheSpec) {
  for (const std::string bad :
       {"gpu", "cuda:", "cuda:-1", "cuda:1x", "cpu:2", "CPU", "cuda:99999999999"}) {
    const std::string e = input_error_of(bad);
    EXPECT_NE(e.find("--devices '" + bad + "'"), std::string::npos) << bad << " -> " << e;
    EXPECT_EQ(e.find('\n'), std::string::npos);
  }
  EXPECT_NE(input_error_of("cpu,,cuda:0").find("empty item"), std::string::npos);
  EXPECT_NE(input_error_of("cpu,").find("empty item"), std::string::npos);
  EXPECT_NE(input_error_of("cuda:1,cpu,cuda:1").find("cuda:1 is listed twice"), std::string::npos);
}

CudaProbe fake_probe(int n) {
  CudaProbe p;
  p.compiled = true;
  p.driver_version = 13000;
  p.build.runtime_version = 13000;
  p.build.archs_text = "80,90";
  p.build.archs = *parse_cuda_architectures(p.build.archs_text);
  for (int i = 0; i < n; ++i) {
    CudaDeviceInfo d;
    d.index = i;
    d.name = "fake";
    d.memory_bytes = 1;
    d.multiprocessors = 1;
    d.cc_major = 8;
    p.devices.push_back(d);
  }
  if (n == 0) p.error = "cudaErrorInsufficientDriver";
  return p;
}

TEST(DeviceChoice, MissingGpusAreErrorsWhenNamedElseWarningsAndTheCpuRemains) {
  // "cuda" asks for a GPU if there is one: a warning, and the CPU runs.
  DeviceChoice c = resolve_devices(parse_device_list("cpu,cuda"), fake_probe(0));
  ASSERT_EQ(c.devices.size(), 1u);
  EXPECT_EQ(c.devices[0].str(), "cpu");
  EXPECT_TRUE(c.errors.empty());
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("cuda:0 is not available: no CUDA device is visible"),
            std::string::npos)
      << c.warnings[0];

  c = resolve_devices(parse_device_list("cuda"), fake_probe(0));  // GPU only, none there
  ASSERT_EQ(c.devices.size(), 1u);
  EXPECT_EQ(c.devices[0].str(), "cpu");
  EXPECT_EQ(c.warnings.size(), 2u);

  // A GPU named by its number that is not there: an error (a GPU job must not run CPU-only).
  c = resolve_devices(parse_device_list("cpu,cuda:0"), fake_probe(0));
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_NE(c.errors[0].find("cuda:0 is not available: no CUDA device is visible"),
            std::string::npos)
      << c.errors[0];
  c = resolve_devices(parse_device_list("cuda:1,cuda:2"), fake_probe(2));
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_NE(c.errors[0].find("cuda:2 is not available"), std::string::npos) << c.errors[0];

  c = resolve_devices({}, fake_probe(2));  // auto: the CPU and every visible device
  ASSERT_EQ(c.devices.size(), 3u);
  EXPECT_EQ(c.devices[2].str(), "cuda:1");
  EXPECT_TRUE(c.warnings.empty());
  EXPECT_TRUE(c.errors.empty());

  CudaProbe none;  // a build without CUDA
  c = resolve_devices(parse_device_list("cpu,cuda"), none);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("this build has no CUDA support"), std::string::npos);
  c = resolve_devices(parse_device_list("cpu,cuda:0"), none);
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_NE(c.errors[0].find("this build has no CUDA support"), std::string::npos);
}

TEST(CudaProbe, MatchesTheBuildAndNeverCrashesWithoutAGpu) {
  const CudaProbe p = probe_cuda();
#if defined(THREADX_WITH_CUDA)
  EXPECT_TRUE(p.compiled) << "configured with CUDA but the stub backend was linked";
#else
  EXPECT_FALSE(p.compiled);
#endif
  if (p.devices.empty()) {
    // No GPU: the listing says why, asking for one falls back to the CPU, and a runner cannot
    // be made (an error, not a crash).
    EXPECT_NE(describe_devices(p, 2).find("no CUDA device"), std::string::npos);
    const std::vector<BalancedDevice> d =
        make_balanced_devices(parse_device_list("cpu,cuda"), 2, best_isa(), default_strategy());
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].name, "cpu");
    EXPECT_EQ(d[0].cpu_threads, 2u);
    EXPECT_EQ(d[0].width, 2u * isa_lanes(best_isa()));  // the CPU's parallel width
    EXPECT_THROW(make_cuda_runner(0, default_strategy()), std::runtime_error);
    // A GPU named by its number whose runner cannot start stops the run.
    EXPECT_THROW(
        make_balanced_devices(parse_device_list("cpu,cuda:0"), 2, best_isa(), default_strategy()),
        std::runtime_error);
    // The kernel cannot be loaded either; that is a message, not a crash.
    EXPECT_FALSE(load_cuda_kernel(0, default_strategy()).error.empty());
    CudaProbe loaded = p;
    load_cuda_kernels(loaded, {}, strategy_catalog());
    EXPECT_TRUE(loaded.devices.empty());
  }
  for (const CudaDeviceInfo& d : p.devices) {
    EXPECT_FALSE(d.name.empty());
    EXPECT_GT(d.memory_bytes, 0u);
    EXPECT_GT(d.multiprocessors, 0);
  }
}

TEST(BatchKernel, PieceLookupFindsTheOwnerOfEveryThread) {
  const std::uint64_t ends[] = {3, 4, 10, 11};
  const std::uint32_t want[] = {0, 0, 0, 1, 2, 2, 2, 2, 2, 2, 3};
  for (std::uint64_t t = 0; t < 11; ++t) EXPECT_EQ(piece_of(ends, 4, t), want[t]) << t;
  EXPECT_EQ(piece_of(ends, 1, 2), 0u);
}

// The CUDA thread body on the host, for every strategy: pieces of several key groups in one
// batch, starting and ending mid-group, bb_atr's trend filter on and off, ma_cross's SMA and EMA
// lines; rows must equal the CPU reference path bit for bit.
TEST(BatchKernel, HostThreadsMatchTheCpuReferenceOnRealBars) {
  const BarSeries bars = load_bars({testing::btc_960()});
  IndicatorBank bank(bars);
  for (const Grid& g :
       {gpu_testing::grid_2p9m(), gpu_testing::mixed_grid(), gpu_testing::ma_cross_grid()}) {
    const ComboId gs = g.group_size();
    const ComboId last = g.group_count() - 1;
    const std::vector<WorkUnit> pieces{{5, gs, 0},
                                       {last * gs, last * gs + 7, last},
                                       {gs + 1, gs + 2, 1},
                                       {(last / 2) * gs, (last / 2 + 1) * gs, last / 2}};
    std::uint64_t n = 0;
    for (const WorkUnit& p : pieces) n += p.size();
    // With per-block statistics (S = 7) too: the batch's cells are the scalar path's.
    constexpr int kS = 7;
    const std::vector<std::int64_t> starts =
        block_start_bars(static_cast<std::int64_t>(bars.size()), kS);
    std::vector<Metrics> got(n);
    std::vector<BlockStats> got_blocks(n * kS);
    HostBatchRunner runner;
    runner.run(g, bank, pieces, got.data(), {kS, starts.data(), got_blocks.data()});
    std::size_t at = 0;
    for (const WorkUnit& p : pieces) {
      std::vector<Metrics> want(p.size());
      std::vector<BlockStats> want_blocks(p.size() * kS);
      run_unit_cpu(g, bank, p, want.data(), Isa::Scalar, {kS, starts.data(), want_blocks.data()});
      for (std::size_t k = 0; k < p.size(); ++k)
        ASSERT_TRUE(same_bits(got[at + k], want[k])) << "id " << p.begin + k;
      for (std::size_t c = 0; c < want_blocks.size(); ++c)
        ASSERT_TRUE(same_bits(got_blocks[at * kS + c], want_blocks[c]))
            << "id " << p.begin + c / kS << " block " << c % kS;
      at += p.size();
    }
  }
}

}  // namespace
}  // namespace threadx::gpu
