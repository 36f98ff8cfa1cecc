// The balancer's sizing policy on hand-worked cases (gpu/batch_policy.hpp): no threads and no
// clock, so each case is exact, including the timing-dependent decisions that the balancer tests
// (test_balancer.cpp) can only watch on a real run.
#include <gtest/gtest.h>

#include <vector>

#include "gpu/batch_policy.hpp"

namespace threadx::gpu {
namespace {

DevicePace cpu(double rate_per_stream, unsigned streams, std::uint64_t last_batch) {
  DevicePace p;
  p.streams = streams;
  p.width = streams * 4;
  p.rate = rate_per_stream;
  p.samples = 3;
  p.last_batch = last_batch;
  return p;
}

DevicePace gpu(double rate, std::uint64_t wave) {
  DevicePace p;
  p.width = wave;
  p.wave = wave;
  p.rate = rate;
  p.samples = 3;
  p.last_batch = wave;
  return p;
}

TEST(BatchPolicy, FirstBatchFillsTheDeviceOnce) {
  const BatchSizing s;  // calibration_combos 256
  std::vector<DevicePace> d(3);
  d[0].width = 10000;  // a GPU's full wave
  d[1].width = 100;    // 4 streams of 25
  d[1].streams = 4;
  d[2].width = 4096;  // 2 streams of 2048
  d[2].streams = 2;
  const BatchPolicy p(s, d, false, 0);
  EXPECT_EQ(p.batch_size(0), 10000u);
  EXPECT_EQ(p.batch_size(1), 256u);
  EXPECT_EQ(p.batch_size(2), 2048u);
}

TEST(BatchPolicy, CalibratedBatchesLastTheTargetAndGrowAtMostEightfold) {
  BatchSizing s;  // target 0.5 s, growth 8
  std::vector<DevicePace> d{cpu(1e6, 1, 1000), cpu(1e6, 1, 100000), cpu(10, 1, 1)};
  const BatchPolicy p(s, d, false, 0);
  EXPECT_EQ(p.batch_size(0), 8000u);    // 500,000 capped at 8 x 1,000
  EXPECT_EQ(p.batch_size(1), 500000u);  // 0.5 s at 1e6/s
  EXPECT_EQ(p.batch_size(2), 32u);      // 5, raised to min_batch
  s.max_batch = 300000;
  EXPECT_EQ(BatchPolicy(s, d, false, 0).batch_size(1), 300000u);
}

TEST(BatchPolicy, WaveDevicesTakeWholeWavesWithoutTheGrowthCap) {
  const BatchSizing s;
  std::vector<DevicePace> d{gpu(41000, 2048)};
  // 0.5 s at 41,000/s is 20,500: 10 whole waves.
  EXPECT_EQ(BatchPolicy(s, d, false, 0).batch_size(0), 20480u);
  d[0].rate = 1000;  // 500 wanted: still one whole wave
  EXPECT_EQ(BatchPolicy(s, d, false, 0).batch_size(0), 2048u);
  d[0].max_combos = 500;  // memory for less than a wave: what it holds
  EXPECT_EQ(BatchPolicy(s, d, false, 0).batch_size(0), 500u);
  d[0].max_combos = 5000;  // memory for two waves and a half: two
  d[0].rate = 1e6;
  EXPECT_EQ(BatchPolicy(s, d, false, 0).batch_size(0), 4096u);
}

TEST(BatchPolicy, AtTheEndEachDeviceTakesAtMostHalfItsShareOfWhatIsLeft) {
  const BatchSizing s;
  // CPU: 2 streams of 150,000/s (300,000/s); a batch device at 100,000/s. 100,000 left.
  std::vector<DevicePace> d{cpu(150000, 2, 1 << 20), cpu(100000, 1, 1 << 20)};
  const BatchPolicy p(s, d, true, 100000);
  EXPECT_EQ(p.batch_size(0), 18750u);  // 100,000 x 3/4 / 2, per stream of 2
  EXPECT_EQ(p.batch_size(1), 12500u);  // 100,000 x 1/4 / 2
  // A dead device has no share.
  d[1].alive = false;
  EXPECT_EQ(BatchPolicy(s, d, true, 100000).batch_size(0), 25000u);
  // Before the source is exhausted, what is queued does not bound a batch.
  EXPECT_EQ(BatchPolicy(s, d, false, 100000).batch_size(0), 75000u);
}

// The case a loaded CI machine met: 2,033 combinations left, a one-thread CPU at 38,914/s and a
// GPU of 2,048-wide waves at 39,963/s. The CPU would need 52.2 ms, one wave takes 51.2 ms: the GPU
// takes the tail as one wave. At 4x the GPU's speed the CPU needs 12.7 ms and gets the tail.
TEST(BatchPolicy, AWaveDeviceLeavesTheTailOnlyToDevicesThatFinishItSooner) {
  const BatchSizing s;
  std::vector<DevicePace> d{cpu(38914, 1, 1 << 20), gpu(39963, 2048)};
  const BatchPolicy slow_cpu(s, d, true, 2033);
  EXPECT_FALSE(slow_cpu.leaves_tail(1));
  EXPECT_EQ(slow_cpu.batch_size(1), 2048u);  // one wave (the balancer fills it with the 2,033)
  d[0].rate = 4 * 39963.0;
  const BatchPolicy fast_cpu(s, d, true, 2033);
  EXPECT_TRUE(fast_cpu.leaves_tail(1));
  // The CPU's share is then all of it: half of 2,033.
  EXPECT_EQ(fast_cpu.batch_size(0), 1017u);
  // Never before the source is exhausted, nor without a measured CPU.
  EXPECT_FALSE(BatchPolicy(s, d, false, 2033).leaves_tail(1));
  d[0].samples = 0;
  EXPECT_FALSE(BatchPolicy(s, d, true, 2033).leaves_tail(1));
  // Calibrated, a device's batch at the end is at most half its share of what is left.
  d[0].samples = 3;
  d[0].rate = 38914;
  EXPECT_EQ(BatchPolicy(s, d, true, 5000).batch_size(1), 2048u);  // 1,267 wanted: one wave
  d[1].rate = 1e6;
  EXPECT_EQ(BatchPolicy(s, d, true, 50000).batch_size(1), 22528u);  // half its share, 11 waves
}

// At the end, a wave device takes no more whole waves than are left: a calibration batch (not
// yet bounded by a share of what is left) of 256 combinations would be two waves of 100, but only
// 150 are left, so one wave; the 50 after it go to whichever device finishes them first.
TEST(BatchPolicy, AtTheEndAWaveDeviceTakesOnlyTheWholeWavesLeft) {
  const BatchSizing s;  // calibration_combos 256
  std::vector<DevicePace> d{gpu(1e5, 100)};
  d[0].samples = 0;
  EXPECT_EQ(BatchPolicy(s, d, false, 150).batch_size(0), 200u);  // source not done: two waves
  EXPECT_EQ(BatchPolicy(s, d, true, 150).batch_size(0), 100u);
  EXPECT_EQ(BatchPolicy(s, d, true, 60).batch_size(0), 200u);  // less than a wave left: no cap
}

TEST(BatchPolicy, RoundAddsOneBatchPerStreamOfTheLiveDevices) {
  const BatchSizing s;
  std::vector<DevicePace> d{cpu(1e6, 2, 1000), gpu(41000, 2048)};
  EXPECT_EQ(BatchPolicy(s, d, false, 0).round(), 2 * 8000u + 20480u);
  d[1].alive = false;
  EXPECT_EQ(BatchPolicy(s, d, false, 0).round(), 2 * 8000u);
}

TEST(BatchPolicy, RatesAreARunningAverage) {
  DevicePace p;
  p.record(1000, 0.01, 0.3);  // first sample: 100,000/s as it is
  EXPECT_DOUBLE_EQ(p.rate, 100000.0);
  p.record(2000, 0.01, 0.3);  // 0.3 x 200,000 + 0.7 x 100,000
  EXPECT_DOUBLE_EQ(p.rate, 130000.0);
  EXPECT_EQ(p.samples, 2u);
  EXPECT_EQ(p.last_batch, 2000u);
  p.streams = 3;
  EXPECT_DOUBLE_EQ(p.throughput(), 390000.0);
}

}  // namespace
}  // namespace threadx::gpu
