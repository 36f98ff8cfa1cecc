#include "report/aggregate.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <thread>

#include "common/error.hpp"
#include "strategy/metrics.hpp"

namespace threadx::report {
namespace {

// Summarises values [begin, end) (reordered); best and best_id are the caller's.
void fill_quantiles(Cell& c, std::vector<double>::iterator begin,
                    std::vector<double>::iterator end) {
  if (begin == end) return;
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

Aggregator::Aggregator(const Grid& grid, const std::vector<std::string>& axis_names,
                       const AggregateOptions& o)
    : o_(o) {
  check_metric(o.metric);
  out_.metric = o.metric;
  out_.higher_is_better = !lower_is_better(o.metric);
  out_.rows = grid.size();
  for (const std::string& name : axis_names) {
    for (std::size_t p = 0; p < grid.param_count(); ++p) {
      if (grid.param(p).name != name || !grid.swept[p]) continue;
      if (grid.values[p].size() > std::numeric_limits<std::uint16_t>::max())
        throw InputError("parameter " + name + " has more than 65,535 values: too many to chart");
      out_.axes.push_back({name, p, grid.values[p]});
    }
  }
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
  if (reader.rows() != grid.size())
    throw InputError("the results file has " + std::to_string(reader.rows()) +
                     " rows but its grid has " + std::to_string(grid.size()) + " combinations");
  const Column* metric = reader.find(o.metric);
  if (metric == nullptr) throw InputError("the results file has no column '" + o.metric + "'");
  const Column* trades = reader.find("trades");
  // The axes: the swept parameters, in column order (the file's columns name them).
  std::vector<std::string> names;
  for (const Column& c : reader.columns()) names.push_back(c.name);
  Aggregator agg(grid, names, o);

  // One pass over /results in chunks.
  const std::vector<std::uint8_t> done = reader.read_done();
  ParamIndex idx = grid.indices_of(0);
  for (std::uint64_t begin = 0; begin < reader.rows(); begin += o.rows_per_read) {
    const std::uint64_t count = std::min<std::uint64_t>(o.rows_per_read, reader.rows() - begin);
    const std::vector<unsigned char> rows = reader.read_rows(begin, count);
    for (std::uint64_t r = 0; r < count; ++r, grid.advance(idx)) {
      if (done[begin + r] == 0) continue;
      const unsigned char* row = rows.data() + r * reader.row_size();
      agg.add(begin + r, idx, ResultsReader::value(row, *metric),
              trades != nullptr ? ResultsReader::value(row, *trades) : 0.0);
    }
  }
  return agg.finish();
}

}  // namespace threadx::report
