// Reads plain OHLCV CSV files and raw Binance kline files into a validated BarSeries.
//
// Formats (detected per file):
//  - plain CSV: header "timestamp,open,high,low,close,volume", timestamp = bar open time in Unix
//  ms;
//  - Binance kline: 12 columns, no header; open time in ms, or in µs (Binance from 2025), detected
//    per file from the magnitude of the first timestamp (>= 1e15 means µs); a file that mixes
//    units is an error.
// Several files are concatenated in the order given and must continue each other (strictly
// increasing timestamps across file boundaries).
//
// Every problem is an InputError whose message is one line "<file>:<line>: <reason>": malformed
// line, wrong column count, non-numeric field, NaN/inf, price <= 0, negative volume,
// high < max(open, close), low > min(open, close), high < low, duplicate or unsorted timestamps,
// empty file. Gaps (a difference larger than the bar size) are counted, not rejected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/bars.hpp"

namespace threadx {

struct LoadOptions {
  // Resample to this bar size (ms), e.g. 15m from 5m bars: open first, high max, low min,
  // close last, volume sum; buckets aligned to the Unix epoch. Must be a multiple of the input
  // bar size. Buckets with missing input bars are kept and counted in incomplete_buckets.
  std::optional<std::int64_t> timeframe_ms;
};

struct LoadReport {
  std::int64_t input_bars = 0;          // bars read before resampling
  std::int64_t incomplete_buckets = 0;  // resampled bars built from fewer input bars than expected
};

BarSeries load_bars(const std::vector<std::string>& paths, const LoadOptions& options = {},
                    LoadReport* report = nullptr);

// Parses "5m", "15m", "1h", "4h", "1d", "1w" into milliseconds; InputError otherwise.
std::int64_t parse_timeframe(const std::string& text);

// Hex SHA-256 of a file's bytes (streamed); InputError if it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace threadx
