// `threadx sweep`: load data and grid, backtest every combination on all cores, write the HDF5
// results file. The run writes to "<out>.partial" and renames it to <out> only once every
// combination is done, so a file under the requested name is always complete; a stopped or
// crashed run leaves the .partial file, which --resume finishes.
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>
#include <sstream>
#include <thread>
#include <tuple>

#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "cli/output_lock.hpp"
#include "cli/table.hpp"
#include "common/error.hpp"
#include "common/thousands.hpp"
#include "common/time_format.hpp"
#include "data/loader.hpp"
#include "engine/cpu_sweep.hpp"
#include "engine/plan.hpp"
#include "gpu/device.hpp"
#include "grid/grid.hpp"
#include "indicators/indicator_bank.hpp"
#include "mpi/cluster_sweep.hpp"
#include "mpi/mpi_transport.hpp"
#include "results/part_file.hpp"
#include "results/ranking.hpp"
#include "results/results_file.hpp"
#include "results/results_reader.hpp"
#include "results/summary_store.hpp"
#include "results/sweep_summary.hpp"

namespace threadx {
namespace {

namespace fs = std::filesystem;

// --ids BEGIN:END as [begin, end) of a grid of n ids ([0, n) when empty); InputError naming the
// option otherwise.
std::pair<ComboId, ComboId> parse_ids(const std::string& text, ComboId n) {
  if (text.empty()) return {0, n};
  const std::size_t colon = text.find(':');
  auto number = [&](const std::string& s) {
    if (colon == std::string::npos || s.empty() ||
        s.find_first_not_of("0123456789") != std::string::npos || s.size() > 19)
      throw InputError("--ids '" + text +
                       "': want BEGIN:END, two whole numbers (ids BEGIN to END-1)");
    return static_cast<ComboId>(std::stoull(s));
  };
  const ComboId begin = number(text.substr(0, colon)), end = number(text.substr(colon + 1));
  if (begin >= end) throw InputError("--ids " + text + ": BEGIN must be below END");
  if (n > 0 && end > n)
    throw InputError("--ids " + text + ": the grid has " + std::to_string(n) +
                     " combinations (ids 0 to " + std::to_string(n - 1) + ")");
  return {begin, end};
}

// The aggregates every rank computes: their blocks cut at the ends of --ids.
AggregateSpec aggregate_spec_of(const SweepOptions& o, const Grid& grid) {
  AggregateSpec spec;
  std::tie(spec.ids_begin, spec.ids_end) = parse_ids(o.ids, grid.size());
  return spec;
}

void validate(const SweepOptions& o) {
  if (o.data.empty()) throw InputError("--data: at least one data file is required");
  if (o.grid.empty()) throw InputError("--grid: a grid file is required");
  if (o.out.empty()) throw InputError("--out: an output file is required");
  if (o.unit_size == 0) throw InputError("--unit-size: must be >= 1");
  if (!(o.flush_interval_s > 0)) throw InputError("--flush-interval: must be > 0 seconds");
  if (!(o.progress_interval_s > 0)) throw InputError("--progress-interval: must be > 0 seconds");
  if (o.resume && o.force) throw InputError("--resume and --force contradict each other");
  if (const std::string why = block_count_problem(o.blocks, INT64_MAX); !why.empty())
    throw InputError("--blocks: " + why);
  const KeepSpec keep = parse_keep(o.keep);  // a bad --keep: one line, before anything loads
  if (o.blocks > 0 && !keep.all())
    throw InputError("--blocks " + std::to_string(o.blocks) +
                     " needs --keep all (robust reads "
                     "the per-block statistics of every combination), not --keep " +
                     o.keep);
  (void)parse_ids(o.ids, 0);  // the syntax; the grid's bounds once it is loaded
  if (o.blocks > 0 && !o.ids.empty())
    throw InputError("--blocks needs the whole grid (robust ranks every combination); drop --ids");
  if (o.write_path == "ranks") {
    if (!keep.all())
      throw InputError("--write-path ranks stores rows: it needs --keep all, not --keep " + o.keep);
    if (o.compress == 0)
      throw InputError("--write-path ranks stores compressed chunks: drop --compress 0");
    if (o.chunk_rows != 0)
      throw InputError(
          "--write-path ranks: its chunks follow the grid's group size; drop --chunk-rows");
  }
  (void)gpu::parse_device_list(o.devices);
  std::error_code ec;
  if (fs::is_directory(o.out, ec))
    throw InputError("--out " + o.out + ": is a directory; give a file name");
}

// This rank's devices: the CPU and the CUDA devices asked for (or every visible one that can run
// this build). A GPU named as cuda:N that is not there or cannot run is an error (one line,
// before any work); with auto or cuda it is a warning and the CPU runs.
std::vector<gpu::Device> choose_devices(const SweepOptions& o, const Grid& grid) {
  const gpu::DeviceChoice choice =
      gpu::choose_devices(gpu::parse_device_list(o.devices), *grid.strategy);
  if (!choice.errors.empty()) {
    std::string all;
    for (const std::string& e : choice.errors) all += (all.empty() ? "" : "; ") + e;
    throw InputError("--devices: " + all);
  }
  for (const std::string& w : choice.warnings) spdlog::warn("--devices: {}", w);
  for (const std::string& n : choice.notes) spdlog::info("--devices: {}", n);
  return choice.devices;
}

std::string device_names(const std::vector<gpu::Device>& devices) {
  std::string s;
  for (const gpu::Device& d : devices) s += (s.empty() ? "" : ",") + d.str();
  return s.empty() ? "cpu" : s;
}

// Refuses, before anything is written, a grid whose results file cannot fit the free space of
// the output's file system (a huge grid would otherwise fail deep inside HDF5, or fill the disk
// hours into the run).
// A compressed file's size is not known before its rows are: this pre-check counts a tenth of the
// uncompressed size (README: the bundled grids measured 3-6%), the flags in full; a disk that
// fills later stops the run with a resumable file.
void check_room(const std::string& path, const Grid& grid, std::uint64_t ids, int blocks,
                bool compressed) {
  const RowLayout layout(grid, blocks);
  const double row_bytes = static_cast<double>(layout.run_size(1)) * (compressed ? 0.1 : 1.0);
  const double need = static_cast<double>(ids) * (row_bytes + 1);
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  const fs::space_info space = fs::space(dir, ec);
  if (ec) return;  // a missing directory is reported by the file creation, with its path
  if (need > static_cast<double>(space.available))
    throw OutputError(fmt::format(
        "{}: the results file needs {:.3g} GB ({} combinations x {:.3g} bytes) but {} has {:.3g} "
        "GB free",
        path, need / 1e9, thousands(ids), row_bytes + 1, dir.string(),
        static_cast<double>(space.available) / 1e9));
}

// The largest warm-up of the grid; combinations whose warm-up reaches N cannot trade.
int max_warmup(const Grid& g) {
  // A warm-up never decreases in a key parameter: the largest is that of the largest values.
  ParamValues last{};
  for (std::size_t p = 0; p < g.param_count(); ++p) last[p] = g.values[p].back();
  return g.strategy->warmup(last);
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

// This rank's compute threads: --threads, else the CPUs this process may run on, shared with the
// other ranks of the node when they all see the same CPUs (mpirun without binding).
unsigned default_threads(const dist::Transport& t) {
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  unsigned avail = hw;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    avail = static_cast<unsigned>(std::max(1, CPU_COUNT(&set)));
  const auto local = static_cast<unsigned>(std::max(1, t.local_size()));
  if (avail >= hw && local > 1) return std::max(1u, hw / local);
  return avail;
}

// Every rank reads the grid and the data itself (they are small); a failure is reported by rank 0.
struct Inputs {
  std::optional<Grid> grid;
  std::optional<BarSeries> bars;
  LoadReport load_report;
  Isa isa = Isa::Scalar;  // this rank's CPU lane path (ranks may run on different CPUs)
};
Inputs load_inputs(const SweepOptions& o) {
  Inputs in;
  in.isa = parse_isa(o.isa);
  in.grid = parse_grid_file(o.grid);
  LoadOptions load_options;
  if (!o.timeframe.empty()) load_options.timeframe_ms = parse_timeframe(o.timeframe);
  in.bars = load_bars(o.data, load_options, &in.load_report);
  if (const std::string why =
          block_count_problem(o.blocks, static_cast<std::int64_t>(in.bars->size()));
      !why.empty())
    throw InputError("--blocks: " + why);
  return in;
}

// Per-rank accounting: a summary table on stderr and one attribute array per figure.
std::vector<Attribute> rank_accounting(const dist::ClusterReport& r) {
  std::vector<std::int64_t> threads, units, combos, built, requested, hits, groups, steals;
  std::vector<double> busy, idle;
  std::string hosts, isas;
  for (const dist::RankReport& x : r.ranks) {
    hosts += (hosts.empty() ? "" : ",") + x.host;
    isas += (isas.empty() ? "" : ",") + x.isa;
    threads.push_back(static_cast<std::int64_t>(x.threads));
    units.push_back(static_cast<std::int64_t>(x.units));
    combos.push_back(static_cast<std::int64_t>(x.combos));
    busy.push_back(x.busy_s);
    idle.push_back(x.idle_s);
    built.push_back(x.series_built);
    requested.push_back(x.series_requested);
    hits.push_back(static_cast<std::int64_t>(x.affinity_hits));
    groups.push_back(static_cast<std::int64_t>(x.groups));
    steals.push_back(static_cast<std::int64_t>(x.steals));
  }
  return {{"rank_hosts", hosts},
          {"rank_isa", isas},
          {"rank_threads", threads},
          {"rank_units", units},
          {"rank_combinations", combos},
          {"rank_busy_seconds", busy},
          {"rank_idle_seconds", idle},
          {"rank_series_built", built},
          {"rank_series_requested", requested},
          {"rank_affinity_hits", hits},
          {"rank_groups", groups},
          {"rank_steals", steals}};
}

void log_ranks(const dist::ClusterReport& r) {
  for (const dist::RankReport& x : r.ranks)
    for (const std::string& line : x.devices)
      spdlog::info("{}{}", r.ranks.size() > 1 ? fmt::format("rank {} ", x.rank) : "", line);
  if (r.ranks.size() < 2) return;
  std::string table =
      fmt::format("{:>4} {:<16} {:>7} {:>7} {:>12} {:>9} {:>9} {:>13} {:>9}", "rank", "host",
                  "threads", "units", "combos", "busy s", "idle s", "series built", "affinity");
  for (const dist::RankReport& x : r.ranks)
    table += fmt::format(
        "\n{:>4} {:<16} {:>7} {:>7} {:>12} {:>9.2f} {:>9.2f} {:>6}/{:<6} {:>8.1f}%", x.rank,
        x.host.substr(0, 16), x.threads, thousands(x.units), thousands(x.combos), x.busy_s,
        x.idle_s, x.series_built, x.series_requested,
        x.units ? 100.0 * static_cast<double>(x.affinity_hits) / static_cast<double>(x.units)
                : 0.0);
  spdlog::info("per rank (affinity = units of a group the rank already held):\n{}", table);
}

// A rank > 0: load, report to rank 0, compute what it grants.
int run_worker_rank(const SweepOptions& o, dist::Transport& t, unsigned threads) {
  dist::Hello hello{dist::this_host(), static_cast<std::int64_t>(getpid()), threads, ""};
  std::optional<Inputs> in;
  std::vector<gpu::Device> devices;
  try {
    in = load_inputs(o);
    (void)parse_ids(o.ids, in->grid->size());
    // A GPU this rank was told to use and cannot: reported by rank 0.
    devices = choose_devices(o, *in->grid);
  } catch (const std::exception& e) {
    hello.error = e.what();
  }
  dist::StartInfo start;
  const int verdict = dist::worker_hello(t, hello, &start);
  if (verdict == kStartNothing) return 0;
  if (verdict != 0) return verdict;
  IndicatorBank bank(*in->bars);
  dist::ClusterSweepOptions cluster;
  cluster.threads = threads;
  cluster.isa = in->isa;
  cluster.keep = parse_keep(o.keep);
  cluster.aggregates = aggregate_spec_of(o, *in->grid);
  cluster.run.blocks = o.blocks;
  cluster.devices = devices;
  if (start.part_level > 0) {
    const std::pair<ComboId, ComboId> slice = parse_ids(o.ids, in->grid->size());
    cluster.part_path = part_path(o.out, start.session, t.rank());
    cluster.part_shape = {slice.first, slice.second, start.part_rows, start.part_level};
  }
  install_stop_signals();
  cluster.run.stop = &stop_flag();
  dist::run_worker(t, SweepContext(*in->grid, bank), cluster);
  ignore_stop_signals();
  return stop_flag().load() ? kExitStopped : 0;
}

}  // namespace

int run_sweep(const SweepOptions& o) {
  validate(o);
  const std::string start_time = now_utc_iso();
  const std::unique_ptr<dist::Transport> transport = dist::connect();
  dist::Transport& t = *transport;
  const unsigned threads = o.threads != 0 ? o.threads : default_threads(t);
  if (t.rank() != 0) {
    // Rank 0 speaks for the job; the others only warn, tagged with their rank.
    spdlog::set_pattern(fmt::format("[%H:%M:%S] [rank {}] %^%l%$ %v", t.rank()));
    if (spdlog::get_level() < spdlog::level::warn) spdlog::set_level(spdlog::level::warn);
    return run_worker_rank(o, t, threads);
  }

  std::optional<Inputs> in;
  dist::StartGate gate(t);
  try {
    in = load_inputs(o);
    (void)parse_ids(o.ids, in->grid->size());  // --ids inside the grid (checked again below)
    gate.collect();
  } catch (...) {
    gate.fail();
    throw;
  }
  const std::vector<dist::Hello>& workers = gate.workers();
  const Grid& grid = *in->grid;
  const BarSeries& bars = *in->bars;
  std::uint64_t all_threads = threads;
  for (int r = 1; r < t.size(); ++r) all_threads += workers[static_cast<std::size_t>(r)].threads;

  std::vector<gpu::Device> devices;
  std::optional<OutputLock> lock;  // rank 0 only, held until the end
  std::optional<ResultsFile> file;
  IdRanges done;  // the ids done before this run
  const KeepSpec keep = parse_keep(o.keep);
  // --ids: the ids this run's file holds (checked when the grid was loaded).
  const std::pair<ComboId, ComboId> slice = parse_ids(o.ids, grid.size());
  const std::uint64_t ids = slice.second - slice.first;
  const AggregateSpec aggregate_spec = aggregate_spec_of(o, grid);
  const AggregateLayout layout(grid, aggregate_spec);
  // What the run summarises (aggregates, kept rows): every rank's summary ends up here.
  SweepSummary summary(grid, layout, keep, SweepSummary::Role::Root);
  const std::string partial = o.out + ".partial";
  // Names this run's part files (--write-path ranks): rank 0's start time and pid.
  std::vector<std::string> replaced_parts;
  std::string session;
  for (char c : start_time)
    if (std::isdigit(static_cast<unsigned char>(c)) != 0) session += c;
  session += fmt::format("-{}", getpid());
  try {
    devices = choose_devices(o, grid);
    log_data(bars, in->load_report, o.timeframe);
    std::string swept;
    for (std::size_t p = 0; p < grid.param_count(); ++p)
      if (grid.swept[p])
        swept += fmt::format("{}{}({})", swept.empty() ? "" : " x ", grid.param(p).name,
                             grid.values[p].size());
    spdlog::info("grid {}: {} combinations = {}; {} indicator-key groups of {}", o.grid,
                 thousands(grid.size()), swept.empty() ? "defaults only" : swept,
                 thousands(grid.group_count()), thousands(grid.group_size()));
    if (ids != grid.size())
      spdlog::info("--ids {}:{}: {} of its combinations", slice.first, slice.second,
                   thousands(ids));
    if (static_cast<std::size_t>(max_warmup(grid)) >= bars.size())
      spdlog::warn(
          "some combinations need a warm-up of {} bars but the data has {}: they cannot "
          "trade",
          max_warmup(grid), bars.size());

    // ---- output file: fresh, forced or resumed ----
    lock.emplace(o.out);
    const bool have_partial = fs::exists(partial), have_final = fs::exists(o.out);
    if (o.resume && !have_partial) {
      if (have_final) {
        check_same_run(o.out, grid, bars, o.timeframe, o.blocks);
        spdlog::info("{} is already complete; nothing to resume", o.out);
        gate.release(kStartNothing);
        return 0;
      }
      throw InputError("--resume: no partial run " + partial +
                       " to finish (start without --resume)");
    }
    if (!o.resume && !o.force) {
      if (have_partial)
        throw OutputError(partial +
                          ": a stopped run of this output exists; add --resume to finish "
                          "it or --force to start over");
      if (have_final) throw OutputError(o.out + ": already exists; add --force to replace it");
    }
    Provenance prov;
    prov.program_version = THREADX_VERSION;
    prov.command_line = o.command_line;
    prov.ranks = t.size();
    prov.devices = fmt::format("{} rank(s), {} CPU thread(s); rank 0: {}", t.size(), all_threads,
                               device_names(devices));
    prov.isa = isa_label(in->isa);
    prov.start_time = start_time;
    prov.timeframe = o.timeframe;
    if (const std::uint64_t most = max_chunk_rows(RowLayout(grid, o.blocks));
        o.compress > 0 && o.chunk_rows > most)
      throw InputError(
          fmt::format("--chunk-rows: {} rows of {} bytes make chunks over 64 MiB; use at most {}",
                      o.chunk_rows, RowLayout(grid, o.blocks).run_size(1), most));
    ResultsStorage storage;
    storage.keep = keep;
    storage.aggregates = aggregate_spec;
    storage.deflate_level = o.compress;
    storage.chunk_rows = o.chunk_rows;
    storage.ids_begin = slice.first;
    storage.ids_end = slice.second;
    storage.rows_by_ranks = o.write_path == "ranks";
    storage.out_name = fs::path(o.out).filename().string();
    storage.session = session;
    storage.part_ranks = t.size();
    if (storage.rows_by_ranks) storage.chunk_rows = part_chunk_rows(grid, ids, all_threads);
    if (!o.resume && keep.all()) check_room(partial, grid, ids, o.blocks, o.compress > 0);
    if (storage.rows_by_ranks) {
      // Where every rank writes its part file: made now, so a path that cannot be is refused
      // before any file exists.
      const fs::path parts = o.out + ".parts";
      std::error_code ec;
      fs::create_directories(parts, ec);
      if (ec)
        throw OutputError(parts.string() +
                          ": cannot create the directory of the ranks' part "
                          "files (--write-path ranks): " +
                          ec.message());
    }
    // The part files of what --force replaces: removed once this run has ended.
    if (!o.resume)
      for (const std::string& f : {o.out, partial})
        for (std::string& name : recorded_part_files(f)) replaced_parts.push_back(std::move(name));
    // create() builds the file under a temporary name and leaves nothing behind if it fails.
    if (o.resume) {
      file.emplace(ResultsFile::open_for_resume(partial, grid, bars, prov, o.blocks, storage));
      if (file->lost_part_chunks() > 0)
        spdlog::warn("{}: {} chunk(s) of rows were in part files that are gone: computed again",
                     partial, thousands(file->lost_part_chunks()));
      if (file->rows_by_ranks() != (o.write_path == "ranks"))
        spdlog::info("{}: its rows are stored by {}, as it was made", partial,
                     file->rows_by_ranks() ? "the ranks (--write-path ranks)" : "rank 0");
      if (file->deflate_level() != o.compress)
        spdlog::info("{}: kept as it was made ({})", partial,
                     file->deflate_level() > 0
                         ? fmt::format("compressed, deflate level {}", file->deflate_level())
                         : std::string("not compressed"));
    } else {
      file.emplace(
          ResultsFile::create(partial, grid, bars, prov, /*overwrite=*/true, o.blocks, storage));
    }
    if (keep.all()) {
      const std::vector<std::uint8_t> flags = file->read_done();
      // A resumed file's summary is computed again from its stored rows (the same bits).
      if (o.resume) summarize_stored_rows(*file, flags, summary);
      done = IdRanges::from_flags(flags, slice.first);
    } else {
      // The last checkpoint holds the summary and which ids it covers: those are done.
      if (o.resume) {
        const std::vector<std::byte> checkpoint = file->read_checkpoint();
        if (!checkpoint.empty()) summary.merge(checkpoint);
      }
      done = summary.covered();
    }
  } catch (...) {
    gate.release(1);
    throw;
  }
  const bool by_ranks = file->rows_by_ranks();
  gate.release(0, {session, by_ranks ? file->deflate_level() : 0,
                   by_ranks ? file->part_shape().rows_per_chunk : 0});

  const std::uint64_t already = done.count();
  if (o.resume)
    spdlog::info("resuming {}: {} of {} combinations already done, {} to go", partial,
                 thousands(already), thousands(ids), thousands(ids - already));
  // Outside the slice: not to be run.
  done.add(0, slice.first);
  done.add(slice.second, grid.size());
  spdlog::info(
      "running on {} rank(s), {} CPU thread(s) in all ({} on rank 0), units of <= {} "
      "combinations, CPU path {}",
      t.size(), all_threads, threads, thousands(o.unit_size), isa_label(in->isa));

  IndicatorBank bank(bars);
  dist::ClusterSweepOptions cluster;
  cluster.threads = threads;
  cluster.unit_size = o.unit_size;
  cluster.run.flush_interval_s = o.flush_interval_s;
  cluster.run.progress_interval_s = o.progress_interval_s;
  cluster.rank_timeout_s = o.rank_timeout_s;
  cluster.isa = in->isa;
  cluster.keep = keep;
  cluster.aggregates = aggregate_spec;
  cluster.run.blocks = o.blocks;
  cluster.devices = devices;
  if (by_ranks) {
    cluster.part_path = part_path(o.out, session, 0);
    cluster.part_shape = file->part_shape();
  }
  install_stop_signals();
  cluster.run.stop = &stop_flag();
  cluster.run.on_progress = [&](const SweepProgress& p) {
    const double rate = p.elapsed_s > 0 ? static_cast<double>(p.combos_done) / p.elapsed_s : 0;
    const double eta = rate > 0 ? static_cast<double>(p.combos_total - p.combos_done) / rate : 0;
    spdlog::info("progress {}/{} ({:.1f}%), {} combos/s, ETA {}", thousands(p.combos_done),
                 thousands(p.combos_total),
                 p.combos_total ? 100.0 * static_cast<double>(p.combos_done) /
                                      static_cast<double>(p.combos_total)
                                : 100.0,
                 thousands(static_cast<std::uint64_t>(rate)), format_duration(eta));
  };
  const dist::ClusterReport report =
      dist::run_coordinator(t, SweepContext(grid, bank), *file, done, summary, workers, cluster);

  const double rate =
      report.wall_s > 0 ? static_cast<double>(report.combos_done) / report.wall_s : 0;
  const double bar_steps = rate * static_cast<double>(bars.size());
  const IndicatorBank::Stats bank_stats = bank.stats();
  std::vector<Attribute> accounting{
      {"wall_seconds", report.wall_s},
      {"combinations_per_second", rate},
      {"writer_seconds", report.writer_busy_s},
      {"indicator_series_built", std::int64_t{bank_stats.built}},
      {"indicator_series_requested", std::int64_t{bank_stats.requested}},
  };
  for (Attribute& a : rank_accounting(report)) accounting.push_back(std::move(a));
  for (auto& [name, value] : report.device_attributes) accounting.push_back({name, value});
  const std::uint64_t bytes_in = file->bytes_in(), bytes_stored = file->bytes_stored();
  // Past this point nothing is left to stop, and a second Ctrl-C must not end the process while
  // the file's last attributes are written.
  ignore_stop_signals();
  const std::uint64_t flags_set = file->finish(accounting, &summary);
  log_ranks(report);

  if (!report.complete) {
    spdlog::warn(
        "stopped, resumable: {} of {} combinations done and saved in {}; run the same command "
        "with --resume to finish",
        thousands(flags_set), thousands(ids), partial);
    return kExitStopped;
  }
  std::error_code ec;
  fs::rename(partial, o.out, ec);
  if (ec) throw OutputError(o.out + ": cannot rename " + partial + " into place: " + ec.message());
  // Part files no virtual dataset of the file reads: a replaced run's, or a resumed run's chunks
  // computed again.
  std::vector<std::string> candidates = file->part_files();
  candidates.insert(candidates.end(), replaced_parts.begin(), replaced_parts.end());
  if (const std::size_t removed = remove_unused_parts(o.out, candidates, file->mapped_part_files()))
    spdlog::info("{}.parts: removed {} part file(s) the results no longer use", o.out, removed);

  spdlog::info(
      "done: {} combinations in {} = {} combos/s, {:.3g} bar-steps/s ({} ranks, {} threads)",
      thousands(report.combos_done), format_duration(report.wall_s),
      thousands(static_cast<std::uint64_t>(rate)), bar_steps, t.size(), all_threads);
  spdlog::info("indicator bank: {} series built ({}) for {} requested on rank 0", bank_stats.built,
               bank_stats.by_kind(), thousands(static_cast<std::uint64_t>(bank_stats.requested)));
  if (by_ranks) {
    spdlog::info(
        "results: {} ({} rows stored by the ranks in {}.parts/; rank 0's part writer thread "
        "busy {:.2f} s, {:.1f} MB of rows stored as {:.1f} MB; /done and /parts by its writer "
        "thread in {:.2f} s)",
        o.out, thousands(report.combos_done), o.out, report.part_busy_s,
        static_cast<double>(report.part_bytes_in) / 1e6,
        static_cast<double>(report.part_bytes_stored) / 1e6, report.writer_busy_s);
  } else if (keep.all()) {
    spdlog::info(
        "results: {} ({} rows stored by rank 0's writer thread in {:.2f} s busy, {:.0f} ns/row; "
        "{:.1f} MB of rows stored as {:.1f} MB)",
        o.out, thousands(report.combos_done), report.writer_busy_s,
        report.combos_done ? 1e9 * report.writer_busy_s / static_cast<double>(report.combos_done)
                           : 0.0,
        static_cast<double>(bytes_in) / 1e6, static_cast<double>(bytes_stored) / 1e6);
  } else {
    spdlog::info("results: {} (--keep {}: {} rows kept in /kept, aggregates in /aggregates)", o.out,
                 keep.text(), summary.keeper() ? thousands(summary.keeper()->ids().size()) : "no");
  }
  if (keep.mode == KeepSpec::Mode::None) return 0;

  // The five best combinations by Sharpe, as `threadx top` would show them (a pass over the whole
  // file: not made when nothing would be shown).
  if (!spdlog::should_log(spdlog::level::info)) return 0;
  ResultsReader reader(o.out);
  RankQuery q;
  q.n = 5;
  const RankResult best = rank_rows(reader, q);
  std::vector<std::string> shown{"combo_id"};
  for (std::size_t p = 0; p < grid.param_count(); ++p)
    if (grid.swept[p]) shown.emplace_back(grid.param(p).name);
  for (const char* m : {"sharpe", "total_return", "max_drawdown", "trades", "win_rate"})
    shown.emplace_back(m);
  std::ostringstream table;
  print_rows(table, reader.columns(), best.rows, shown, false);
  spdlog::info("best by sharpe (threadx top {} --by sharpe):\n{}", o.out, table.str());
  return 0;
}

}  // namespace threadx
