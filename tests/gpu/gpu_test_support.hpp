// Helpers shared by the gpu/ tests: real bars and grids, a sink that checks every id is
// written once, and the one-device reference rows (run_unit_cpu, scalar path).
#pragma once

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "data/loader.hpp"
#include "engine/cpu_backtest.hpp"
#include "engine/cpu_sweep.hpp"
#include "engine/plan.hpp"
#include "grid/grid.hpp"
#include "indicators/indicator_bank.hpp"
#include "support/grids.hpp"
#include "support/paths.hpp"
#include "support/same_bits.hpp"

namespace threadx::gpu_testing {

using testing::grid_2p9m;
using testing::ma_cross_grid;
using testing::mixed_grid;
using testing::same_bits;

// Rows of every id of `units` by the one-combination reference path on one CPU thread.
inline std::vector<Metrics> reference_rows(const Grid& g, IndicatorBank& bank,
                                           const std::vector<WorkUnit>& units, ComboId n) {
  std::vector<Metrics> rows(n);
  for (const WorkUnit& u : units) run_unit_cpu({g, bank}, u, rows.data() + u.begin, Isa::Scalar);
  return rows;
}

// Stores rows by id and counts writes per id. Written on the balancer's calling thread only.
class RowSink final : public ResultSink {
 public:
  RowSink(ComboId n, ComboId group) : rows(n), writes(n, 0), group_size(group) {}
  void write(const WorkUnit& u, const RowsView& r) override {
    EXPECT_EQ(r.size(), u.size());
    EXPECT_EQ(u.begin / group_size, (u.end - 1) / group_size) << "piece crosses a key group";
    const auto s = static_cast<std::size_t>(r.block_count);
    if (s > 0) blocks.resize(rows.size() * s);
    for (std::size_t k = 0; k < r.size(); ++k) {
      rows[u.begin + k] = r.metrics[k];
      std::copy_n(r.blocks.begin() + static_cast<std::ptrdiff_t>(k * s), s,
                  blocks.begin() + static_cast<std::ptrdiff_t>((u.begin + k) * s));
      ++writes[u.begin + k];
    }
    ++pieces;
    if (offering) ++(store.out(u.begin, u.size()).holds(r) ? in_place : copied);
  }
  void flush() override { ++flushes; }
  // From now on rows_for hands out this sink's own buffer (rows of block_count blocks), as a
  // rank's UnitAssembler does: devices write there in place, and write() counts whether the rows
  // it is given are that buffer (in_place) or another one (copied).
  void offer_storage(int block_count) {
    store.resize(rows.size(), block_count);
    offering = true;
  }
  std::optional<RowsOut> rows_for(const WorkUnit& u) override {
    if (!offering) return std::nullopt;
    return store.out(u.begin, u.size());
  }

  std::vector<Metrics> rows;
  std::vector<BlockStats> blocks;  // S per row, when the rows carry blocks
  std::vector<int> writes;
  ComboId group_size;
  int pieces = 0, flushes = 0;
  UnitRows store;
  bool offering = false;
  int in_place = 0, copied = 0;
};

}  // namespace threadx::gpu_testing
