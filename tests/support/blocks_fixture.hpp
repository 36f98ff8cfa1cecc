// A complete results file with per-block statistics, as `threadx sweep --blocks S` writes it
// (docs/ROBUST.md, section 6): /results and /done through ResultsFile, every combination run by
// the engine with its blocks recorded (run_unit_cpu), then /blocks (combinations x S, the packed
// 28-byte compound {sum_r, sum_r2, equity: f64, trades: i32}) and the root attribute `blocks`.
// The robust tests read it like a real sweep's file, without depending on the sweep command.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/time_format.hpp"
#include "data/loader.hpp"
#include "engine/block_stats.hpp"
#include "engine/cpu_backtest.hpp"
#include "grid/grid.hpp"
#include "indicators/indicator_bank.hpp"
#include "results/results_file.hpp"

namespace threadx::testing {

// Writes `path` (replacing it) and returns every cell, row-major. complete = false leaves the
// file as a stopped sweep would (complete = 0), with every row done all the same. blocks = 0:
// a complete results file without /blocks (a sweep run without --blocks).
inline std::vector<BlockStats> write_results_with_blocks(const std::string& path, const Grid& grid,
                                                         const std::string& data_path, int blocks,
                                                         bool complete = true) {
  const BarSeries bars = load_bars({data_path});
  IndicatorBank bank(bars);
  Provenance prov;
  prov.program_version = THREADX_VERSION;
  prov.command_line = "threadx sweep --data " + data_path + " --grid " + grid.path + " --blocks " +
                      std::to_string(blocks) + " --out " + path;
  prov.devices = "cpu";
  prov.isa = "test fixture";
  prov.start_time = now_utc_iso();
  const auto s = static_cast<std::size_t>(blocks);
  const std::vector<std::int64_t> starts =
      blocks > 0 ? block_start_bars(static_cast<std::int64_t>(bars.size()), blocks)
                 : std::vector<std::int64_t>{};
  std::vector<BlockStats> cells(grid.size() * s);
  {
    ResultsFile file = ResultsFile::create(path, grid, bars, prov, /*overwrite=*/true);
    for (ComboId g = 0; g < grid.group_count(); ++g) {
      const WorkUnit u{g * grid.group_size(), (g + 1) * grid.group_size(), g};
      std::vector<Metrics> metrics(u.size());
      run_unit_cpu(grid, bank, u, metrics.data(), best_isa(),
                   blocks > 0 ? BlockOutput{blocks, starts.data(), cells.data() + u.begin * s}
                              : BlockOutput{});
      std::vector<unsigned char> packed(u.size() * file.layout().row_size());
      file.layout().pack_run(grid, u.begin, metrics, packed.data());
      file.write_packed(u.begin, packed);
    }
    file.finish({});
  }
  if (blocks == 0) return cells;
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  const hid_t file_type = H5Tcreate(H5T_COMPOUND, 28);
  H5Tinsert(file_type, "sum_r", 0, H5T_IEEE_F64LE);
  H5Tinsert(file_type, "sum_r2", 8, H5T_IEEE_F64LE);
  H5Tinsert(file_type, "equity", 16, H5T_IEEE_F64LE);
  H5Tinsert(file_type, "trades", 24, H5T_STD_I32LE);
  const hid_t mem_type = H5Tcreate(H5T_COMPOUND, sizeof(BlockStats));
  H5Tinsert(mem_type, "sum_r", offsetof(BlockStats, sum_r), H5T_NATIVE_DOUBLE);
  H5Tinsert(mem_type, "sum_r2", offsetof(BlockStats, sum_r2), H5T_NATIVE_DOUBLE);
  H5Tinsert(mem_type, "equity", offsetof(BlockStats, equity), H5T_NATIVE_DOUBLE);
  H5Tinsert(mem_type, "trades", offsetof(BlockStats, trades), H5T_NATIVE_INT32);
  const hsize_t dims[2] = {grid.size(), s};
  const hid_t space = H5Screate_simple(2, dims, nullptr);
  const hid_t set =
      H5Dcreate2(f, "blocks", file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(set, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, cells.data());
  const std::int64_t S = blocks;
  const hid_t scalar = H5Screate(H5S_SCALAR);
  const hid_t a = H5Acreate2(f, "blocks", H5T_NATIVE_INT64, scalar, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_INT64, &S);
  if (!complete) {
    const std::int64_t zero = 0;
    const hid_t c = H5Aopen(f, "complete", H5P_DEFAULT);
    H5Awrite(c, H5T_NATIVE_INT64, &zero);
    H5Aclose(c);
  }
  for (hid_t h : {a, scalar, set, space, mem_type, file_type}) H5Idec_ref(h);
  H5Fclose(f);
  return cells;
}

}  // namespace threadx::testing
