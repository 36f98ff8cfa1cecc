// `threadx simulate`: the real dispatcher driven by thousands of virtual ranks (mpi/dispatch_sim).
#include <cstdio>
#include <fstream>

#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "grid/grid.hpp"
#include "mpi/dispatch_sim.hpp"

namespace threadx {

int run_simulate(const SimulateOptions& o) {
  const Grid grid = parse_grid_file(o.grid);
  std::FILE* csv = nullptr;
  if (!o.csv.empty()) {
    csv = std::fopen(o.csv.c_str(), "w");
    if (csv == nullptr) throw OutputError(o.csv + ": cannot write");
    std::fprintf(
        csv,
        "ranks,threads_per_rank,combinations,bars,makespan_s,ideal_s,makespan_over_ideal,"
        "rank0_msgs_per_s,rank0_busy,affinity,idle_fraction,units,steals,write_path,fs_busy\n");
  }
  using WritePath = dist::SimOptions::WritePath;
  const WritePath path = o.write_path == "ranks"     ? WritePath::Ranks
                         : o.write_path == "streams" ? WritePath::Streams
                                                     : WritePath::Rank0;
  const bool ranks_write = path != WritePath::Rank0;
  std::printf(
      "grid %s: %llu combinations, %llu groups; %g bars, %g bar-steps/s per slot, "
      "sigma %g, %g%% stragglers x%g slower, latency %g us, rank 0 %g us/msg\n",
      o.grid.c_str(), static_cast<unsigned long long>(grid.size()),
      static_cast<unsigned long long>(grid.group_count()), o.sim.bars, o.sim.slot_rate,
      o.sim.speed_sigma, 100 * o.sim.straggler_fraction, o.sim.straggler_factor,
      o.sim.latency_s * 1e6, o.sim.rank0_message_s * 1e6);
  if (ranks_write)
    std::printf(
        "rows stored by the ranks (%s): %g ns/row on a rank's writer thread, %g bytes/row in "
        "chunks of 16,384 rows (more in smaller chunks), file system %g GB/s shared; rank 0 sets "
        "/done flags only\n",
        path == WritePath::Streams ? "streams of their own rows, units of any size"
                                   : "units of whole chunks",
        o.sim.rank_row_s * 1e9, o.sim.row_bytes, o.sim.fs_bandwidth / 1e9);
  else
    std::printf("rows stored by rank 0's writer thread: %g ns/row\n", o.sim.rank0_row_s * 1e9);
  std::printf("%7s %12s %12s %9s %14s %10s %9s %9s %10s%s\n", "ranks", "makespan s", "ideal s",
              "x ideal", "rank0 msgs/s", "rank0 busy", "affinity", "idle", "units",
              ranks_write ? "  chunk rows  bytes/row   fs busy" : "");
  for (int ranks : o.ranks) {
    dist::SimOptions so = o.sim;
    so.ranks = ranks;
    so.write_path = path;
    const dist::SimResult r = dist::simulate_dispatch(grid, so);
    const double ratio = r.makespan_s / r.ideal_s;
    const double rate = static_cast<double>(r.messages) / r.makespan_s;
    const double busy = r.rank0_busy_s / r.makespan_s;
    std::printf("%7d %12.4f %12.4f %9.4f %14.0f %9.1f%% %8.1f%% %8.1f%% %10llu", ranks,
                r.makespan_s, r.ideal_s, ratio, rate, 100 * busy, 100 * r.affinity,
                100 * r.idle_fraction, static_cast<unsigned long long>(r.units));
    if (ranks_write)
      std::printf(" %11llu %10.1f %8.1f%%", static_cast<unsigned long long>(r.chunk_rows),
                  r.row_bytes, 100 * r.fs_busy_s / r.makespan_s);
    std::printf("\n");
    if (csv != nullptr)
      std::fprintf(csv, "%d,%llu,%llu,%g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%llu,%llu,%s,%.6g\n",
                   ranks, static_cast<unsigned long long>(so.threads_per_rank),
                   static_cast<unsigned long long>(grid.size()), so.bars, r.makespan_s, r.ideal_s,
                   ratio, rate, busy, r.affinity, r.idle_fraction,
                   static_cast<unsigned long long>(r.units),
                   static_cast<unsigned long long>(r.steals), o.write_path.c_str(),
                   r.fs_busy_s / r.makespan_s);
  }
  if (csv != nullptr) std::fclose(csv);
  return 0;
}

}  // namespace threadx
