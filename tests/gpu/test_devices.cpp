// Device specs, their resolution against what is visible (no GPU: a warning and the CPU), the
// CUDA probe of this build, and the batch thread body -- the CUDA kernel's per-thread code --
// run by the host compiler against the CPU's reference path on real bars.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <utility>

#include "common/error.hpp"
#include "gpu/batch_kernel.hpp"
#include "gpu/device.hpp"
#include "gpu/host_batch.hpp"
#include "gpu/unit_runner.hpp"
#include "gpu_test_support.hpp"
#include "strategies/bb_atr/policy.hpp"
#include "strategies/ma_cross/policy.hpp"
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

// A batch's candidate lists: one per key group and candidate key (two pieces of one group share
// them), each the bars from the warm-up on at which P::candidate holds, and each combination
// pointing at its own. On 49,632 bars the threads step a fraction of the bars; the share of
// 32-thread warps whose threads all read one list is printed.
template <class P>
void check_candidate_lists(const Grid& g, IndicatorBank& bank, std::vector<WorkUnit> pieces) {
  const HostBatch<P> b = make_batch<P>({g, bank}, pieces);
  std::set<std::pair<ComboId, double>> keys;
  std::size_t t = 0;
  for (const WorkUnit& p : pieces)
    for (ComboId id = p.begin; id < p.end; ++id, ++t)
      keys.insert({p.group, P::candidate_key(P::decode(g.values_of(id)))});
  ASSERT_EQ(b.list_end.size(), keys.size());
  t = 0;
  std::uint64_t stepped = 0;
  for (std::size_t k = 0; k < pieces.size(); ++k) {
    const typename P::Series& view = b.views[k];
    for (ComboId id = pieces[k].begin; id < pieces[k].end; ++id, ++t) {
      const std::uint32_t l = b.list_of[t];
      ASSERT_LT(l, b.list_end.size());
      const auto* first = b.cand.data() + (l == 0 ? 0 : b.list_end[l - 1]);
      const auto* last = b.cand.data() + b.list_end[l];
      std::vector<std::int32_t> want;
      const double key = P::candidate_key(P::decode(g.values_of(id)));
      for (std::int64_t i = view.warmup; i < view.n_bars; ++i)
        if (P::candidate(view, i, key)) want.push_back(static_cast<std::int32_t>(i));
      ASSERT_TRUE(std::equal(first, last, want.begin(), want.end())) << "id " << id;
      stepped += static_cast<std::uint64_t>(last - first);
    }
  }
  std::size_t warps = 0, uniform = 0;
  for (std::size_t w = 0; w + 32 <= b.list_of.size(); w += 32, ++warps)
    if (std::all_of(b.list_of.begin() + static_cast<std::ptrdiff_t>(w),
                    b.list_of.begin() + static_cast<std::ptrdiff_t>(w + 32),
                    [&](std::uint32_t l) { return l == b.list_of[w]; }))
      ++uniform;
  std::printf(
      "  %s: %zu lists for %zu combinations; candidate bars %.1f%% of all bars; %zu of %zu "
      "warps read one list\n",
      P::spec().name.data(), b.list_end.size(), b.list_of.size(),
      100.0 * static_cast<double>(stepped) /
          (static_cast<double>(b.list_of.size()) * static_cast<double>(bank.n_bars())),
      uniform, warps);
}

// A runner's candidate cache gives the batches it builds the lists they would have without it,
// batch after batch, and when it drops everything at its budget.
TEST(BatchKernel, CandidateCacheGivesTheSameBatches) {
  const BarSeries bars = load_bars({testing::btc_49632()});
  IndicatorBank bank(bars);
  const Grid g = gpu_testing::grid_2p9m();
  const ComboId gs = g.group_size();
  for (const std::size_t budget : {std::size_t{64} << 20, std::size_t{1000}}) {
    CandidateCache<bb_atr::Policy> cache(budget);
    for (const std::vector<WorkUnit>& pieces :
         {std::vector<WorkUnit>{{0, 700, 0}}, std::vector<WorkUnit>{{700, gs, 0}, {gs, gs + 9, 1}},
          std::vector<WorkUnit>{{5, 17, 0}, {gs + 3, 2 * gs, 1}}}) {
      const HostBatch<bb_atr::Policy> plain = make_batch<bb_atr::Policy>({g, bank}, pieces);
      const HostBatch<bb_atr::Policy> cached =
          make_batch<bb_atr::Policy>({g, bank}, pieces, &cache);
      EXPECT_EQ(cached.cand, plain.cand);
      EXPECT_EQ(cached.list_end, plain.list_end);
      EXPECT_EQ(cached.list_of, plain.list_of);
      EXPECT_EQ(cached.piece_end, plain.piece_end);
      EXPECT_FALSE(plain.cand.empty());
    }
  }
}

TEST(BatchKernel, CandidateListsOnePerGroupAndKeyOnRealBars) {
  const BarSeries bars = load_bars({testing::btc_49632()});
  IndicatorBank bank(bars);
  const Grid bb = gpu_testing::grid_2p9m();
  const ComboId gs = bb.group_size();
  check_candidate_lists<bb_atr::Policy>(bb, bank,
                                        {{0, gs / 2, 0}, {gs * 7, gs * 8, 7}, {gs / 2, gs, 0}});
  const Grid ma = gpu_testing::ma_cross_grid();
  const ComboId ms = ma.group_size();
  check_candidate_lists<ma_cross::Policy>(ma, bank, {{0, ms, 0}, {ms * 5 + 3, ms * 6, 5}});
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
    runner.run({g, bank}, pieces, got.data(), {kS, starts.data(), got_blocks.data()});
    std::size_t at = 0;
    for (const WorkUnit& p : pieces) {
      std::vector<Metrics> want(p.size());
      std::vector<BlockStats> want_blocks(p.size() * kS);
      run_unit_cpu({g, bank}, p, want.data(), Isa::Scalar, {kS, starts.data(), want_blocks.data()});
      for (std::size_t k = 0; k < p.size(); ++k)
        ASSERT_TRUE(same_bits(got[at + k], want[k])) << "id " << p.begin + k;
      for (std::size_t c = 0; c < want_blocks.size(); ++c)
        ASSERT_TRUE(same_bits(got_blocks[at * kS + c], want_blocks[c]))
            << "id " << p.begin + c / kS << " block " << c % kS;
      at += p.size();
    }
  }
}

// The same on 49,632 bars, where a flat thread skips most bars: a few pieces per strategy.
TEST(BatchKernel, HostThreadsMatchTheCpuReferenceOn49632Bars) {
  const BarSeries bars = load_bars({testing::btc_49632()});
  IndicatorBank bank(bars);
  for (const Grid& g : {gpu_testing::grid_2p9m(), gpu_testing::ma_cross_grid()}) {
    const ComboId gs = g.group_size(), last = g.group_count() - 1;
    const std::vector<WorkUnit> pieces{{0, 40, 0}, {last * gs + 3, last * gs + 50, last}};
    std::vector<Metrics> got(87);
    HostBatchRunner().run({g, bank}, pieces, got.data(), {});
    std::size_t at = 0;
    for (const WorkUnit& p : pieces) {
      std::vector<Metrics> want(p.size());
      run_unit_cpu({g, bank}, p, want.data(), Isa::Scalar);
      for (std::size_t k = 0; k < p.size(); ++k)
        ASSERT_TRUE(same_bits(got[at + k], want[k])) << g.strategy->name << " id " << p.begin + k;
      at += p.size();
    }
  }
}

}  // namespace
}  // namespace threadx::gpu
