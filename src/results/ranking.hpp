// Best-N selection over a results file: streams /results in blocks (memory stays O(block + n)
// whatever the file size), skips rows whose /done flag is not set, applies filters, and orders
// by one column with ties broken by combination id, so the answer is deterministic.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "results/results_reader.hpp"

namespace threadx {

struct RankQuery {
  std::string by = "sharpe";  // any column of /results
  std::size_t n = 10;
  bool ascending = false;  // false: largest first
  std::int64_t min_trades = 0;
  double max_drawdown = std::numeric_limits<double>::infinity();
};

struct RankResult {
  std::vector<std::vector<unsigned char>> rows;  // packed rows, best first
  std::uint64_t considered = 0;                  // rows that were done and passed the filters
  std::uint64_t done = 0;                        // rows with their /done flag set
};

// InputError when `by` is not a column of the file.
RankResult rank_rows(const ResultsReader& reader, const RankQuery& query);

}  // namespace threadx
