// A validated, strictly increasing series of OHLCV bars (structure of arrays).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace threadx {

// One input file as read: its path, content hash and how many bars it gave.
struct DataSource {
  std::string path;
  std::string sha256;  // hex digest of the file's bytes
  std::int64_t rows = 0;
};

struct BarSeries {
  std::vector<std::int64_t> time_ms;  // bar open time, Unix ms UTC, strictly increasing
  std::vector<double> open, high, low, close, volume;
  std::vector<DataSource> sources;  // in the order they were read
  std::int64_t bar_ms = 0;          // smallest difference between consecutive timestamps
  std::int64_t gap_count = 0;       // consecutive differences larger than bar_ms

  [[nodiscard]] std::size_t size() const { return close.size(); }
  // Bars per year for a 24/7 market: 525600 / bar minutes (STRATEGY.md, Metrics).
  [[nodiscard]] double bars_per_year() const {
    return 525600.0 / (static_cast<double>(bar_ms) / 60000.0);
  }
};

}  // namespace threadx
