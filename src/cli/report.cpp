// `threadx report`: one self-contained HTML page about a results file (src/report/).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "cli/data_lookup.hpp"
#include "common/error.hpp"
#include "common/time_format.hpp"
#include "data/loader.hpp"
#include "grid/grid.hpp"
#include "indicators/indicator_bank.hpp"
#include "report/aggregate.hpp"
#include "report/html.hpp"
#include "report/rerun.hpp"
#include "report/robust_file.hpp"
#include "results/ranking.hpp"
#include "results/results_reader.hpp"

namespace threadx {
namespace {

namespace fs = std::filesystem;
using report::TextTable;

// "[1, 2, 3]" (an attribute array as ResultsReader prints it) or "a,b,c" into its items.
std::vector<std::string> items_of(std::string s) {
  if (!s.empty() && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  std::vector<std::string> out;
  for (std::string x : split_text(s, ',')) {
    x.erase(0, x.find_first_not_of(' '));
    out.push_back(x);
  }
  return out;
}

std::string cell_text(const unsigned char* row, const Column& c) {
  const double v = ResultsReader::value(row, c);
  if (c.kind != Column::Kind::F64) return format_double(v);
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, std::fabs(v) >= 1000 ? "%.2f" : "%.4f", v);
  return buf;
}

std::vector<TextTable> accounting(const ResultsReader& reader) {
  std::vector<TextTable> out;
  TextTable ranks{"per rank", {"rank"}, {}};
  std::map<std::string, std::map<std::string, std::string>> devices;
  std::vector<std::string> device_fields;
  for (const auto& [name, value] : reader.attributes()) {
    if (name.rfind("rank_", 0) == 0) {
      const std::vector<std::string> v = items_of(value);
      ranks.columns.push_back(name.substr(5));
      if (ranks.rows.size() < v.size()) ranks.rows.resize(v.size());
      for (std::size_t r = 0; r < v.size(); ++r) {
        ranks.rows[r].resize(ranks.columns.size() - 1);
        ranks.rows[r].push_back(v[r]);
      }
    } else if (name.rfind("device.", 0) == 0) {
      const std::size_t dot = name.rfind('.');
      const std::string dev = name.substr(7, dot - 7), field = name.substr(dot + 1);
      devices[dev][field] = value;
      if (std::find(device_fields.begin(), device_fields.end(), field) == device_fields.end())
        device_fields.push_back(field);
    }
  }
  for (std::size_t r = 0; r < ranks.rows.size(); ++r) {
    ranks.rows[r].resize(ranks.columns.size() - 1);
    ranks.rows[r].insert(ranks.rows[r].begin(), std::to_string(r));
  }
  if (!ranks.rows.empty()) out.push_back(ranks);
  if (!devices.empty()) {
    TextTable d{"per device", {"device"}, {}};
    d.columns.insert(d.columns.end(), device_fields.begin(), device_fields.end());
    for (const auto& [dev, fields] : devices) {
      std::vector<std::string> row{dev};
      for (const std::string& f : device_fields) {
        const auto it = fields.find(f);
        row.push_back(it == fields.end() ? "" : it->second);
      }
      d.rows.push_back(row);
    }
    out.push_back(d);
  }
  return out;
}

// Four significant digits, for figures read by a person.
std::string short_num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string value_range(const std::vector<double>& v) {
  if (v.size() == 1) return format_double(v.front());
  return std::to_string(v.size()) + " values, " + format_double(v.front()) + " .. " +
         format_double(v.back());
}

}  // namespace

int run_report(const ReportOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  report::check_metric(o.metric);
  const ResultsReader reader(o.file);
  const std::optional<std::string> grid_text = reader.attribute("grid_text");
  if (!grid_text) throw InputError(o.file + ": no grid_text attribute: not a threadx results file");
  const Grid grid = parse_grid_text(*grid_text, reader.attribute("grid_file").value_or(o.file));
  const bool complete = reader.attribute("complete").value_or("0") == "1";
  const std::string keep = reader.attribute("keep").value_or("all");

  report::AggregateOptions ao;
  ao.metric = o.metric;
  ao.min_trades = o.min_trades;
  ao.top = std::max<std::size_t>(o.top, 1);
  // Every row when the file has them; else /aggregates (a sweep with --keep none or top:...).
  const bool from_rows = reader.has_rows() && !reader.kept_only();
  report::Aggregates ag;
  if (from_rows) {
    ag = report::aggregate(reader, grid, ao);
  } else {
    const std::optional<StoredAggregates> stored = reader.read_aggregates();
    if (!stored || stored->combinations == 0)
      throw InputError(o.file + ": made with --keep " + keep +
                       " and its aggregates are not written yet (the run was killed or is still "
                       "running: `threadx sweep --resume` finishes it)");
    std::vector<std::string> names;
    for (std::size_t p = 0; p < grid.param_count(); ++p) names.emplace_back(grid.param(p).name);
    ag = report::from_stored(*stored, grid, names, ao, o.file);
    // A sweep of a slice (--ids) holds those ids only.
    const std::string end = reader.attribute("ids_end").value_or(std::to_string(grid.size()));
    ag.rows = std::stoull(end) - reader.first_id();
  }
  // The rows of the top table, best first: from /results, or the best of /kept.
  std::vector<std::vector<unsigned char>> top_rows;
  if (from_rows) {
    for (std::size_t k = 0; k < std::min(ag.top.size(), o.top); ++k)
      top_rows.push_back(reader.read_rows(ag.top[k] - reader.first_id(), 1));
  } else if (reader.kept_only() && o.top > 0) {
    // The best kept rows with a finite metric (what the rest of the page counts).
    RankQuery q;
    q.by = o.metric;
    q.n = reader.rows();
    q.ascending = !ag.higher_is_better;
    const Column& metric = *reader.find(o.metric);
    for (std::vector<unsigned char>& row : rank_rows(reader, q).rows)
      if (top_rows.size() < o.top && std::isfinite(ResultsReader::value(row.data(), metric)))
        top_rows.push_back(std::move(row));
  }

  report::Page page;
  page.grid = &grid;
  page.aggregates = &ag;
  page.title = "ThreadX sweep report: " + fs::path(o.file).filename().string();
  // What the sweep kept, in words: its rows are in /kept only once a --keep top run has ended.
  const std::string kept_words =
      reader.kept_only() ? std::to_string(reader.rows()) + " rows: --keep " + keep
      : keep == "none"
          ? std::string("no rows: --keep none")
          : "only the best rows (--keep " + keep + "), which are written when the run ends";
  if (!from_rows)
    page.banners.push_back(
        "Drawn from the aggregates the sweep computed (it kept " + kept_words +
        "): cells show the mean and one standard deviation instead of quartiles, and no filter "
        "applies. A sweep with --keep all gives the full report.");
  if (!complete)
    page.banners.push_back(
        "PARTIAL RESULTS: " + std::to_string(ag.done) + " of " + std::to_string(ag.rows) +
        " combinations are done (the sweep was stopped, crashed or is still running; `threadx "
        "sweep --resume` finishes it). Every figure below covers the done combinations only.");
  if (ag.overall.count == 0)
    page.banners.push_back("No combination passes the filters (done, at least " +
                           std::to_string(o.min_trades) + " trades, a finite " + o.metric + ").");

  auto attr = [&](const char* n) { return reader.attribute(n).value_or(""); };
  auto& h = page.header;
  h.emplace_back("results", o.file + (complete ? " (complete)" : " (PARTIAL)"));
  h.emplace_back("strategy", attr("strategy") + " version " + attr("strategy_version"));
  std::string data = attr("data_files");
  std::replace(data.begin(), data.end(), '\n', ' ');
  h.emplace_back("data",
                 data + (attr("timeframe").empty() ? "" : ", resampled to " + attr("timeframe")));
  h.emplace_back("data SHA-256", attr("data_sha256"));
  h.emplace_back("bars", attr("bar_count") + " bars of " +
                             format_duration(std::stod("0" + attr("bar_ms")) / 1000) + ", " +
                             attr("first_time") + " .. " + attr("last_time"));
  std::string swept, fixed;
  for (const report::Axis& a : ag.axes)
    swept += (swept.empty() ? "" : "\n") + a.name + ": " + value_range(a.values);
  for (std::size_t p = 0; p < grid.param_count(); ++p)
    if (!grid.swept[p])
      fixed += (fixed.empty() ? "" : ", ") + std::string(grid.param(p).name) + "=" +
               format_double(grid.values[p].front());
  h.emplace_back("grid", attr("grid_file"));
  h.emplace_back("swept", swept);
  if (ag.rows != grid.size())
    h.emplace_back("ids", attr("ids_begin") + ":" + attr("ids_end") + " (--ids: " +
                              std::to_string(ag.rows) + " of the grid's combinations)");
  h.emplace_back("fixed", fixed);
  if (from_rows)
    h.emplace_back("combinations", attr("combinations") + " (" + std::to_string(ag.done) +
                                       " done; " + std::to_string(ag.overall.count) +
                                       " counted: " + std::to_string(ag.too_few_trades) +
                                       " with fewer than " + std::to_string(o.min_trades) +
                                       " trades and " + std::to_string(ag.not_finite) +
                                       " with a non-finite " + o.metric + " left out)");
  else
    h.emplace_back("combinations", attr("combinations") + " (" + std::to_string(ag.done) +
                                       " in the aggregates; " + std::to_string(ag.overall.count) +
                                       " counted, " + std::to_string(ag.not_finite) +
                                       " with a non-finite " + o.metric + " left out)");
  if (!attr("wall_seconds").empty())
    h.emplace_back("wall time", format_duration(std::stod(attr("wall_seconds"))) + " (" +
                                    short_num(std::stod("0" + attr("combinations_per_second"))) +
                                    " combinations/s)");
  h.emplace_back("ranks and devices",
                 attr("devices") + (attr("isa").empty() ? "" : "; CPU path " + attr("isa")));
  h.emplace_back("started / ended", attr("start_time") + " / " + attr("end_time"));
  h.emplace_back("program", "threadx " + attr("program_version") + ": " + attr("command_line"));
  h.emplace_back(
      "report",
      "metric " + o.metric + (ag.higher_is_better ? " (higher is better)" : " (lower is better)") +
          ", --min-trades " + std::to_string(o.min_trades) + ", --top " + std::to_string(o.top));

  // Top K, every column of the file.
  page.top.columns.push_back("rank");
  for (const Column& c : reader.columns()) page.top.columns.push_back(c.name);
  for (std::size_t k = 0; k < top_rows.size(); ++k) {
    std::vector<std::string> cells{std::to_string(k + 1)};
    for (const Column& c : reader.columns()) cells.push_back(cell_text(top_rows[k].data(), c));
    page.top.rows.push_back(std::move(cells));
  }
  if (reader.kept_only())
    page.top_note = "Of the " + std::to_string(reader.rows()) + " rows the sweep kept (--keep " +
                    keep + "), those with a finite " + o.metric +
                    ": the best of all combinations by the metrics it kept by.";
  else if (!from_rows)
    page.top_note = "The sweep kept " + kept_words + ". Its best combination by " + o.metric +
                    " is known from the aggregates, and re-run below.";

  // The best combination on the data it was swept on.
  if (ag.overall.count == 0) {
    page.rerun_note = "No combination to re-run.";
  } else {
    const ComboId best = ag.overall.best_id;
    const DataCheck dc = find_data(reader, o.file, o.data);
    if (dc.paths.empty()) {
      // find_data's note ends in "pass --data FILE" when a file was not found.
      page.rerun_note = dc.note + (dc.note.back() == '.' ? "" : " to re-run the best combination.");
      spdlog::warn("{}", page.rerun_note);
    } else {
      const BarSeries bars = load_sweep_bars(reader, dc.paths);
      IndicatorBank bank(bars);
      report::RerunView rv;
      std::string label = "#" + std::to_string(best) + ":";
      const auto idx = grid.indices_of(best);
      for (const report::Axis& a : ag.axes)
        label += " " + a.name + "=" + format_double(a.values[idx[a.param]]);
      rv.run = report::rerun_combination(SweepContext(grid, bank), best);
      const double want = ag.overall.best;
      const double got = metric_value(rv.run.metrics, metric_index(o.metric));
      if (!(got == want || (std::isnan(got) && std::isnan(want))))
        page.banners.push_back("The re-run of the best combination gives " + o.metric + " = " +
                               format_double(got) + ", the results file " + format_double(want) +
                               ": the file was written by another version of the strategy.");
      rv.label = label + " on " + dc.paths.front() + (dc.paths.size() > 1 ? " ..." : "") + ": " +
                 o.metric + " " + short_num(got) + ", total return " +
                 short_num(rv.run.metrics.total_return) + ", max drawdown " +
                 short_num(rv.run.metrics.max_drawdown) + ", " +
                 std::to_string(rv.run.metrics.trades) + " trades";
      rv.time_ms = bars.time_ms;
      rv.close = bars.close;
      page.rerun = std::move(rv);
    }
  }

  std::optional<report::RobustFile> robust;
  if (!o.robust.empty()) {
    robust = report::read_robust_file(o.robust);
    page.robust = &*robust;
  }
  page.accounting = accounting(reader);

  // Written beside the target and renamed: REPORT.html is always a whole page.
  const std::string tmp = o.out + ".partial";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw OutputError(tmp + ": cannot write (" + std::strerror(errno) + ")");
    report::write_page(out, page);
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw OutputError(tmp + ": write failed (disk full?)");
    }
  }
  std::error_code ec;
  fs::rename(tmp, o.out, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw OutputError(o.out + ": cannot write (" + ec.message() + ")");
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  spdlog::info("report: {} ({:.1f} MB, {} combinations counted, {:.2f} s)", o.out,
               static_cast<double>(fs::file_size(o.out)) / 1e6, ag.overall.count, secs);
  std::printf("%s\n", o.out.c_str());
  return 0;
}

}  // namespace threadx
