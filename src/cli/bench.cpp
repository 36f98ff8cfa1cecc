// `threadx bench`: the engine's speed on real data, nothing written. Backtests the first --first
// combinations of a grid (all by default) on all threads and prints combinations/s and
// bar-steps/s (one bar of one combination = one bar-step).
#include <algorithm>
#include <iostream>
#include <thread>

#include <sys/resource.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "data/loader.hpp"
#include "engine/cpu_sweep.hpp"
#include "engine/plan.hpp"
#include "grid/grid.hpp"
#include "indicators/indicator_bank.hpp"

namespace threadx {
namespace {

class DiscardSink final : public ResultSink {
 public:
  void write(const WorkUnit&, const RowsView& rows) override {
    // Touch the rows so the work cannot be optimised away.
    for (const Metrics& m : rows.metrics) checksum += m.final_equity;
    for (const BlockStats& b : rows.blocks) checksum += b.sum_r;
  }
  void flush() override {}
  double checksum = 0;
};

}  // namespace

int run_bench(const BenchOptions& o) {
  if (o.unit_size == 0) throw InputError("--unit-size: must be >= 1");
  if (o.repeat == 0) throw InputError("--repeat: must be >= 1");
  const Grid grid = parse_grid_file(o.grid);
  const BarSeries bars = load_bars(o.data);
  if (const std::string why = block_count_problem(o.blocks, static_cast<std::int64_t>(bars.size()));
      !why.empty())
    throw InputError("--blocks: " + why);
  const ComboId n = o.first == 0 ? grid.size() : std::min<ComboId>(o.first, grid.size());
  std::vector<WorkUnit> units;
  for (const WorkUnit& u : plan_units(grid, o.unit_size)) {
    if (u.begin >= n) break;
    units.push_back({u.begin, std::min(u.end, n), u.group});
  }
  const unsigned threads =
      o.threads != 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  CpuSweepOptions cpu;
  cpu.threads = threads;
  cpu.isa = parse_isa(o.isa);
  cpu.run.blocks = o.blocks;
  double best = 1e300;
  IndicatorBank::Stats series{};
  for (unsigned r = 0; r < o.repeat; ++r) {
    IndicatorBank bank(bars);  // fresh each time: indicator building is part of the cost
    DiscardSink sink;
    const CpuSweepReport rep = run_cpu_sweep(SweepContext(grid, bank), units, sink, cpu);
    best = std::min(best, rep.wall_s);
    series = bank.stats();
  }
  const double combos_s = static_cast<double>(n) / best;
  const double steps_s = combos_s * static_cast<double>(bars.size());
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::cout << fmt::format(
      "{:<27} {:>9} combos x {:>6} bars {:>7.3f} s {:>9.0f} combos/s {:>9.3e} bar-steps/s "
      "({:.3e}/core) peak RSS {} MB, {} series ({}) ({} threads, {}{}, "
      "best of {})\n",
      o.label.empty() ? o.grid : o.label, n, bars.size(), best, combos_s, steps_s,
      steps_s / threads, usage.ru_maxrss / 1024, series.built, series.by_kind(), threads,
      isa_label(cpu.isa), o.blocks > 0 ? fmt::format(", {} blocks", o.blocks) : std::string(),
      o.repeat);
  return 0;
}

}  // namespace threadx
