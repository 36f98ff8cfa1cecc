// threadx: sweep the bb_atr strategy over a parameter grid, then rank the results.
//
//   threadx sweep --data bars.csv --grid grid.toml --out sweep.h5
//   threadx top sweep.h5 --by sharpe -n 10
//   threadx info sweep.h5
//   threadx robust sweep.h5 --cscv --wf-window 4 --out robust.h5
#include <cstdio>
#include <exception>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "strategy/metrics.hpp"

namespace {

std::string joined_command_line(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) s += (i ? " " : "") + std::string(argv[i]);
  return s;
}

std::string metric_names() {
  std::string s;
  for (const auto& m : threadx::kMetrics) s += (s.empty() ? "" : ", ") + std::string(m.name);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  // Logs and progress go to stderr; stdout carries only what a command prints as its result.
  auto logger = spdlog::stderr_color_mt("threadx");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("[%H:%M:%S] %^%l%$ %v");

  CLI::App app{
      "ThreadX sweeper: backtest the bb_atr strategy over every combination of a "
      "parameter grid (STRATEGY.md, SWEEP.md)."};
  app.set_version_flag("--version", std::string("threadx ") + THREADX_VERSION);
  app.require_subcommand(1);
  // Usage errors are one line, like every other error (CLI11's default adds a second line).
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "threadx: " + std::string(e.what()) + " (see --help)\n";
  });
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "only warnings and errors");

  threadx::SweepOptions sweep;
  sweep.command_line = joined_command_line(argc, argv);
  CLI::App* s = app.add_subcommand("sweep", "backtest every combination of a grid");
  s->add_option("--data", sweep.data,
                "bar files: CSV (timestamp,open,high,low,close,volume) or raw Binance klines; "
                "several files must follow each other in time")
      ->required()
      ->check(CLI::ExistingFile);
  s->add_option("--grid", sweep.grid, "grid file (TOML, see SWEEP.md)")
      ->required()
      ->check(CLI::ExistingFile);
  s->add_option("--out", sweep.out, "results file (HDF5)")->required();
  s->add_option("--timeframe", sweep.timeframe, "resample to this bar size first, e.g. 15m, 1h");
  s->add_flag("--resume", sweep.resume, "finish a stopped run of the same --out");
  s->add_flag("--force", sweep.force, "replace an existing --out (or stopped run)");
  s->add_option("--threads", sweep.threads, "CPU threads (default: all cores)");
  s->add_option("--unit-size", sweep.unit_size, "max combinations per work unit")
      ->capture_default_str();
  s->add_option("--flush-interval", sweep.flush_interval_s,
                "seconds between flushes (bounds the work a crash loses)")
      ->capture_default_str();
  s->add_option("--progress-interval", sweep.progress_interval_s, "seconds between progress lines")
      ->capture_default_str();
  s->add_option("--isa", sweep.isa,
                "CPU lane path: auto (the fastest this CPU runs), avx512, avx2, sse2, or scalar "
                "(one combination at a time, the reference); every path gives the same results")
      ->capture_default_str();
  s->add_option("--rank-timeout", sweep.rank_timeout_s,
                "MPI: seconds a rank may stay silent while holding units (at least 10x the "
                "slowest unit) before the job is stopped as a lost or hung node")
      ->capture_default_str();
  s->add_option("--devices", sweep.devices,
                "devices to balance over: cpu, cuda:N, cuda, comma-separated, or auto (the CPU "
                "and every visible CUDA device that can run this build); a GPU named as cuda:N "
                "that cannot run is an error, with cuda or auto a warning")
      ->capture_default_str();
  s->add_option("--blocks", sweep.blocks,
                "also store per-block return statistics of every combination in /blocks, the "
                "input of `threadx robust` (S blocks, 2..64; see ROBUST.md)");
  s->add_option("--compress", sweep.compress,
                "deflate level (1..9, with HDF5's shuffle) of /results and /blocks, compressed by "
                "every core as chunks complete; 0 stores them uncompressed. A --resume keeps the "
                "file's own setting")
      ->check(CLI::Range(0, 9))
      ->capture_default_str();
  s->add_option("--keep", sweep.keep,
                "what to store of the rows: all (/results), none, or the best K by a metric, "
                "top:K:METRIC[,top:K:METRIC...] (/kept); the aggregates (/aggregates, what "
                "`threadx report` charts) are always computed. With none or top, the run is "
                "checkpointed at the flush interval and a --resume starts from the last checkpoint")
      ->capture_default_str();
  s->add_option("--ids", sweep.ids,
                "BEGIN:END: sweep only the grid's ids [BEGIN, END) (a slice of a grid too big for "
                "one run; the file holds those ids, row k being id BEGIN + k)");
  s->add_option("--write-path", sweep.write_path,
                "who stores the rows: rank0 (one file, written by rank 0) or ranks (every rank "
                "compresses and writes its own rows to <out>.parts/, and the results file reads "
                "them through HDF5 virtual datasets: for thousands of ranks; needs --keep all and "
                "compression). A --resume keeps the file's own setting")
      ->transform(CLI::IsMember({"rank0", "ranks"}, CLI::ignore_case))
      ->capture_default_str();
  s->add_option("--chunk-rows", sweep.chunk_rows,
                "rows per compressed chunk (64..1048576; default 16384, fewer with many --blocks): "
                "a chunk is stored once all its rows are done, so smaller chunks lose less to a "
                "kill and hold less memory, larger ones compress a little better")
      ->check(CLI::Range(std::uint64_t{64}, std::uint64_t{1} << 20));

  threadx::TopOptions top;
  CLI::App* t = app.add_subcommand("top", "print the best combinations of a results file");
  t->add_option("file", top.file, "results file")->required();
  t->add_option("--by", top.by, "column to rank by: " + metric_names() + ", or a parameter")
      ->capture_default_str();
  t->add_option("-n", top.n, "how many rows")->capture_default_str();
  t->add_flag("--ascending", top.ascending, "smallest first (e.g. --by max_drawdown)");
  t->add_option("--min-trades", top.min_trades, "skip combinations with fewer trades");
  t->add_option("--max-drawdown", top.max_drawdown, "skip combinations with a deeper drawdown");
  t->add_flag("--csv", top.csv, "CSV output, full precision");

  threadx::InfoOptions info;
  CLI::App* i = app.add_subcommand("info", "print a results file's provenance and progress");
  i->add_option("file", info.file, "results file")->required();
  i->add_flag("--all", info.attributes, "also print the grid file text");

  threadx::BenchOptions bench;
  CLI::App* b = app.add_subcommand("bench", "measure backtest speed on real data (writes nothing)");
  b->add_option("--data", bench.data, "bar files")->required()->check(CLI::ExistingFile);
  b->add_option("--grid", bench.grid, "grid file")->required()->check(CLI::ExistingFile);
  b->add_option("--first", bench.first, "only the first N combinations (default: all)");
  b->add_option("--threads", bench.threads, "CPU threads (default: all cores)");
  b->add_option("--unit-size", bench.unit_size, "max combinations per work unit")
      ->capture_default_str();
  b->add_option("--repeat", bench.repeat, "runs; the fastest is reported")->capture_default_str();
  b->add_option("--isa", bench.isa, "CPU lane path: auto, avx512, avx2, sse2 or scalar")
      ->capture_default_str();
  b->add_option("--blocks", bench.blocks, "record S per-block statistics too, as sweep --blocks");
  b->add_option("--label", bench.label, "name printed in the result line");

  threadx::SimulateOptions sim;
  CLI::App* m = app.add_subcommand(
      "simulate", "drive the real dispatcher with thousands of virtual ranks (no MPI)");
  m->add_option("--grid", sim.grid, "grid file")->required()->check(CLI::ExistingFile);
  m->add_option("--ranks", sim.ranks, "virtual rank counts")->delimiter(',')->capture_default_str();
  m->add_option("--threads-per-rank", sim.sim.threads_per_rank, "compute slots per rank")
      ->capture_default_str();
  m->add_option("--bars", sim.sim.bars, "bars per backtest")->capture_default_str();
  m->add_option("--slot-rate", sim.sim.slot_rate, "mean bar-steps/s of one slot")
      ->capture_default_str();
  m->add_option("--sigma", sim.sim.speed_sigma, "log-normal spread of rank speeds")
      ->capture_default_str();
  m->add_option("--stragglers", sim.sim.straggler_fraction, "fraction of slow ranks")
      ->capture_default_str();
  m->add_option("--straggler-factor", sim.sim.straggler_factor, "how much slower they are")
      ->capture_default_str();
  m->add_option("--latency", sim.sim.latency_s, "one-way message latency, s")
      ->capture_default_str();
  m->add_option("--rank0-message", sim.sim.rank0_message_s, "rank 0 time per message, s")
      ->capture_default_str();
  m->add_option("--rank0-row", sim.sim.rank0_row_s, "rank 0 time per stored row, s")
      ->capture_default_str();
  m->add_option("--unit-size", sim.sim.unit_size, "max combinations per unit")
      ->capture_default_str();
  m->add_option("--seed", sim.sim.seed, "random seed")->capture_default_str();
  m->add_flag("!--inline-writer", sim.sim.writer_thread,
              "model rank 0 storing rows on its dispatching thread (the design before)");
  m->add_option(
       "--write-path", sim.write_path,
       "who stores the rows: rank0 (its writer thread), ranks (each its own, whole "
       "chunks), or streams (design study: each rank appends its rows in chunks of its own)")
      ->transform(CLI::IsMember({"rank0", "ranks", "streams"}, CLI::ignore_case))
      ->capture_default_str();
  m->add_option("--stream-chunk", sim.sim.stream_chunk_rows,
                "streams: rows per chunk of a rank's stream (0: an eighth of a thread's share, "
                "1,024 to 16,384)")
      ->capture_default_str();
  m->add_option("--rank-row", sim.sim.rank_row_s,
                "ranks path: a rank's time to pack and compress one row, s")
      ->capture_default_str();
  m->add_option("--row-bytes", sim.sim.row_bytes, "ranks path: bytes of a row as stored")
      ->capture_default_str();
  m->add_option("--fs-bandwidth", sim.sim.fs_bandwidth,
                "ranks path: the shared file system's write bandwidth, bytes/s")
      ->capture_default_str();
  m->add_option("--csv", sim.csv, "also write the table as CSV");
  CLI::App* d = app.add_subcommand("devices", "list the CPU and the visible CUDA devices");

  threadx::StrategiesOptions strategies;
  CLI::App* g = app.add_subcommand(
      "strategies", "list the strategies a grid file can name, with their parameters");
  g->add_option("name", strategies.name, "one strategy: its parameters only");
  g->add_flag("--example-grid", strategies.example_grid,
              "print a small valid grid file for NAME (to start a grid from)")
      ->needs(g->get_option("name"));

  threadx::ReportOptions report;
  CLI::App* r = app.add_subcommand("report",
                                   "write one self-contained HTML page about a results "
                                   "file: heatmaps, sensitivity, the best combination (from "
                                   "/aggregates when the sweep kept no rows or only the best)");
  r->add_option("file", report.file, "results file")->required();
  r->add_option("--out", report.out, "the page to write (HTML)")->required();
  r->add_option("--metric", report.metric, "metric to chart: " + metric_names())
      ->capture_default_str();
  r->add_option("--min-trades", report.min_trades, "leave out combinations with fewer trades");
  r->add_option("--top", report.top, "rows of the top table")->capture_default_str();
  r->add_option("--robust", report.robust, "robustness file of `threadx robust` to show too");
  r->add_option("--data", report.data,
                "the bars to re-run the best combination on (default: the sweep's, found from the "
                "file's provenance and checked against its SHA-256)");

  threadx::RobustOptions robust;
  robust.command_line = sweep.command_line;
  CLI::App* u =
      app.add_subcommand("robust",
                         "how much of the best result is luck: CSCV/PBO, Deflated Sharpe Ratio and "
                         "walk-forward from a results file's /blocks (ROBUST.md)");
  u->add_option("file", robust.file, "results file (swept with --blocks S)")->required();
  u->add_option("--out", robust.out, "robustness file to write (HDF5)")->required();
  u->add_flag("--cscv", robust.cscv, "CSCV and the probability of backtest overfitting (even S)");
  u->add_option("--dsr", robust.dsr, "Deflated Sharpe Ratio of the K best by Sharpe")
      ->capture_default_str();
  CLI::Option* wf_window =
      u->add_option("--wf-window", robust.wf_window, "walk-forward with a window of W blocks");
  u->add_option("--wf-mode", robust.wf_mode, "walk-forward window: rolling or anchored")
      ->capture_default_str();
  u->add_option("--wf-min-trades", robust.wf_min_trades,
                "in-sample trades a walk-forward candidate needs")
      ->capture_default_str();
  u->add_option("--data", robust.data,
                "the bars to recompute the selected combinations' returns on (default: the "
                "sweep's, found from the file's provenance and checked against its SHA-256)");
  u->add_option("--threads", robust.threads, "CPU threads (default: all cores)");
  u->add_flag("--force", robust.force, "replace an existing --out");
  u->add_option("--progress-interval", robust.progress_interval_s, "seconds between progress lines")
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (quiet) spdlog::set_level(spdlog::level::warn);
  robust.walk_forward = wf_window->count() > 0;

  try {
    if (*s) return threadx::run_sweep(sweep);
    if (*t) return threadx::run_top(top);
    if (*i) return threadx::run_info(info);
    if (*b) return threadx::run_bench(bench);
    if (*m) return threadx::run_simulate(sim);
    if (*d) return threadx::run_devices_list();
    if (*g) return threadx::run_strategies(strategies);
    if (*r) return threadx::run_report(report);
    if (*u) return threadx::run_robust(robust);
  } catch (const threadx::InputError& e) {
    spdlog::error("{}", e.what());
    return 1;
  } catch (const threadx::OutputError& e) {
    spdlog::error("{}", e.what());
    return 1;
  } catch (const std::exception& e) {
    spdlog::critical("internal error: {}", e.what());
    return 2;
  }
  return 0;
}
