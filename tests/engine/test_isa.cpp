// The --isa vocabulary and the start-up choice of a lane path, on described CPUs (the host's own
// paths are run against the scalar path in test_engine.cpp and tests/cli/isa_paths.sh).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "engine/isa.hpp"

namespace threadx {
namespace {

// The message of the InputError parse_isa throws, or "" when it throws none.
std::string parse_error(const std::string& text, const CpuFeatures& cpu) {
  try {
    (void)parse_isa(text, cpu);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

CpuFeatures cpu_with(bool avx2, bool avx512) {
  CpuFeatures f;
  f.avx2 = avx2;
  f.avx512 = avx512;
  return f;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(Isa, NamesAndLanes) {
  EXPECT_EQ(isa_name(Isa::Scalar), "scalar");
  EXPECT_EQ(isa_name(Isa::Avx2), "avx2");
  EXPECT_EQ(isa_name(Isa::Avx512), "avx512");
  EXPECT_EQ(isa_lanes(Isa::Scalar), 1u);
  EXPECT_EQ(isa_lanes(Isa::Baseline), 2u);
  EXPECT_EQ(isa_lanes(Isa::Avx2), 4u);
  EXPECT_EQ(isa_lanes(Isa::Avx512), 8u);
  EXPECT_EQ(isa_label(Isa::Avx2), "avx2 (4 lanes)");
#if defined(__x86_64__)
  EXPECT_EQ(isa_name(Isa::Baseline), "sse2");
#endif
}

#if defined(__x86_64__)
TEST(Isa, AutoPicksTheWidestPathTheCpuRuns) {
  const CpuFeatures old{};  // an x86-64 CPU without AVX2: SSE2 only
  const CpuFeatures avx2 = cpu_with(true, false);
  const CpuFeatures avx512 = cpu_with(true, true);
  EXPECT_EQ(best_isa(old), Isa::Baseline);
  EXPECT_EQ(best_isa(avx2), Isa::Avx2);
  EXPECT_EQ(best_isa(avx512), Isa::Avx512);
  EXPECT_EQ(parse_isa("auto", avx2), Isa::Avx2);
  EXPECT_EQ(supported_isas(avx2), (std::vector<Isa>{Isa::Avx2, Isa::Baseline, Isa::Scalar}));
  EXPECT_EQ(supported_isas(avx512),
            (std::vector<Isa>{Isa::Avx512, Isa::Avx2, Isa::Baseline, Isa::Scalar}));
  EXPECT_EQ(parse_isa("scalar", old), Isa::Scalar);
  EXPECT_EQ(parse_isa("sse2", avx512), Isa::Baseline);
  EXPECT_EQ(parse_isa("avx2", avx512), Isa::Avx2);
}

TEST(Isa, APathTheCpuLacksIsAClearError) {
  const CpuFeatures avx2 = cpu_with(true, false);
  const std::string m = parse_error("avx512", avx2);
  EXPECT_TRUE(contains(m, "--isa avx512: this CPU (")) << m;
  EXPECT_TRUE(contains(m, "does not support AVX-512 F+DQ; it runs: auto, avx2, sse2, scalar")) << m;
  EXPECT_TRUE(contains(parse_error("avx2", CpuFeatures{}),
                       "does not support AVX2; it runs: auto, "
                       "sse2, scalar"));
  const std::string unknown = parse_error("neon", avx2);
  EXPECT_EQ(unknown, "--isa 'neon': expected auto, avx512, avx2, sse2 or scalar");
  EXPECT_EQ(parse_error("AVX2", avx2), "--isa 'AVX2': expected auto, avx512, avx2, sse2 or scalar");
}

TEST(Isa, ACapLimitsAutoAndNamedPaths) {
  CpuFeatures capped = cpu_with(true, true);
  capped.cap = Isa::Avx2;
  capped.cap_source = "THREADX_MAX_ISA=avx2";
  EXPECT_EQ(best_isa(capped), Isa::Avx2);
  EXPECT_FALSE(isa_supported(Isa::Avx512, capped));
  EXPECT_EQ(parse_error("avx512", capped),
            "--isa avx512: THREADX_MAX_ISA=avx2 caps this process at avx2; it runs: auto, avx2, "
            "sse2, scalar");
  capped.cap = Isa::Scalar;
  EXPECT_EQ(best_isa(capped), Isa::Scalar);
  EXPECT_EQ(supported_isas(capped), std::vector<Isa>{Isa::Scalar});
}
#endif

// The host: auto is the first supported path, and scalar and the baseline always run.
TEST(Isa, HostRunsScalarAndBaseline) {
  const std::vector<Isa> host = supported_isas();
  ASSERT_GE(host.size(), 2u);
  EXPECT_EQ(host.front(), best_isa());
  EXPECT_EQ(host.back(), Isa::Scalar);
  EXPECT_TRUE(isa_supported(Isa::Baseline) || host_cpu().cap == Isa::Scalar);
}

}  // namespace
}  // namespace threadx
