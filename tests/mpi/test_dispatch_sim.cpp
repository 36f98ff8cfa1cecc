// The dispatcher at cluster scale, simulated (mpi/dispatch_sim.hpp): the real Dispatcher driven by
// 1,000 virtual ranks of log-normal speeds with 1% 5x stragglers, message latency and rank 0's
// per-message and per-row costs, on reference_2p9m over the 49,632-bar workload.
#include <gtest/gtest.h>

#include <cstdio>

#include "grid/grid.hpp"
#include "mpi/dispatch_sim.hpp"
#include "support/paths.hpp"

namespace threadx::dist {
namespace {

TEST(DispatchSimulation, ThousandRanksFinishWithinFivePercentOfIdeal) {
  const Grid g = parse_grid_file(testing::repo_path("data/grids/reference_2p9m.toml"));
  SimOptions o;
  o.ranks = 1000;
  const SimResult r = simulate_dispatch(g, o);
  const double ratio = r.makespan_s / r.ideal_s;
  std::printf(
      "1,000 ranks: makespan %.4f s, ideal %.4f s, x%.4f; rank 0 %.0f msgs/s, "
      "affinity %.1f%%, idle %.1f%%, %llu units\n",
      r.makespan_s, r.ideal_s, ratio, static_cast<double>(r.messages) / r.makespan_s,
      100 * r.affinity, 100 * r.idle_fraction, static_cast<unsigned long long>(r.units));
  EXPECT_GE(ratio, 1.0);  // nothing beats the ideal: a sanity check of the simulation itself
  EXPECT_LE(ratio, 1.05);
  EXPECT_LT(r.idle_fraction, 0.06);
}

TEST(DispatchSimulation, EqualRanksWithoutLatencyAreNearlyIdeal) {
  const Grid g = parse_grid_file(testing::repo_path("data/grids/reference_2p9m.toml"));
  SimOptions o;
  o.ranks = 16;
  o.speed_sigma = 1e-9;
  o.straggler_fraction = 0;
  o.latency_s = 0;
  o.rank0_message_s = 0;
  o.rank0_row_s = 0;
  const SimResult r = simulate_dispatch(g, o);
  EXPECT_GE(r.makespan_s / r.ideal_s, 1.0);
  EXPECT_LE(r.makespan_s / r.ideal_s, 1.01);
}

TEST(DispatchSimulation, TheDesignBeforeWasSlower) {
  // Rank 0 storing rows on its dispatching thread: the writer delays grants.
  const Grid g = parse_grid_file(testing::repo_path("data/grids/reference_2p9m.toml"));
  SimOptions o;
  o.ranks = 1000;
  const double with_thread = simulate_dispatch(g, o).makespan_s;
  o.writer_thread = false;
  const double inline_writer = simulate_dispatch(g, o).makespan_s;
  EXPECT_LT(with_thread, inline_writer);
  // The writer at its cost measured before the ranks packed their own rows (150 ns/row): rank 0's
  // writer thread, not the dispatcher, set the pace at 1,000 ranks.
  o.writer_thread = true;
  o.rank0_row_s = 150e-9;
  const SimResult slow_writer = simulate_dispatch(g, o);
  std::printf("1,000 ranks with a 150 ns/row writer: x%.4f of ideal (80 ns/row: x%.4f)\n",
              slow_writer.makespan_s / slow_writer.ideal_s, with_thread / slow_writer.ideal_s);
  EXPECT_GT(slow_writer.makespan_s, 1.3 * with_thread);
}

// Issue 19, item 3: with the ranks storing their own rows (rank 0 only sets /done flags, from the
// reports that ride on the ranks' requests), the 100x grid keeps scaling at 10,000 ranks, where
// rank 0's single writer holds it at 8x the ideal. Units are whole chunks, so the chunks shrink
// to 64 rows at that scale, and rows stored in such small chunks take 1.72x the bytes: the file
// system sets the pace (1.29x the ideal, short of issue 19's 1.10x: see the README). Stored
// uncompressed (133 bytes a row) the same rows take longer to write than to compute.
TEST(DispatchSimulation, RanksStoringTheirRowsScaleToTenThousandRanks) {
  const Grid g = parse_grid_file(testing::repo_path("data/grids/sim_290m.toml"));
  SimOptions o;
  o.ranks = 10000;
  const SimResult rank0 = simulate_dispatch(g, o);
  o.write_path = SimOptions::WritePath::Ranks;
  const SimResult r = simulate_dispatch(g, o);
  const double ratio = r.makespan_s / r.ideal_s;
  std::printf(
      "sim_290m, 10,000 ranks storing their rows: x%.4f of ideal (x%.4f with rank 0 storing "
      "them), chunks of %llu rows, %.1f bytes/row, rank 0 busy %.1f%%, file system busy %.1f%%\n",
      ratio, rank0.makespan_s / rank0.ideal_s, static_cast<unsigned long long>(r.chunk_rows),
      r.row_bytes, 100 * r.rank0_busy_s / r.makespan_s, 100 * r.fs_busy_s / r.makespan_s);
  EXPECT_EQ(r.chunk_rows, 64u);
  EXPECT_EQ(g.group_size() % r.chunk_rows, 0u);
  EXPECT_DOUBLE_EQ(r.row_bytes, o.row_bytes * 1.72);
  EXPECT_GE(ratio, 1.0);
  EXPECT_LE(ratio, 1.35);
  EXPECT_LT(r.makespan_s, 0.2 * rank0.makespan_s);
  // The file system's time is the bytes over its bandwidth, and bounds the makespan from below.
  const double bytes = static_cast<double>(g.size()) * r.row_bytes;
  EXPECT_NEAR(r.fs_busy_s, bytes / o.fs_bandwidth, 1e-6 * r.fs_busy_s);
  EXPECT_GE(r.makespan_s, r.fs_busy_s);
  o.row_bytes = 133;
  o.compressed = false;
  const SimResult raw = simulate_dispatch(g, o);
  EXPECT_DOUBLE_EQ(raw.row_bytes, 133);
  EXPECT_GE(raw.makespan_s, static_cast<double>(g.size()) * 133 / o.fs_bandwidth);
  EXPECT_GT(raw.makespan_s, 3 * r.makespan_s);
}

// The design study of the next ranks path (SimOptions::WritePath::Streams): each rank appends its
// rows in chunks of its own rows, so units may be of any size and chunks stay large. It meets
// issue 19's target at 10,000 ranks, where units of whole chunks (the path built) give 1.29x. A
// rank holds back up to a chunk until it is full: with chunks fixed at 16,384 rows (more than half
// of a rank's 29,000 ids) half the rows reach the file system at the end, which is why the chunk
// shrinks with the share of a thread and a rank writes what it holds near the end.
TEST(DispatchSimulation, RanksAppendingStreamsMeetTheTargetAtTenThousandRanks) {
  const Grid g = parse_grid_file(testing::repo_path("data/grids/sim_290m.toml"));
  SimOptions o;
  o.ranks = 10000;
  o.write_path = SimOptions::WritePath::Streams;
  const SimResult r = simulate_dispatch(g, o);
  const double ratio = r.makespan_s / r.ideal_s;
  o.stream_chunk_rows = 16384;
  const SimResult fixed = simulate_dispatch(g, o);
  std::printf(
      "sim_290m, 10,000 ranks appending streams: x%.4f of ideal in chunks of %llu rows (%.1f "
      "bytes/row, file system busy %.1f%%); x%.4f in chunks of 16,384\n",
      ratio, static_cast<unsigned long long>(r.chunk_rows), r.row_bytes,
      100 * r.fs_busy_s / r.makespan_s, fixed.makespan_s / fixed.ideal_s);
  EXPECT_EQ(r.chunk_rows, stream_chunk_rows(g.size(), 10000));
  EXPECT_EQ(r.chunk_rows, 3584u);  // 290,304,000 / 80,000 = 3,628, in multiples of 64
  EXPECT_DOUBLE_EQ(r.row_bytes, o.row_bytes * chunk_bytes_factor(3584));
  EXPECT_GE(ratio, 1.0);
  EXPECT_LE(ratio, 1.10);
  EXPECT_GT(fixed.makespan_s / fixed.ideal_s, 1.2);
  // Every row is written once: full chunks at r.row_bytes, partial ones at up to 1.72x 14 bytes.
  const double rows = static_cast<double>(g.size());
  EXPECT_GE(r.fs_busy_s, rows * r.row_bytes / o.fs_bandwidth * 0.999);
  EXPECT_LE(r.fs_busy_s, rows * o.row_bytes * 1.72 / o.fs_bandwidth);
  EXPECT_GE(r.makespan_s, r.fs_busy_s);
}

TEST(DispatchSimulation, StreamChunksAreAnEighthOfAThreadsShare) {
  EXPECT_EQ(stream_chunk_rows(290304000, 10000), 3584u);
  EXPECT_EQ(stream_chunk_rows(290304000, 100), 16384u);  // at most 16,384
  EXPECT_EQ(stream_chunk_rows(2903040, 10000), 1024u);   // at least 1,024
  EXPECT_EQ(stream_chunk_rows(2903040, 0), 16384u);
  EXPECT_EQ(stream_chunk_rows(290304000, 3000) % 64, 0u);
}

// The size of a row stored in smaller chunks: the measured points, and in between, in order.
TEST(DispatchSimulation, SmallerChunksStoreLargerRows) {
  EXPECT_DOUBLE_EQ(chunk_bytes_factor(16384), 1.0);
  EXPECT_DOUBLE_EQ(chunk_bytes_factor(100000), 1.0);
  EXPECT_DOUBLE_EQ(chunk_bytes_factor(504), 1.24);
  EXPECT_DOUBLE_EQ(chunk_bytes_factor(1), 1.72);
  double last = 2;
  for (std::uint64_t rows = 64; rows <= 16384; rows *= 2) {
    const double f = chunk_bytes_factor(rows);
    EXPECT_LT(f, last) << rows;
    last = f;
  }
}

TEST(DispatchSimulation, RankZerosWriterIsTheLimitAtThreeThousandRanks) {
  const Grid g = parse_grid_file(testing::repo_path("data/grids/sim_290m.toml"));
  SimOptions o;
  o.ranks = 3000;
  const SimResult rank0 = simulate_dispatch(g, o);
  o.write_path = SimOptions::WritePath::Ranks;
  const SimResult ranks = simulate_dispatch(g, o);
  std::printf(
      "sim_290m, 3,000 ranks: x%.4f of ideal with rank 0 storing rows, x%.4f with the "
      "ranks storing them\n",
      rank0.makespan_s / rank0.ideal_s, ranks.makespan_s / ranks.ideal_s);
  // 290M rows x 80 ns on one thread is 23 s, against 9.3 s of ideal.
  EXPECT_GE(rank0.makespan_s, static_cast<double>(g.size()) * o.rank0_row_s);
  EXPECT_LE(ranks.makespan_s / ranks.ideal_s, 1.05);
}

}  // namespace
}  // namespace threadx::dist
