#include "report/aggregate.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <numeric>
#include <thread>

#include "common/error.hpp"
#include "results/aggregates.hpp"
#include "strategy/metrics.hpp"

namespace threadx::report {
namespace {

// Summarises values [begin, end) (reordered); best and best_id are the caller's.
void fill_quantiles(Cell& c, std::vector<double>::iterator begin,
                    std::vector<double>::iterator end) {
  if (begin == end) return;
  const auto n = static_cast<double>(end - begin);
  c.mean = std::accumulate(begin, end, 0.0) / n;
  double ss = 0;
  for (auto it = begin; it != end; ++it) ss += (*it - c.mean) * (*it - c.mean);
  c.sd = end - begin > 1 ? std::sqrt(ss / (n - 1)) : 0.0;
  c.min = *std::min_element(begin, end);
  c.max = *std::max_element(begin, end);
  c.q1 = quantile_inplace(begin, end, 0.25);
  c.median = quantile_inplace(begin, end, 0.5);
  c.q3 = quantile_inplace(begin, end, 0.75);
}

class Better {
 public:
  explicit Better(bool higher) : higher_(higher) {}
  [[nodiscard]] bool operator()(double a, double b) const { return higher_ ? a > b : a < b; }

 private:
  bool higher_;
};

// Cells of a grouping of the kept combinations: cell = key(k) for combination k, n cells.
// Counting sort of the metric values by cell into scratch, then quantiles per cell's slice.
template <class Key>
std::vector<Cell> group(const Aggregator::Kept& kept, std::size_t n, const Key& key, Better better,
                        std::vector<double>& scratch) {
  std::vector<Cell> cells(n);
  std::vector<std::uint64_t> start(n + 1, 0);
  const std::size_t m = kept.metric.size();
  for (std::size_t k = 0; k < m; ++k) {
    Cell& c = cells[key(k)];
    ++c.count;
    // Ids ascend with k: a strictly better value is needed to replace, so ties keep the first.
    if (c.count == 1 || better(kept.metric[k], c.best)) {
      c.best = kept.metric[k];
      c.best_id = kept.id[k];
    }
  }
  for (std::size_t i = 0; i < n; ++i) start[i + 1] = start[i] + cells[i].count;
  scratch.resize(m);
  std::vector<std::uint64_t> at(start.begin(), start.end() - 1);
  for (std::size_t k = 0; k < m; ++k) scratch[at[key(k)]++] = kept.metric[k];
  for (std::size_t i = 0; i < n; ++i)
    fill_quantiles(cells[i], scratch.begin() + static_cast<std::ptrdiff_t>(start[i]),
                   scratch.begin() + static_cast<std::ptrdiff_t>(start[i + 1]));
  return cells;
}

}  // namespace

bool lower_is_better(const std::string& metric) {
  const std::size_t i = metric_index(metric);
  return i < kMetrics.size() && threadx::lower_is_better(i);
}

void check_metric(const std::string& metric) {
  if (metric_index(metric) == kMetrics.size())
    throw InputError("unknown metric '" + metric + "' (metrics: " + metric_names() + ")");
}

double quantile_inplace(std::vector<double>::iterator begin, std::vector<double>::iterator end,
                        double q) {
  const auto n = static_cast<std::size_t>(end - begin);
  const double pos = q * static_cast<double>(n - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const double frac = pos - static_cast<double>(lo);
  const auto lo_it = begin + static_cast<std::ptrdiff_t>(lo);
  std::nth_element(begin, lo_it, end);
  const double a = *lo_it;
  if (frac == 0.0 || lo + 1 >= n) return a;
  const double b = *std::min_element(lo_it + 1, end);
  return a + frac * (b - a);
}

namespace {

// The swept parameters among names, in that order.
std::vector<Axis> chart_axes(const Grid& grid, const std::vector<std::string>& names) {
  std::vector<Axis> axes;
  for (const std::string& name : names) {
    for (std::size_t p = 0; p < grid.param_count(); ++p) {
      if (grid.param(p).name != name || !grid.swept[p]) continue;
      if (grid.values[p].size() > std::numeric_limits<std::uint16_t>::max())
        throw InputError("parameter " + name + " has more than 65,535 values: too many to chart");
      axes.push_back({name, p, grid.values[p]});
    }
  }
  return axes;
}

// One metric over a set of combinations, as /aggregates stores it.
struct Stats {
  std::uint64_t count = 0;
  double sum = 0, sumsq = 0, max = kNaN, min = kNaN;
  ComboId max_id = 0, min_id = 0;

  void merge(const Stats& o) {
    if (o.count == 0) return;
    if (count == 0) {
      max = o.max;
      max_id = o.max_id;
      min = o.min;
      min_id = o.min_id;
    } else {
      keep_max(max, max_id, o.max, o.max_id);  // the rule of MetricStats::merge
      keep_min(min, min_id, o.min, o.min_id);
    }
    count += o.count;
    sum += o.sum;
    sumsq += o.sumsq;
  }
  [[nodiscard]] Cell cell(bool higher) const {
    Cell c;
    c.count = count;
    if (count == 0) return c;
    c.min = min;
    c.max = max;
    c.best = higher ? max : min;
    c.best_id = higher ? max_id : min_id;
    const auto n = static_cast<double>(count);
    c.mean = sum / n;
    c.sd = 0;
    if (count > 1) c.sd = std::sqrt(std::max(0.0, (sumsq - sum * c.mean) / (n - 1)));
    return c;
  }
};

}  // namespace

Aggregator::Aggregator(const Grid& grid, const std::vector<std::string>& axis_names,
                       const AggregateOptions& o)
    : o_(o) {
  check_metric(o.metric);
  out_.metric = o.metric;
  out_.higher_is_better = !lower_is_better(o.metric);
  out_.rows = grid.size();
  out_.axes = chart_axes(grid, axis_names);
}

void Aggregator::add(ComboId id, const ParamIndex& idx, double metric, double trades) {
  ++out_.done;
  if (trades < static_cast<double>(o_.min_trades)) {
    ++out_.too_few_trades;
    return;
  }
  if (!std::isfinite(metric)) {
    ++out_.not_finite;
    return;
  }
  kept_.metric.push_back(metric);
  kept_.id.push_back(id);
  for (const Axis& a : out_.axes) kept_.digits.push_back(static_cast<std::uint16_t>(idx[a.param]));
}

Aggregates Aggregator::finish() {
  Aggregates out = std::move(out_);
  const Kept& kept = kept_;
  const AggregateOptions& o = o_;
  const Better better(out.higher_is_better);
  const std::size_t n_axes = out.axes.size();
  const std::size_t m = kept.metric.size();
  out.overall.count = m;

  // Top K: best first, ties by smaller id.
  {
    std::vector<std::size_t> order(m);
    for (std::size_t k = 0; k < m; ++k) order[k] = k;
    const std::size_t k_top = std::min(o.top, m);
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k_top),
                      order.end(), [&](std::size_t x, std::size_t y) {
                        if (kept.metric[x] != kept.metric[y])
                          return better(kept.metric[x], kept.metric[y]);
                        return kept.id[x] < kept.id[y];
                      });
    for (std::size_t k = 0; k < k_top; ++k) out.top.push_back(kept.id[order[k]]);
  }

  // The groupings: everything, each axis, each pair of axes with 2+ values; spread over threads.
  struct Job {
    int kind;  // 0 overall, 1 axis, 2 pair
    std::size_t a, b;
  };
  std::vector<Job> jobs{{0, 0, 0}};
  for (std::size_t a = 0; a < n_axes; ++a) jobs.push_back({1, a, 0});
  for (std::size_t a = 0; a < n_axes; ++a)
    for (std::size_t b = a + 1; b < n_axes; ++b)
      if (out.axes[a].values.size() > 1 && out.axes[b].values.size() > 1) jobs.push_back({2, a, b});
  out.sensitivity.resize(n_axes);
  std::vector<std::vector<Cell>> results(jobs.size());
  auto run = [&](std::size_t j, std::vector<double>& scratch) {
    const Job& job = jobs[j];
    if (job.kind == 0) {
      results[j] = group(
          kept, 1, [](std::size_t) { return std::size_t{0}; }, better, scratch);
    } else if (job.kind == 1) {
      results[j] = group(
          kept, out.axes[job.a].values.size(),
          [&](std::size_t k) { return std::size_t{kept.digits[k * n_axes + job.a]}; }, better,
          scratch);
    } else {
      const std::size_t nb = out.axes[job.b].values.size();
      results[j] = group(
          kept, out.axes[job.a].values.size() * nb,
          [&](std::size_t k) {
            return std::size_t{kept.digits[k * n_axes + job.a]} * nb +
                   kept.digits[k * n_axes + job.b];
          },
          better, scratch);
    }
  };
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t n_threads = std::min<std::size_t>(o.threads ? o.threads : hw, jobs.size());
  std::vector<std::thread> pool;
  std::atomic<std::size_t> next{0};
  for (std::size_t t = 0; t < n_threads; ++t)
    pool.emplace_back([&] {
      std::vector<double> scratch;
      for (std::size_t j; (j = next.fetch_add(1)) < jobs.size();) run(j, scratch);
    });
  for (std::thread& t : pool) t.join();
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const Job& job = jobs[j];
    if (job.kind == 0)
      out.overall = results[j].front();
    else if (job.kind == 1)
      out.sensitivity[job.a] = std::move(results[j]);
    else
      out.pairs.push_back({job.a, job.b, std::move(results[j])});
  }

  // Histogram over the central 99% (the tails go to the end bins, so one outlier cannot squeeze
  // the rest into a single bar), or over [min, max] when that is narrower.
  Histogram& h = out.histogram;
  h.counts.assign(std::max<std::size_t>(o.bins, 1), 0);
  if (m > 0) {
    std::vector<double> v = kept.metric;
    h.lo = quantile_inplace(v.begin(), v.end(), 0.005);
    h.hi = quantile_inplace(v.begin(), v.end(), 0.995);
    if (!(h.hi > h.lo)) {
      h.lo = out.overall.min;
      h.hi = out.overall.max;
    }
    if (!(h.hi > h.lo)) h.hi = h.lo + 1.0;  // a single value: one bar
    const double width = (h.hi - h.lo) / static_cast<double>(h.counts.size());
    for (const double x : kept.metric) {
      if (x < h.lo) ++h.below;
      if (x > h.hi) ++h.above;
      const double f = std::floor((x - h.lo) / width);
      const auto last = static_cast<double>(h.counts.size() - 1);
      ++h.counts[static_cast<std::size_t>(std::clamp(f, 0.0, last))];
    }
  }
  return out;
}

Aggregates aggregate(const ResultsReader& reader, const Grid& grid, const AggregateOptions& o) {
  check_metric(o.metric);
  const ComboId first = reader.first_id();
  if (first > grid.size() || reader.rows() > grid.size() - first)
    throw InputError("the results file has rows for ids " + std::to_string(first) + " to " +
                     std::to_string(first + reader.rows()) + " but its grid has " +
                     std::to_string(grid.size()) + " combinations");
  const Column* metric = reader.find(o.metric);
  if (metric == nullptr) throw InputError("the results file has no column '" + o.metric + "'");
  const Column* trades = reader.find("trades");
  // The axes: the swept parameters, in column order (the file's columns name them).
  std::vector<std::string> names;
  for (const Column& c : reader.columns()) names.push_back(c.name);
  Aggregator agg(grid, names, o);

  // One pass over /results in chunks.
  const std::vector<std::uint8_t> done = reader.read_done();
  ParamIndex idx = grid.indices_of(first);
  for (std::uint64_t begin = 0; begin < reader.rows(); begin += o.rows_per_read) {
    const std::uint64_t count = std::min<std::uint64_t>(o.rows_per_read, reader.rows() - begin);
    const std::vector<unsigned char> rows = reader.read_rows(begin, count);
    for (std::uint64_t r = 0; r < count; ++r, grid.advance(idx)) {
      if (done[begin + r] == 0) continue;
      const unsigned char* row = rows.data() + r * reader.row_size();
      agg.add(first + begin + r, idx, ResultsReader::value(row, *metric),
              trades != nullptr ? ResultsReader::value(row, *trades) : 0.0);
    }
  }
  Aggregates out = agg.finish();
  out.rows = reader.rows();  // the ids the file holds (a slice with --ids)
  return out;
}

Aggregates from_stored(const StoredAggregates& stored, const Grid& grid,
                       const std::vector<std::string>& axis_names, const AggregateOptions& o,
                       const std::string& file) {
  check_metric(o.metric);
  if (o.min_trades != 0)
    throw InputError(file +
                     ": --min-trades needs every row, and this file keeps only its "
                     "aggregates (a sweep with --keep all has them)");
  auto bad = [&](const std::string& what) {
    throw InputError(file + ": /aggregates " + what + ": not the aggregates of its grid");
  };
  const auto mi = static_cast<std::size_t>(
      std::find(stored.metrics.begin(), stored.metrics.end(), o.metric) - stored.metrics.begin());
  if (mi == stored.metrics.size()) bad("has no metric '" + o.metric + "'");
  const AggregateLayout layout(grid, AggregateSpec{});
  std::vector<std::string> layout_names;
  for (const std::size_t p : layout.axes()) layout_names.emplace_back(grid.param(p).name);
  if (layout_names != stored.axes) bad("names other axes");
  if (stored.cells != layout.cell_count()) bad("has " + std::to_string(stored.cells) + " cells");
  if (layout.axes().empty())
    throw InputError(file + ": the grid sweeps no parameter over two or more values, so " +
                     "/aggregates has no cells to chart; sweep it with --keep all");

  Aggregates out;
  out.metric = o.metric;
  out.higher_is_better = !lower_is_better(o.metric);
  out.quantiles = false;
  out.rows = grid.size();
  out.done = stored.combinations;
  out.axes = chart_axes(grid, axis_names);
  const bool higher = out.higher_is_better;
  const std::size_t n_metrics = stored.metrics.size();
  auto stats = [&](std::size_t cell) {
    const std::size_t k = cell * n_metrics + mi;
    Stats s;
    s.count = stored.count[k];
    if (s.count == 0) return s;
    s.sum = stored.sum[k];
    s.sumsq = stored.sumsq[k];
    s.max = stored.max[k];
    s.min = stored.min[k];
    s.max_id = stored.max_id[k];
    s.min_id = stored.min_id[k];
    return s;
  };
  // The layout's axis of each chart axis (npos: one value, so not in the layout).
  std::vector<std::size_t> slot(out.axes.size(), static_cast<std::size_t>(-1));
  for (std::size_t a = 0; a < out.axes.size(); ++a)
    for (std::size_t x = 0; x < layout.axes().size(); ++x)
      if (layout.axes()[x] == out.axes[a].param) slot[a] = x;

  // Everything: the sum over the values of the first axis.
  Stats all;
  for (std::size_t i = 0; i < layout.values(0); ++i) all.merge(stats(layout.single(0, i)));
  out.overall = all.cell(higher);
  out.not_finite = out.done - std::min(out.done, all.count);

  out.sensitivity.resize(out.axes.size());
  for (std::size_t a = 0; a < out.axes.size(); ++a) {
    if (slot[a] == static_cast<std::size_t>(-1)) {
      out.sensitivity[a] = {out.overall};
      continue;
    }
    for (std::size_t i = 0; i < out.axes[a].values.size(); ++i)
      out.sensitivity[a].push_back(stats(layout.single(slot[a], i)).cell(higher));
  }
  for (std::size_t a = 0; a < out.axes.size(); ++a)
    for (std::size_t b = a + 1; b < out.axes.size(); ++b) {
      const std::size_t x = slot[a], y = slot[b];
      if (x == static_cast<std::size_t>(-1) || y == static_cast<std::size_t>(-1)) continue;
      PairMap pm{a, b, {}};
      for (std::size_t i = 0; i < out.axes[a].values.size(); ++i)
        for (std::size_t j = 0; j < out.axes[b].values.size(); ++j)
          pm.cells.push_back(
              stats(x < y ? layout.pair(x, y, i, j) : layout.pair(y, x, j, i)).cell(higher));
      out.pairs.push_back(std::move(pm));
    }

  // The stored histogram (fixed bins of one metric), without its empty bins at either end.
  const std::size_t bins = stored.histogram.size() - 3;
  if (o.metric != stored.histogram_metric) {
    out.histogram_note = "The file's histogram is of " + stored.histogram_metric +
                         " (the one metric a sweep bins); run the report with --metric " +
                         stored.histogram_metric + " to see it.";
  } else {
    std::size_t first = 0, last = bins;
    while (first < last && stored.histogram[first] == 0) ++first;
    while (last > first && stored.histogram[last - 1] == 0) --last;
    if (first == last) first = 0, last = bins;
    const double width = (stored.histogram_hi - stored.histogram_lo) / static_cast<double>(bins);
    Histogram& h = out.histogram;
    h.lo = stored.histogram_lo + width * static_cast<double>(first);
    h.hi = stored.histogram_lo + width * static_cast<double>(last);
    h.counts.assign(stored.histogram.begin() + static_cast<std::ptrdiff_t>(first),
                    stored.histogram.begin() + static_cast<std::ptrdiff_t>(last));
    h.below = stored.histogram[bins];
    h.above = stored.histogram[bins + 1];
    h.counts.front() += h.below;
    h.counts.back() += h.above;
  }
  return out;
}

double centre(const Aggregates& a, const Cell& c) {
  return a.quantiles ? c.median : c.mean;
}
double band_low(const Aggregates& a, const Cell& c) {
  return a.quantiles ? c.q1 : c.mean - c.sd;
}
double band_high(const Aggregates& a, const Cell& c) {
  return a.quantiles ? c.q3 : c.mean + c.sd;
}
const char* centre_word(const Aggregates& a) {
  return a.quantiles ? "median" : "mean";
}
const char* band_word(const Aggregates& a) {
  return a.quantiles ? "quartiles" : "mean ± 1 sd";
}

}  // namespace threadx::report
