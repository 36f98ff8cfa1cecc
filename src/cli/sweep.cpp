// `threadx sweep`: load data and grid, backtest every combination on all cores, write the HDF5
// results file. The run writes to "<out>.partial" and renames it to <out> only once every
// combination is done, so a file under the requested name is always complete; a stopped or
// crashed run leaves the .partial file, which --resume finishes.
#include <algorithm>
#include <filesystem>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "cli/table.hpp"
#include "common/error.hpp"
#include "common/time_format.hpp"
#include "data/loader.hpp"
#include "engine/cpu_sweep.hpp"
#include "engine/plan.hpp"
#include "grid/grid.hpp"
#include "indicators/indicator_bank.hpp"
#include "results/ranking.hpp"
#include "results/results_file.hpp"
#include "strategy/lanes.hpp"

namespace threadx {
namespace {

namespace fs = std::filesystem;

class FileSink final : public ResultSink {
 public:
  explicit FileSink(ResultsFile& file) : file_(file) {}
  void write(const WorkUnit& unit, std::span<const Metrics> rows) override {
    file_.write_unit(unit.begin, rows);
  }
  void flush() override { file_.flush(); }

 private:
  ResultsFile& file_;
};

std::string thousands(std::uint64_t v) {
  const std::string digits = std::to_string(v);
  std::string s;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) s.push_back(',');
    s.push_back(digits[i]);
  }
  return s;
}

void validate(const SweepOptions& o) {
  if (o.data.empty()) throw InputError("--data: at least one data file is required");
  if (o.grid.empty()) throw InputError("--grid: a grid file is required");
  if (o.out.empty()) throw InputError("--out: an output file is required");
  if (o.unit_size == 0) throw InputError("--unit-size: must be >= 1");
  if (o.lanes != "simd" && o.lanes != "scalar")
    throw InputError("--lanes '" + o.lanes + "': expected simd or scalar");
  if (!(o.flush_interval_s > 0)) throw InputError("--flush-interval: must be > 0 seconds");
  if (!(o.progress_interval_s > 0)) throw InputError("--progress-interval: must be > 0 seconds");
  if (o.resume && o.force) throw InputError("--resume and --force contradict each other");
  std::error_code ec;
  if (fs::is_directory(o.out, ec))
    throw InputError("--out " + o.out + ": is a directory; give a file name");
}

// Refuses, before anything is written, a grid whose results file cannot fit the free space of
// the output's file system (a huge grid would otherwise fail deep inside HDF5, or fill the disk
// hours into the run).
void check_room(const std::string& path, const Grid& grid) {
  const RowLayout layout(grid);
  const double need = static_cast<double>(grid.size()) * static_cast<double>(layout.row_size() + 1);
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  const fs::space_info space = fs::space(dir, ec);
  if (ec) return;  // a missing directory is reported by the file creation, with its path
  if (need > static_cast<double>(space.available))
    throw OutputError(fmt::format(
        "{}: the results file needs {:.3g} GB ({} combinations x {} bytes) but {} has {:.3g} GB "
        "free",
        path, need / 1e9, thousands(grid.size()), layout.row_size() + 1, dir.string(),
        static_cast<double>(space.available) / 1e9));
}

// The largest warm-up of the grid; combinations whose warm-up reaches N cannot trade.
int max_warmup(const Grid& g) {
  return static_cast<int>(std::max(
      {g.values[kBbPeriod].back(), g.values[kAtrPeriod].back(), g.values[kTrendPeriod].back()}));
}

void log_data(const BarSeries& bars, const LoadReport& report, const std::string& timeframe) {
  for (const DataSource& s : bars.sources)
    spdlog::info("data {}: {} rows, sha256 {}", s.path,
                 thousands(static_cast<std::uint64_t>(s.rows)), s.sha256.substr(0, 16));
  spdlog::info("bars: {} x {} from {} to {}{}", thousands(bars.size()),
               format_duration(static_cast<double>(bars.bar_ms) / 1000.0),
               format_utc_ms(bars.time_ms.front()), format_utc_ms(bars.time_ms.back()),
               timeframe.empty()
                   ? std::string()
                   : fmt::format(" (resampled to {} from {} input bars)", timeframe,
                                 thousands(static_cast<std::uint64_t>(report.input_bars))));
  if (bars.gap_count > 0)
    spdlog::warn(
        "data has {} gap(s) (consecutive bars more than {} apart); bars are used as they "
        "are",
        bars.gap_count, format_duration(static_cast<double>(bars.bar_ms) / 1000.0));
  if (report.incomplete_buckets > 0)
    spdlog::warn("{} resampled bar(s) were built from fewer input bars than the timeframe holds",
                 report.incomplete_buckets);
}

}  // namespace

int run_sweep(const SweepOptions& o) {
  validate(o);
  const std::string start_time = now_utc_iso();

  Grid grid = parse_grid_file(o.grid);
  LoadOptions load_options;
  if (!o.timeframe.empty()) load_options.timeframe_ms = parse_timeframe(o.timeframe);
  LoadReport load_report;
  const BarSeries bars = load_bars(o.data, load_options, &load_report);
  log_data(bars, load_report, o.timeframe);

  std::string swept;
  for (std::size_t p = 0; p < kParamCount; ++p)
    if (grid.swept[p])
      swept += fmt::format("{}{}({})", swept.empty() ? "" : " x ", kParams[p].name,
                           grid.values[p].size());
  spdlog::info("grid {}: {} combinations = {}; {} indicator-key groups of {}", o.grid,
               thousands(grid.size()), swept.empty() ? "defaults only" : swept,
               thousands(grid.group_count()), thousands(grid.group_size()));
  if (static_cast<std::size_t>(max_warmup(grid)) >= bars.size())
    spdlog::warn(
        "some combinations need a warm-up of {} bars but the data has {}: they cannot "
        "trade",
        max_warmup(grid), bars.size());

  // ---- output file: fresh, forced or resumed ----
  const std::string partial = o.out + ".partial";
  const bool have_partial = fs::exists(partial), have_final = fs::exists(o.out);
  if (o.resume && !have_partial) {
    if (have_final) {
      check_same_run(o.out, grid, bars, o.timeframe);
      spdlog::info("{} is already complete; nothing to resume", o.out);
      return 0;
    }
    throw InputError("--resume: no partial run " + partial + " to finish (start without --resume)");
  }
  if (!o.resume && !o.force) {
    if (have_partial)
      throw OutputError(partial +
                        ": a stopped run of this output exists; add --resume to finish "
                        "it or --force to start over");
    if (have_final) throw OutputError(o.out + ": already exists; add --force to replace it");
  }
  const unsigned threads =
      o.threads != 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  Provenance prov;
  prov.program_version = THREADX_VERSION;
  prov.command_line = o.command_line;
  prov.ranks = 1;
  prov.devices = fmt::format("cpu:{}t/{}", threads,
                             o.lanes == "simd" ? fmt::format("simd{}", bb_atr::kLanes) : "scalar");
  prov.start_time = start_time;
  prov.timeframe = o.timeframe;

  if (!o.resume) check_room(partial, grid);
  // create() builds the file under a temporary name and leaves nothing behind if it fails.
  ResultsFile file = o.resume ? ResultsFile::open_for_resume(partial, grid, bars, prov)
                              : ResultsFile::create(partial, grid, bars, prov, /*overwrite=*/true);

  const std::vector<std::uint8_t> done = file.read_done();
  const auto already = static_cast<std::uint64_t>(std::count(done.begin(), done.end(), 1));
  const std::vector<WorkUnit> units = plan_units(grid, o.unit_size, &done);
  std::uint64_t todo = 0;
  for (const WorkUnit& u : units) todo += u.size();
  if (o.resume)
    spdlog::info("resuming {}: {} of {} combinations already done, {} to go", partial,
                 thousands(already), thousands(grid.size()), thousands(todo));
  spdlog::info("running {} work units of <= {} combinations on {} CPU thread(s), {} lanes",
               thousands(units.size()), thousands(o.unit_size), threads, o.lanes);

  IndicatorBank bank(bars);
  FileSink sink(file);
  CpuSweepOptions run;
  run.threads = threads;
  run.flush_interval_s = o.flush_interval_s;
  run.progress_interval_s = o.progress_interval_s;
  run.mode = o.lanes == "simd" ? LaneMode::Simd : LaneMode::Scalar;
  install_stop_signals();
  run.stop = &stop_flag();
  run.on_progress = [&](const SweepProgress& p) {
    const double rate = p.elapsed_s > 0 ? static_cast<double>(p.combos_done) / p.elapsed_s : 0;
    const double eta = rate > 0 ? static_cast<double>(p.combos_total - p.combos_done) / rate : 0;
    spdlog::info("progress {}/{} ({:.1f}%), {} combos/s, ETA {}", thousands(p.combos_done),
                 thousands(p.combos_total),
                 p.combos_total ? 100.0 * static_cast<double>(p.combos_done) /
                                      static_cast<double>(p.combos_total)
                                : 100.0,
                 thousands(static_cast<std::uint64_t>(rate)), format_duration(eta));
  };
  const CpuSweepReport report = run_cpu_sweep(grid, bank, units, sink, run);

  const double rate =
      report.wall_s > 0 ? static_cast<double>(report.combos_done) / report.wall_s : 0;
  const double bar_steps = rate * static_cast<double>(bars.size());
  const IndicatorBank::Stats bank_stats = bank.stats();
  const std::vector<std::pair<std::string, std::string>> accounting{
      {"wall_seconds", format_double(report.wall_s)},
      {"combinations_per_second", format_double(rate)},
      {"indicator_series_built", std::to_string(bank_stats.built)},
      {"indicator_series_requested", std::to_string(bank_stats.requested)},
  };
  file.finish(accounting);

  if (report.stopped) {
    spdlog::warn(
        "stopped: {} of {} combinations done and saved in {}; run the same command with "
        "--resume to finish",
        thousands(already + report.combos_done), thousands(grid.size()), partial);
    return kExitStopped;
  }
  std::error_code ec;
  fs::rename(partial, o.out, ec);
  if (ec) throw OutputError(o.out + ": cannot rename " + partial + " into place: " + ec.message());

  spdlog::info("done: {} combinations in {} = {} combos/s, {:.3g} bar-steps/s ({} threads)",
               thousands(report.combos_done), format_duration(report.wall_s),
               thousands(static_cast<std::uint64_t>(rate)), bar_steps, threads);
  spdlog::info("indicator bank: {} series built ({} bands, {} ATR, {} EMA) for {} requested",
               bank_stats.built, bank_stats.band_built, bank_stats.atr_built, bank_stats.ema_built,
               thousands(static_cast<std::uint64_t>(bank_stats.requested)));
  spdlog::info("results: {}", o.out);

  // The five best combinations by Sharpe, as `threadx top` would show them.
  ResultsReader reader(o.out);
  RankQuery q;
  q.n = 5;
  const RankResult best = rank_rows(reader, q);
  std::vector<std::string> shown{"combo_id"};
  for (std::size_t p = 0; p < kParamCount; ++p)
    if (grid.swept[p]) shown.emplace_back(kParams[p].name);
  for (const char* m : {"sharpe", "total_return", "max_drawdown", "trades", "win_rate"})
    shown.emplace_back(m);
  std::ostringstream table;
  print_rows(table, reader.columns(), best.rows, shown, false);
  spdlog::info("best by sharpe (threadx top {} --by sharpe):\n{}", o.out, table.str());
  return 0;
}

}  // namespace threadx
