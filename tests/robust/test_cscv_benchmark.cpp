// Timing of CSCV at full scale, not run by default (no timing is asserted anywhere):
//   build/threadx_tests --gtest_also_run_disabled_tests --gtest_filter='DISABLED_RobustCscv*'
// 2,903,040 combinations (the reference grid's count) x S = 16 blocks (12,870 splits) over
// 300,000 distinct streams, rows fed in chunks of 100,000 as a reader of /blocks would.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

#include "robust/cscv.hpp"
#include "robust/streams.hpp"
#include "robust_support.hpp"

namespace threadx::robust {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CPU seconds of the whole process (every thread): on a shared machine the wall time alone says
// little.
double cpu_seconds() {
  return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
}

TEST(DISABLED_RobustCscvBenchmark, TwoPoint9MillionBy16Blocks) {
  constexpr std::int64_t kRows = 2903040, kDistinct = 300000, kChunk = 100000;
  constexpr int kBlocks = 16;
  const testing::OwnedMatrix templates = testing::random_matrix(kDistinct, kBlocks, kDistinct, 7);
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<std::int64_t> pick(0, kDistinct - 1);

  const auto t0 = std::chrono::steady_clock::now();
  double generate_s = 0;
  StreamSetBuilder builder(kBlocks, templates.n_b);
  testing::OwnedMatrix chunk;
  chunk.blocks = kBlocks;
  chunk.n_b = templates.n_b;
  for (std::int64_t first = 0; first < kRows; first += kChunk) {
    const auto g0 = std::chrono::steady_clock::now();
    const std::int64_t rows = std::min(kChunk, kRows - first);
    chunk.first_id = first;
    chunk.cells.clear();
    for (std::int64_t r = 0; r < rows; ++r) {
      // Every stream appears at least once (the first kDistinct ids), then at random.
      const std::int64_t s = first + r < kDistinct ? first + r : pick(rng);
      const auto row = templates.view().row(s);
      chunk.cells.insert(chunk.cells.end(), row.begin(), row.end());
    }
    generate_s += seconds_since(g0);
    builder.add(chunk.view());
  }
  const StreamSet streams = std::move(builder).finish();
  const double dedupe_s = seconds_since(t0) - generate_s;
  ASSERT_GT(streams.size(), 250000u);  // the never-trading templates are all one stream
  ASSERT_EQ(streams.rows(), kRows);

  const auto t1 = std::chrono::steady_clock::now();
  const double c1 = cpu_seconds();
  const CscvSelection selection = cscv_select(streams, 2);
  const double select_s = seconds_since(t1), select_cpu = cpu_seconds() - c1;
  const auto t2 = std::chrono::steady_clock::now();
  const double c2 = cpu_seconds();
  const CscvRanks ranks = cscv_rank(streams, selection, 2);
  const double rank_s = seconds_since(t2), rank_cpu = cpu_seconds() - c2;
  const CscvResult result = cscv_result(selection, ranks);
  std::printf(
      "CSCV %lld combinations (%zu distinct) x S = %d (%lld splits), 2 threads: dedupe %.2f s, "
      "pass 1 (select) %.2f s (%.2f CPU s), pass 2 (rank) %.2f s (%.2f CPU s), total %.2f s; "
      "pbo %.4f\n",
      static_cast<long long>(kRows), streams.size(), kBlocks, static_cast<long long>(result.splits),
      dedupe_s, select_s, select_cpu, rank_s, rank_cpu, dedupe_s + select_s + rank_s, result.pbo);
  EXPECT_EQ(result.candidates, kRows);
}

}  // namespace
}  // namespace threadx::robust
