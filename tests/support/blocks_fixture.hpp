// A complete results file with per-block statistics, as `threadx sweep --blocks S` writes it
// (docs/ROBUST.md, section 6), made in-process: every combination run by the engine with its
// blocks recorded (run_unit_cpu), stored through the sweep's own ResultsFile writer. Used where a
// test needs the cells in memory too, or a file a sweep does not make on purpose (a stopped one).
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/time_format.hpp"
#include "data/loader.hpp"
#include "engine/cpu_backtest.hpp"
#include "engine/unit_rows.hpp"
#include "grid/grid.hpp"
#include "indicators/indicator_bank.hpp"
#include "results/results_file.hpp"
#include "strategy/block_stats.hpp"

namespace threadx::testing {

// Writes `path` (replacing it) and returns every cell, row-major. blocks = 0: no /blocks (a sweep
// without --blocks). complete = false leaves complete = 0, as a stopped sweep would (every row is
// done all the same).
inline std::vector<BlockStats> write_results_with_blocks(const std::string& path, const Grid& grid,
                                                         const std::string& data_path, int blocks,
                                                         bool complete = true) {
  const BarSeries bars = load_bars({data_path});
  IndicatorBank bank(bars);
  Provenance prov;
  prov.program_version = THREADX_VERSION;
  prov.command_line = "threadx sweep --data " + data_path + " --grid " + grid.path +
                      (blocks > 0 ? " --blocks " + std::to_string(blocks) : "") + " --out " + path;
  prov.devices = "cpu";
  prov.isa = "test fixture";
  prov.start_time = now_utc_iso();
  const std::vector<std::int64_t> starts =
      blocks > 0 ? block_start_bars(static_cast<std::int64_t>(bars.size()), blocks)
                 : std::vector<std::int64_t>{};
  std::vector<BlockStats> cells;
  {
    ResultsFile file = ResultsFile::create(path, grid, bars, prov, /*overwrite=*/true, blocks);
    for (ComboId g = 0; g < grid.group_count(); ++g) {
      const WorkUnit u{g * grid.group_size(), (g + 1) * grid.group_size(), g};
      UnitRows rows(u.size(), blocks);
      run_unit_cpu({grid, bank}, u, rows.metrics.data(), best_isa(),
                   blocks > 0 ? rows.block_output(starts.data()) : BlockOutput{});
      std::vector<unsigned char> packed(file.layout().run_size(u.size()));
      file.layout().pack_run(grid, u.begin, rows.view(), packed.data());
      file.write_packed(u.begin, packed);
      cells.insert(cells.end(), rows.blocks.begin(), rows.blocks.end());
    }
    file.finish({});
  }
  if (!complete) {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const std::int64_t zero = 0;
    const hid_t c = H5Aopen(f, "complete", H5P_DEFAULT);
    H5Awrite(c, H5T_NATIVE_INT64, &zero);
    H5Aclose(c);
    H5Fclose(f);
  }
  return cells;
}

}  // namespace threadx::testing
