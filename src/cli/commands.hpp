// The threadx subcommands. main() parses the command line with CLI11 into these option structs;
// each command returns the process exit code and throws InputError/OutputError for bad input.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "mpi/dispatch_sim.hpp"

namespace threadx {

// Exit codes: 0 success, 1 bad input or output error, 3 stopped by a signal (file resumable).
inline constexpr int kExitStopped = 3;
// Exit 4: a rank of an MPI job was lost or hung (the file is saved and resumable).
inline constexpr int kExitRankLost = 4;
// Rank 0's word to the other ranks when there is nothing to do (the output is already complete).
inline constexpr int kStartNothing = -1;

struct SweepOptions {
  std::vector<std::string> data;
  std::string grid;
  std::string out;
  std::string timeframe;  // "" = bars as read
  bool resume = false;
  bool force = false;
  unsigned threads = 0;
  std::uint64_t unit_size = 4096;
  double flush_interval_s = 2.0;
  double progress_interval_s = 2.0;
  std::string isa = "auto";      // auto | avx512 | avx2 | sse2 | scalar (engine/isa.hpp)
  std::string devices = "auto";  // "cpu,cuda:0,...", or auto: the CPU and every visible GPU
  double rank_timeout_s = 120;   // MPI: a rank silent this long while holding units is lost
  int blocks = 0;                // --blocks S: per-block statistics in /blocks (0: none)
  int compress = 1;              // --compress: deflate level of /results and /blocks (0: none)
  std::uint64_t chunk_rows = 0;  // --chunk-rows: rows per compressed chunk (0: 16,384, fewer with
                                 // many blocks)
  std::string keep = "all";      // --keep: all | none | top:K:METRIC[,...] (results/keep.hpp)
  std::string ids;               // --ids BEGIN:END: only the grid's ids [BEGIN, END) (empty: all)
  std::string write_path = "rank0";  // --write-path: rank0 | ranks (results/part_file.hpp)
  std::string command_line;
};
int run_sweep(const SweepOptions& options);

struct TopOptions {
  std::string file;
  std::string by = "sharpe";
  std::size_t n = 10;
  bool ascending = false;
  std::int64_t min_trades = 0;
  double max_drawdown = 1e300;
  bool csv = false;
};
int run_top(const TopOptions& options);

struct BenchOptions {
  std::vector<std::string> data;
  std::string grid;
  std::uint64_t first = 0;  // 0: every combination
  unsigned threads = 0;
  std::uint64_t unit_size = 4096;
  unsigned repeat = 1;
  std::string isa = "auto";
  int blocks = 0;  // --blocks S: record per-block statistics too (what the sweep would store)
  std::string label;
};
int run_bench(const BenchOptions& options);

struct SimulateOptions {
  std::string grid;
  std::vector<int> ranks{100, 1000, 10000};
  dist::SimOptions sim;
  std::string write_path = "rank0";  // rank0 | ranks | streams: sets sim.write_path
  std::string csv;
};
int run_simulate(const SimulateOptions& options);

struct InfoOptions {
  std::string file;
  bool attributes = false;  // print every attribute, grid text included
};
int run_info(const InfoOptions& options);

// `threadx report`: one self-contained HTML page about a results file (src/report/).
struct ReportOptions {
  std::string file;
  std::string out;
  std::string metric = "sharpe";
  std::int64_t min_trades = 0;
  std::size_t top = 20;
  std::string robust;             // robustness file of `threadx robust` ("" = none)
  std::vector<std::string> data;  // the bars to re-run on (default: found from the provenance)
};
int run_report(const ReportOptions& options);

// `threadx robust`: CSCV/PBO, the Deflated Sharpe Ratio and walk-forward selection from a results
// file's /blocks (docs/ROBUST.md), written to an HDF5 robustness file.
struct RobustOptions {
  std::string file;
  std::string out;
  bool cscv = false;
  std::int64_t dsr = 10;            // K
  bool walk_forward = false;        // --wf-window given
  std::int64_t wf_window = 0;       // W
  std::string wf_mode = "rolling";  // rolling | anchored
  std::int64_t wf_min_trades = 1;   // M
  std::vector<std::string> data;    // the bars to re-run on (default: from the provenance)
  unsigned threads = 0;             // 0: all cores (shared with the node's other ranks)
  bool force = false;
  double progress_interval_s = 2.0;
  // Not on the command line (tests set them; no result depends on them):
  std::uint64_t rows_per_read = 65536;     // rows of /blocks read at a time
  std::size_t cscv_slice_streams = 32768;  // CSCV runs over slices of this many streams (progress)
  std::string command_line;
};
int run_robust(const RobustOptions& options);

// `threadx devices`: the CPU and the visible CUDA devices (stdout).
int run_devices_list();

// `threadx strategies [NAME] [--example-grid]`: the registered strategies and their parameters,
// or a small valid grid file for NAME (stdout).
struct StrategiesOptions {
  std::string name;  // "" = every strategy
  bool example_grid = false;
};
int run_strategies(const StrategiesOptions& options);

// Set by SIGINT/SIGTERM/SIGUSR1: running sweeps stop after the units in flight, flush, and exit
// with kExitStopped. Repeated SIGTERM/SIGUSR1 are ignored; a SIGINT while stopping exits at once.
std::atomic<bool>& stop_flag();
void install_stop_signals();
// Once a rank's work is saved: a late signal (mpirun ending the job as the first rank exits) must
// not turn a clean exit into a killed one.
void ignore_stop_signals();

}  // namespace threadx
