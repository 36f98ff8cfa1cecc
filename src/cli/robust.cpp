// `threadx robust`: how much of a sweep's best result survives out of sample (docs/ROBUST.md).
// Reads the results file's /blocks in chunks (never modifies the file), builds the mergeable
// partials of src/robust/ over each rank's contiguous range of ids, merges them on rank 0 in rank
// order, re-runs the K best combinations for their return series (the DSR), writes the
// robustness file as "<out>.partial" renamed to <out> when complete, and prints a summary a
// trader can read. Under mpirun every rank takes its share of the rows; the file's datasets are
// the same bit for bit for any rank or thread count.
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "cli/data_lookup.hpp"
#include "common/error.hpp"
#include "common/thousands.hpp"
#include "common/time_format.hpp"
#include "engine/replay.hpp"
#include "grid/grid.hpp"
#include "indicators/indicator_bank.hpp"
#include "mpi/cluster_sweep.hpp"
#include "mpi/mpi_transport.hpp"
#include "mpi/robust_gather.hpp"
#include "results/results_file.hpp"
#include "results/results_reader.hpp"
#include "robust/cscv.hpp"
#include "robust/dsr.hpp"
#include "robust/partials.hpp"
#include "robust/robust_output.hpp"
#include "robust/splits.hpp"
#include "robust/walk_forward.hpp"
#include "strategy/block_stats.hpp"
#include "strategy/catalog.hpp"

namespace threadx {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void check_options(const RobustOptions& o) {
  if (o.file.empty()) throw InputError("a results file is required");
  if (o.out.empty()) throw InputError("--out: an output file is required");
  if (o.dsr < 1) throw InputError("--dsr " + std::to_string(o.dsr) + ": K must be at least 1");
  if (o.wf_mode != "rolling" && o.wf_mode != "anchored")
    throw InputError("--wf-mode " + o.wf_mode + ": must be rolling or anchored");
  if (o.wf_min_trades < 0)
    throw InputError("--wf-min-trades " + std::to_string(o.wf_min_trades) + ": must be >= 0");
  if (o.walk_forward && o.wf_window < 1)
    throw InputError("--wf-window " + std::to_string(o.wf_window) + ": must be at least 1");
  if (!(o.progress_interval_s > 0)) throw InputError("--progress-interval: must be > 0 seconds");
  std::error_code ec;
  if (fs::is_directory(o.out, ec))
    throw InputError("--out " + o.out + ": is a directory; give a file name");
}

// The results file, checked before any work (every rank opens it read-only).
struct Input {
  std::unique_ptr<ResultsReader> reader;
  std::optional<Grid> grid;
  int blocks = 0;         // S
  std::int64_t bars = 0;  // N
  std::vector<std::int64_t> returns_per_block;
};

// A numeric attribute of the results file; InputError naming it when missing or not a number.
template <class T>
T number_attribute(const ResultsReader& r, const std::string& file, const char* name) {
  const std::string text = r.attribute(name).value_or("");
  T v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    throw InputError(file + ": attribute " + name + " is " +
                     (text.empty() ? std::string("missing") : "'" + text + "', not a number"));
  return v;
}

Input open_input(const RobustOptions& o) {
  Input in;
  in.reader = std::make_unique<ResultsReader>(o.file);
  const ResultsReader& r = *in.reader;
  const std::optional<std::string> grid_text = r.attribute("grid_text");
  if (!grid_text) throw InputError(o.file + ": no grid_text attribute: not a threadx results file");
  // The DSR re-runs combinations with this program's strategy: refuse another one before any work.
  const std::string strategy = r.attribute("strategy").value_or("?");
  const std::string version = r.attribute("strategy_version").value_or("?");
  const StrategySpec* known = find_strategy(strategy);
  if (known == nullptr || version != std::to_string(known->version)) {
    std::string runs;  // this strategy's version, or every strategy when it is unknown
    for (const StrategySpec* s : strategy_catalog())
      if (known == nullptr || s == known)
        runs += (runs.empty() ? "" : ", ") + std::string(s->name) + " version " +
                std::to_string(s->version);
    throw InputError(o.file + ": made by strategy " + strategy + " version " + version +
                     "; this threadx runs " + runs);
  }
  if (r.attribute("complete").value_or("0") != "1") {
    const std::vector<std::uint8_t> done = r.read_done();
    throw InputError(
        o.file + ": the sweep is not complete (" +
        thousands(static_cast<std::uint64_t>(std::count(done.begin(), done.end(), 1))) + " of " +
        thousands(r.rows()) + " combinations done): finish it with threadx sweep --resume");
  }
  in.blocks = r.blocks();
  if (in.blocks == 0) throw InputError(o.file + ": no /blocks: run the sweep with --blocks S");
  const std::string s = std::to_string(in.blocks);
  if (o.cscv && in.blocks > robust::kMaxCscvBlocks)
    throw InputError("--cscv: " + o.file + " has S = " + s +
                     " blocks; CSCV is limited to S <= " + std::to_string(robust::kMaxCscvBlocks));
  if (o.cscv && in.blocks % 2 != 0)
    throw InputError("--cscv: " + o.file + " has S = " + s +
                     " blocks; CSCV needs an even S (run the sweep with --blocks " +
                     std::to_string(in.blocks + 1) + ")");
  if (o.walk_forward && o.wf_window >= in.blocks)
    throw InputError("--wf-window " + std::to_string(o.wf_window) +
                     ": must be between 1 and S - 1 = " + std::to_string(in.blocks - 1) + " (" +
                     o.file + " has S = " + s + " blocks)");
  in.bars = number_attribute<std::int64_t>(r, o.file, "bar_count");
  if (in.bars - 1 < in.blocks)
    throw InputError(o.file + ": " + std::to_string(in.bars) + " bars cannot make " + s +
                     " blocks");
  in.returns_per_block = returns_per_block(in.bars, in.blocks);
  in.grid = parse_grid_text(*grid_text, r.attribute("grid_file").value_or(o.file));
  if (in.grid->size() != r.rows())
    throw InputError(o.file + ": /results has " + thousands(r.rows()) + " rows but its grid " +
                     thousands(in.grid->size()) + " combinations");
  return in;
}

// Refuses to replace an existing --out without --force, and ever to write over the results file.
void check_output(const RobustOptions& o) {
  std::error_code ec;
  for (const std::string& p : {o.out, o.out + ".partial"})
    if (fs::exists(p, ec) && fs::equivalent(p, o.file, ec))
      throw InputError("--out " + o.out + ": that is the results file itself");
  if (fs::exists(o.out, ec) && !o.force)
    throw OutputError(o.out + ": already exists; add --force to replace it");
}

robust::RobustPlan make_plan(const RobustOptions& o, const Input& in, unsigned threads) {
  robust::RobustPlan plan;
  plan.blocks = in.blocks;
  plan.returns_per_block = in.returns_per_block;
  plan.dsr_k = o.dsr;
  if (o.walk_forward)
    plan.walk_forward = robust::WalkForwardConfig{
        static_cast<int>(o.wf_window), robust::parse_walk_mode(o.wf_mode), o.wf_min_trades};
  plan.threads = threads;
  plan.rows_per_read = o.rows_per_read;
  return plan;
}

// Every core, shared with the other ranks of the node.
unsigned robust_threads(const RobustOptions& o, const dist::Transport& t) {
  if (o.threads != 0) return o.threads;
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  return std::max(1u, hw / static_cast<unsigned>(std::max(1, t.local_size())));
}

int run_worker_rank(const RobustOptions& o, dist::Transport& t, unsigned threads) {
  dist::Hello hello{dist::this_host(), static_cast<std::int64_t>(getpid()), threads, ""};
  std::optional<Input> in;
  try {
    in = open_input(o);
  } catch (const std::exception& e) {
    hello.error = e.what();
  }
  // Rank 0 refused the job and reports why; exiting 0 here keeps mpirun from ending the job
  // (rank 0 included) before that line is out. The job's exit status is rank 0's.
  if (dist::worker_hello(t, hello) != 0) return 0;
  const robust::RobustPlan plan = make_plan(o, *in, threads);
  const auto [begin, end] = dist::robust_rows_of_rank(in->reader->rows(), t.size(), t.rank());
  const robust::RobustPartial partial = robust::compute_partial(*in->reader, plan, begin, end);
  dist::send_bytes(t, 0, dist::serialize(partial));
  if (o.cscv) {  // both CSCV passes over this rank's own streams, against the merged selection
    dist::ByteInbox inbox(t);
    dist::send_bytes(t, 0, dist::serialize(robust::cscv_select(partial.streams, threads)));
    const robust::CscvSelection merged = dist::deserialize_selection(inbox.next(0));
    dist::send_bytes(t, 0, dist::serialize(robust::cscv_rank(partial.streams, merged, threads)));
  }
  t.drain();
  return 0;
}

// The selected combination's returns, re-run on the sweep's bars, must give back its /blocks
// sums bit for bit; otherwise the file was made by another strategy version or other bars.
void check_replay(const RobustOptions& o, const Input& in, ComboId id,
                  const std::vector<double>& returns) {
  const std::vector<BlockStats> want = in.reader->read_blocks(id, 1);
  const std::vector<std::int64_t> starts = block_start_bars(in.bars, in.blocks);
  for (int b = 0; b < in.blocks; ++b) {
    double s1 = 0.0, s2 = 0.0;
    for (std::int64_t i = starts[static_cast<std::size_t>(b)];
         i < starts[static_cast<std::size_t>(b) + 1]; ++i) {
      const double r = returns[static_cast<std::size_t>(i - 1)];
      s1 += r;
      s2 += r * r;
    }
    const BlockStats& w = want[static_cast<std::size_t>(b)];
    if (std::bit_cast<std::uint64_t>(s1) != std::bit_cast<std::uint64_t>(w.sum_r) ||
        std::bit_cast<std::uint64_t>(s2) != std::bit_cast<std::uint64_t>(w.sum_r2))
      throw InputError(o.file + ": re-running combination " + std::to_string(id) +
                       " does not give back its /blocks (block " + std::to_string(b) +
                       "): the file was written by another version of the strategy or from "
                       "other bars");
  }
}

// ---- the printed summary ------------------------------------------------------------------------

std::string num(double v, int digits = 4) {
  if (std::isnan(v)) return "NaN";
  return fmt::format("{:.{}g}", v, digits);
}

std::string percent(double v) {
  if (std::isnan(v)) return "NaN";
  return fmt::format("{:+.2f}%", 100.0 * v);
}

struct SummaryContext {
  const RobustOptions* o;
  const Input* in;
  std::int64_t streams = 0;
  double bars_per_year = 0;  // 0: unknown, nothing annualised
  std::string annualised(double per_bar) const {
    if (bars_per_year <= 0 || std::isnan(per_bar)) return "";
    return num(per_bar * std::sqrt(bars_per_year), 3);
  }
};

// Bitwise equal SR*, skewness and kurtosis: in practice the same return series.
bool same_figures(const robust::DsrRow& a, const robust::DsrRow& b) {
  auto bits = [](double v) { return std::bit_cast<std::uint64_t>(v); };
  return bits(a.sharpe) == bits(b.sharpe) && bits(a.skewness) == bits(b.skewness) &&
         bits(a.kurtosis) == bits(b.kurtosis);
}

std::string dsr_verdict(const robust::DsrRow& d) {
  if (std::isnan(d.dsr)) {
    if (std::isnan(d.skewness))
      return "DSR undefined: its returns are constant (it never trades), there is nothing to test.";
    return "DSR undefined: the variance term of the formula is not positive (see ROBUST.md, "
           "section 8, note 6).";
  }
  const std::string n = thousands(static_cast<std::uint64_t>(d.trials));
  if (d.dsr < 0.5)
    return fmt::format(
        "DSR {:.2f}: no better than the best of {} distinct random strategies would look.", d.dsr,
        n);
  if (d.dsr < 0.95)
    return fmt::format(
        "DSR {:.2f}: better than the best of {} random strategies would usually look, but short "
        "of the 0.95 that would make luck an unlikely explanation.",
        d.dsr, n);
  return fmt::format(
      "DSR {:.2f}: unlikely to be luck alone (the best of {} random strategies would look this "
      "good with probability {:.2g}).",
      d.dsr, n, 1.0 - d.dsr);
}

std::string pbo_verdict(const robust::CscvResult& c) {
  if (c.pbo >= 0.5)
    return fmt::format(
        "PBO {:.2f}: the in-sample winner is more likely than not to end in the bottom half out "
        "of sample; ranking this sweep by Sharpe mostly ranks luck.",
        c.pbo);
  if (c.pbo >= 0.1)
    return fmt::format(
        "PBO {:.2f}: the in-sample winner ends in the bottom half out of sample in {:.0f}% of the "
        "splits; the ranking carries some information, and much overfitting.",
        c.pbo, 100.0 * c.pbo);
  return fmt::format(
      "PBO {:.2f}: the in-sample winner usually stays in the top half out of sample.", c.pbo);
}

void print_summary(const SummaryContext& ctx, const robust::RobustOutput& out) {
  const RobustOptions& o = *ctx.o;
  const Input& in = *ctx.in;
  const auto [lo, hi] =
      std::minmax_element(in.returns_per_block.begin(), in.returns_per_block.end());
  std::string s = fmt::format(
      "Robustness of {} ({} combinations, {} distinct return streams)\n"
      "  {} blocks of {}{} bars ({} returns); Sharpe ratios are per bar{}\n",
      o.file, thousands(in.reader->rows()), thousands(static_cast<std::uint64_t>(ctx.streams)),
      in.blocks, thousands(static_cast<std::uint64_t>(*lo)),
      *lo == *hi ? "" : "-" + thousands(static_cast<std::uint64_t>(*hi)),
      thousands(static_cast<std::uint64_t>(in.bars - 1)),
      ctx.bars_per_year > 0
          ? fmt::format(", annualised x sqrt({:.0f} bars a year)", ctx.bars_per_year)
          : "");

  if (out.cscv) {
    const robust::CscvResult& c = *out.cscv;
    auto of_splits = [&](double share) {  // the count behind a share of the C splits
      return thousands(
          static_cast<std::uint64_t>(std::llround(share * static_cast<double>(c.splits))));
    };
    s += fmt::format(
        "\nCSCV: {} splits of the {} blocks into {} in sample and {} out of sample, {} "
        "candidates\n"
        "  PBO (probability of backtest overfitting)  {:.4f}  ({} of {} splits)\n"
        "  probability of an out-of-sample loss       {:.4f}  ({} of {} splits)\n"
        "  degradation: OOS Sharpe = {} {} {} x IS Sharpe (per bar){}\n",
        thousands(static_cast<std::uint64_t>(c.splits)), c.blocks, c.blocks / 2, c.blocks / 2,
        thousands(static_cast<std::uint64_t>(c.candidates)), c.pbo, of_splits(c.pbo),
        thousands(static_cast<std::uint64_t>(c.splits)), c.prob_oos_loss,
        of_splits(c.prob_oos_loss), thousands(static_cast<std::uint64_t>(c.splits)),
        num(c.intercept), c.slope < 0 ? "-" : "+", num(std::fabs(c.slope)),
        std::isnan(c.slope) ? " (no line: every split chose the same in-sample Sharpe)"
        : c.slope < 1       ? ": in-sample Sharpe does not carry over in full"
                            : "");
  }

  if (!out.dsr.empty()) {
    const robust::DsrRow& first = out.dsr.front();
    s += fmt::format(
        "\nDeflated Sharpe Ratio of the {} best by Sharpe: N_t = {} trials (distinct streams), "
        "V = {}, SR0 = {} per bar{}\n",
        out.dsr.size(), thousands(static_cast<std::uint64_t>(first.trials)), num(first.var_sharpe),
        num(first.sr0),
        ctx.bars_per_year > 0 ? " (" + ctx.annualised(first.sr0) + " annualised)" : "");
    s += fmt::format("  {:>4} {:>10} {:>11} {:>10} {:>9} {:>9} {:>7} {:>7}\n", "rank", "combo_id",
                     "Sharpe/bar", "annualised", "skewness", "kurtosis", "DSR", "PSR0");
    for (std::size_t k = 0; k < out.dsr.size(); ++k) {
      const robust::DsrRow& d = out.dsr[k];
      // A row with the very figures of an earlier one: parameters that changed no trade.
      std::string twin;
      for (std::size_t e = 0; e < k && twin.empty(); ++e)
        if (same_figures(out.dsr[e], d))
          twin = fmt::format("  same returns as #{}", out.dsr[e].combo_id);
      s += fmt::format("  {:>4} {:>10} {:>11} {:>10} {:>9} {:>9} {:>7} {:>7}{}\n", k + 1,
                       d.combo_id, num(d.sharpe), ctx.annualised(d.sharpe), num(d.skewness),
                       num(d.kurtosis), num(d.dsr, 3), num(d.psr0, 3), twin);
    }
  }

  if (out.walk_forward) {
    const robust::WalkForwardResult& w = *out.walk_forward;
    s += fmt::format(
        "\nWalk-forward: {} window of {} block(s), at least {} in-sample trade(s) to be chosen\n",
        robust::walk_mode_name(w.config.mode), w.config.window, w.config.min_trades);
    s += fmt::format("  {:>4} {:>9} {:>10} {:>10} {:>11} {:>10} {:>7}\n", "fold", "in-sample",
                     "chosen", "IS Sharpe", "OOS Sharpe", "OOS return", "trades");
    for (const robust::WalkForwardFold& f : w.folds)
      s += fmt::format("  {:>4} {:>9} {:>10} {:>10} {:>11} {:>10} {:>7}\n", f.fold,
                       fmt::format("{}-{}", f.is_first_block, f.is_last_block),
                       f.chosen < 0 ? std::string("flat") : std::to_string(f.chosen),
                       num(f.is_sharpe), num(f.oos_sharpe), percent(f.oos_growth - 1.0),
                       f.oos_trades);
    s += fmt::format(
        "  stitched out of sample: Sharpe {} per bar{}, total return {}, {} trades, "
        "walk-forward efficiency {}\n",
        num(w.oos_sharpe),
        ctx.bars_per_year > 0 ? " (" + ctx.annualised(w.oos_sharpe) + " annualised)" : "",
        percent(w.oos_total_return), w.oos_trades, num(w.wf_efficiency, 3));
  }

  if (!out.dsr.empty()) {
    const robust::DsrRow& best = out.dsr.front();
    s += fmt::format(
        "\nVerdict on the best in-sample combination, #{} (Sharpe {} per bar{}):\n", best.combo_id,
        num(best.sharpe),
        ctx.bars_per_year > 0 ? ", " + ctx.annualised(best.sharpe) + " annualised" : "");
    s += "  " + dsr_verdict(best) + "\n";
    if (out.cscv) s += "  " + pbo_verdict(*out.cscv) + "\n";
    if (out.walk_forward)
      s += fmt::format(
          "  Choosing on the past and trading the next block returned {} out of "
          "sample.\n",
          percent(out.walk_forward->oos_total_return));
  }
  std::fputs(s.c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace

int run_robust(const RobustOptions& o) {
  check_options(o);
  const auto t0 = Clock::now();
  const std::string start_time = now_utc_iso();
  const std::unique_ptr<dist::Transport> transport = dist::connect();
  dist::Transport& t = *transport;
  const unsigned threads = robust_threads(o, t);
  if (t.rank() != 0) {
    spdlog::set_pattern(fmt::format("[%H:%M:%S] [rank {}] %^%l%$ %v", t.rank()));
    if (spdlog::get_level() < spdlog::level::warn) spdlog::set_level(spdlog::level::warn);
    return run_worker_rank(o, t, threads);
  }

  // ---- every check before any work; until the workers are told to start, every way out of
  // rank 0 must release them ----
  std::optional<Input> in;
  std::optional<BarSeries> bars;
  dist::StartGate gate(t);
  try {
    in = open_input(o);
    check_output(o);
    // The DSR re-runs the selected combinations: the bars are needed, found now rather than
    // after the whole file was read.
    const DataCheck dc = find_data(*in->reader, o.file, o.data);
    if (dc.paths.empty())
      throw InputError(dc.note + (dc.note.back() == '.' ? ""
                                                        : " (the DSR re-runs the best "
                                                          "combinations on the sweep's bars)"));
    bars = load_sweep_bars(*in->reader, dc.paths);
    if (static_cast<std::int64_t>(bars->size()) != in->bars)
      throw InputError(dc.paths.front() + ": " + std::to_string(bars->size()) + " bars, but " +
                       o.file + " was swept over " + std::to_string(in->bars));
    gate.collect();
  } catch (...) {
    gate.fail();
    throw;
  }
  gate.release(0);

  const ResultsReader& reader = *in->reader;
  const robust::RobustPlan plan = make_plan(o, *in, threads);
  const std::uint64_t rows = reader.rows();
  const auto [begin, end] = dist::robust_rows_of_rank(rows, t.size(), 0);
  spdlog::info(
      "robust {}: {} combinations x {} blocks ({} bars), {} rank(s), {} thread(s) on "
      "rank 0",
      o.file, thousands(rows), in->blocks, thousands(static_cast<std::uint64_t>(in->bars)),
      t.size(), threads);

  // ---- pass over /blocks: this rank's rows, then the other ranks' partials ----
  auto last_log = Clock::now();
  const auto read_start = Clock::now();
  const std::uint64_t share = end - begin;
  auto progress = [&](std::uint64_t done) {
    if (seconds_since(last_log) < o.progress_interval_s) return;
    last_log = Clock::now();
    const double rate = static_cast<double>(done) / std::max(seconds_since(read_start), 1e-9);
    spdlog::info(
        "read {}/{} rows of /blocks{} ({:.1f}%), {} rows/s, ETA {}", thousands(done),
        thousands(share), t.size() > 1 ? " (rank 0's share)" : "",
        100.0 * static_cast<double>(done) / static_cast<double>(std::max<std::uint64_t>(share, 1)),
        thousands(static_cast<std::uint64_t>(rate)),
        format_duration(rate > 0 ? static_cast<double>(share - done) / rate : 0));
  };
  robust::RobustPartial all = robust::compute_partial(reader, plan, begin, end, progress);
  dist::ByteInbox inbox(t);
  // Under MPI every rank runs CSCV over its own streams; rank 0 keeps its share for that.
  std::optional<robust::StreamSet> own_streams;
  if (t.size() > 1 && o.cscv) own_streams = all.streams;
  if (t.size() > 1) all = dist::gather_robust_partials(t, inbox, std::move(all), plan);
  const robust::StreamSet& streams = all.streams;
  spdlog::info("read {} rows of /blocks in {}: {} distinct return streams", thousands(rows),
               format_duration(seconds_since(read_start)), thousands(streams.size()));

  robust::RobustOutput out;
  const robust::TrialStats trials = robust::trial_stats(streams);
  if (o.cscv) {
    const robust::StreamSet& mine = own_streams ? *own_streams : streams;
    // Alone, rank 0 may take all the node's cores; under MPI the other ranks run CSCV too.
    const unsigned cscv_threads = o.threads != 0 || t.size() > 1
                                      ? threads
                                      : std::max(1u, std::thread::hardware_concurrency());
    const auto c0 = Clock::now();
    const std::int64_t splits = robust::cscv_split_count(in->blocks);
    spdlog::info("CSCV: {} splits over {} distinct streams{}, {} thread(s)",
                 thousands(static_cast<std::uint64_t>(splits)), thousands(mine.size()),
                 t.size() > 1 ? " (rank 0's share)" : "", cscv_threads);
    auto last = Clock::now();
    const double total = 2.0 * static_cast<double>(std::max<std::size_t>(mine.size(), 1));
    auto progress_of = [&](int pass) {
      return [&, pass](std::size_t done) {
        if (seconds_since(last) < o.progress_interval_s) return;
        last = Clock::now();
        const double part = (static_cast<double>(pass - 1) * static_cast<double>(mine.size()) +
                             static_cast<double>(done)) /
                            total;
        const double spent = seconds_since(c0);
        spdlog::info("CSCV pass {} of 2 ({}): {}/{} streams x {} splits, {:.1f}% done, ETA {}",
                     pass, pass == 1 ? "in-sample best" : "out-of-sample ranks", thousands(done),
                     thousands(mine.size()), thousands(static_cast<std::uint64_t>(splits)),
                     100.0 * part, format_duration(spent / part - spent));
      };
    };
    robust::CscvSelection selection =
        robust::cscv_select_in_slices(mine, cscv_threads, o.cscv_slice_streams, progress_of(1));
    if (t.size() > 1) {
      selection = dist::gather_selections(t, inbox, std::move(selection));
      const std::vector<std::byte> merged = dist::serialize(selection);
      for (int r = 1; r < t.size(); ++r) dist::send_bytes(t, r, merged);
    }
    robust::CscvRanks ranks = robust::cscv_rank_in_slices(mine, selection, cscv_threads,
                                                          o.cscv_slice_streams, progress_of(2));
    if (t.size() > 1) ranks = dist::gather_ranks(t, inbox, std::move(ranks));
    out.cscv = robust::cscv_result(selection, ranks);
    spdlog::info("CSCV: {} splits done in {}", thousands(static_cast<std::uint64_t>(splits)),
                 format_duration(seconds_since(c0)));
  }
  if (all.walk_forward) out.walk_forward = robust::walk_forward_result(*all.walk_forward);

  // ---- DSR: the K best re-run for their returns ----
  IndicatorBank bank(*bars);
  const SweepContext sweep(*in->grid, bank);
  for (const robust::RankedCombination& c : all.top) {
    const auto id = static_cast<ComboId>(c.id);
    const std::vector<double> returns = replay_returns(sweep, id);
    check_replay(o, *in, id, returns);
    out.dsr.push_back(robust::dsr_row(c.id, returns, trials));
  }

  // ---- the file: "<out>.partial", renamed when complete ----
  auto attr = [&](const char* n) { return reader.attribute(n).value_or(""); };
  std::vector<Attribute> attributes{
      {"results_file", o.file},
      {"results_start_time", attr("start_time")},
      {"results_end_time", attr("end_time")},
      {"results_combinations", static_cast<std::int64_t>(rows)},
      {"data_sha256", attr("data_sha256")},
      {"blocks", std::int64_t{in->blocks}},
      {"bar_count", in->bars},
      {"returns_per_block", in->returns_per_block},
      {"cscv", std::int64_t{o.cscv ? 1 : 0}},
      {"dsr_k", o.dsr},
      {"wf_window", o.walk_forward ? o.wf_window : std::int64_t{0}},
      {"wf_mode", o.wf_mode},
      {"wf_min_trades", o.wf_min_trades},
      {"program_version", std::string(THREADX_VERSION)},
      // Run-specific, excluded when two runs are compared:
      {"command_line", o.command_line},
      {"ranks", std::int64_t{t.size()}},
      {"threads", std::int64_t{threads}},
      {"start_time", start_time},
      {"end_time", now_utc_iso()},
      {"wall_seconds", seconds_since(t0)},
  };
  const std::string partial = o.out + ".partial";
  try {
    robust::write_robust_file(partial, out, attributes);
  } catch (...) {
    std::error_code ec;
    fs::remove(partial, ec);
    throw;
  }
  std::error_code ec;
  fs::rename(partial, o.out, ec);
  if (ec) {
    fs::remove(partial, ec);
    throw OutputError(o.out + ": cannot rename " + partial + " into place: " + ec.message());
  }
  spdlog::info("robust: {} written in {}", o.out, format_duration(seconds_since(t0)));

  SummaryContext ctx{&o, &*in, static_cast<std::int64_t>(streams.size()), 0};
  if (const std::optional<std::string> bpy = reader.attribute("bars_per_year"))
    ctx.bars_per_year = number_attribute<double>(reader, o.file, "bars_per_year");
  print_summary(ctx, out);
  return 0;
}

}  // namespace threadx
