// The numbers behind `threadx report`: one metric of a results file summarised per value of every
// swept parameter and per pair of values of every pair of swept parameters. Two sources:
// - the rows (aggregate()): one streaming pass over /results (read in chunks; what is kept is the
//   metric and the value indices of each combination that passes the filters: 8 + 2 x parameters
//   bytes each, never a whole row); cells have quantiles;
// - /aggregates (from_stored()), what a run with --keep none or top:... leaves: cells have the
//   mean and standard deviation instead of quantiles, and no filter can be applied.
//
// "Best" is the largest value of the metric, or the smallest for metrics where lower is better
// (max_drawdown, fees). Quantiles interpolate linearly between order statistics (numpy's default:
// position q x (n - 1)). Combinations counted: /done flag set, trades >= min_trades, metric finite.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "grid/grid.hpp"
#include "results/results_reader.hpp"

namespace threadx::report {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Summary of a set of combinations (a heatmap cell, a parameter value, or all of them).
struct Cell {
  std::uint64_t count = 0;
  double best = kNaN;  // best metric value; best_id is its combination (smallest id on ties)
  ComboId best_id = 0;
  double q1 = kNaN, median = kNaN, q3 = kNaN;  // from the rows only
  double mean = kNaN, sd = kNaN;               // sd: n - 1 in the divisor
  double min = kNaN, max = kNaN;
};

// One swept parameter: its name and ascending values (from the grid).
struct Axis {
  std::string name;
  std::size_t param = 0;  // ParamId
  std::vector<double> values;
};

// The cells of one pair of axes a < b: cells[i * values(b) + j] for values i of a and j of b.
struct PairMap {
  std::size_t a = 0, b = 0;
  std::vector<Cell> cells;
};

struct Histogram {
  double lo = 0, hi = 0;               // the bins cover [lo, hi] in equal widths
  std::vector<std::uint64_t> counts;   // values outside [lo, hi] are counted in the end bins
  std::uint64_t below = 0, above = 0;  // of which outside
};

struct AggregateOptions {
  std::string metric = "sharpe";
  std::int64_t min_trades = 0;
  std::size_t top = 20;
  std::size_t bins = 60;
  std::uint64_t rows_per_read = 1 << 16;  // rows per read of /results
  unsigned threads = 0;                   // 0: every core
};

struct Aggregates {
  std::string metric;
  bool higher_is_better = true;
  bool quantiles = true;       // cells hold quartiles (from the rows), else mean and sd
  std::string histogram_note;  // why there is no histogram (counts empty), when there is none
  std::uint64_t rows = 0;      // combinations in the file
  std::uint64_t done = 0;      // with their /done flag set
  std::uint64_t too_few_trades = 0;
  std::uint64_t not_finite = 0;  // metric NaN or infinite (e.g. profit_factor without a loss)
  Cell overall;                  // every counted combination (overall.count: how many)
  std::vector<Axis> axes;        // the swept parameters, in the results file's column order
  std::vector<std::vector<Cell>> sensitivity;  // [axis][value index]
  std::vector<PairMap> pairs;                  // every pair of axes with 2+ values each
  Histogram histogram;
  std::vector<ComboId> top;  // the best `top` combinations, best first (ties: smaller id first)
};

// True for metrics where a smaller value is better.
bool lower_is_better(const std::string& metric);

// InputError "unknown metric 'x' (metrics: ...)" unless metric is one of kMetrics.
void check_metric(const std::string& metric);

// Builds Aggregates from the done combinations, fed in ascending id order. What it keeps per
// counted combination: its metric, id and value indices.
class Aggregator {
 public:
  // axis_names: the swept parameters to chart, in display order (other names are ignored).
  Aggregator(const Grid& grid, const std::vector<std::string>& axis_names,
             const AggregateOptions& o);
  // One done combination; idx = grid.indices_of(id).
  void add(ComboId id, const ParamIndex& idx, double metric, double trades);
  // The summaries (call once).
  Aggregates finish();

  struct Kept {
    std::vector<double> metric;
    std::vector<ComboId> id;
    std::vector<std::uint16_t> digits;  // axes.size() value indices per combination
  };

 private:
  AggregateOptions o_;
  Aggregates out_;
  Kept kept_;
};

// Streams the results file's rows (ids 0..rows-1, in the grid's id order).
Aggregates aggregate(const ResultsReader& reader, const Grid& grid, const AggregateOptions& o);

// From /aggregates as stored (the axes: the swept parameters named by axis_names, in that order).
// Filters cannot apply (o.min_trades must be 0); `top` is left empty. InputError naming `file`
// when the aggregates do not match the grid.
Aggregates from_stored(const StoredAggregates& stored, const Grid& grid,
                       const std::vector<std::string>& axis_names, const AggregateOptions& o,
                       const std::string& file);

// Where the centre and the band of a cell come from, and their names on the page.
[[nodiscard]] double centre(const Aggregates& a, const Cell& c);
[[nodiscard]] double band_low(const Aggregates& a, const Cell& c);
[[nodiscard]] double band_high(const Aggregates& a, const Cell& c);
[[nodiscard]] const char* centre_word(const Aggregates& a);  // "median" or "mean"
[[nodiscard]] const char* band_word(const Aggregates& a);    // "quartiles" or "mean ± 1 sd"

// Linear-interpolation quantile of v (reordered in place; v non-empty, 0 <= q <= 1).
double quantile_inplace(std::vector<double>::iterator begin, std::vector<double>::iterator end,
                        double q);

}  // namespace threadx::report
