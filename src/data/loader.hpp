// Reads plain OHLCV CSV files and raw Binance kline files into a validated BarSeries.
//
// Formats (detected per file from line 1):
//  - plain CSV: header "timestamp,open,high,low,close,volume" (required), timestamp = bar open
//    time in Unix ms;
//  - Binance kline: 12 columns, no header (or one starting "open_time,"); columns 0-5 are open
//    time, open, high, low, close, volume; open time in ms, or in µs (Binance from 2025), detected
//    per file from the magnitude of the first timestamp (>= 1e15 means µs, converted to ms); a
//    file that mixes units is an error.
// LF or CRLF line endings; blank lines at the end of a file are ignored, elsewhere an error. Files
// are streamed (memory does not grow with the file size); a line longer than 4096 bytes is an
// error (binary data, or a file with no line breaks), reported without reading further.
// Several files are concatenated in the order given and must continue each other (strictly
// increasing timestamps across file boundaries).
//
// Every problem is an InputError whose message is one line "<file>:<line>: <reason>" (line 1 is
// the header), e.g. "data.csv:17: high 95 < max(open, close) 96.5": malformed line, wrong column
// count, non-numeric field (the whole field must parse), NaN/inf, price <= 0, negative volume,
// high < low, high < max(open, close), low > min(open, close), duplicate or unsorted timestamps
// (naming the previous one). File-level problems are "<file>: <reason>": cannot read, no bars,
// fewer than 2 bars in all.
// bar_ms is the smallest step between consecutive bars; gaps (steps larger than bar_ms) are
// counted in gap_count, not rejected: the caller warns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/bars.hpp"

namespace threadx {

struct LoadOptions {
  // Resample to this bar size (ms), e.g. 15m from 5m bars: open first, high max, low min,
  // close last, volume sum; buckets aligned to the Unix epoch (start = floor(t / tf) * tf, which
  // is the new bar's timestamp). Must be a positive multiple of the input bar size. Buckets with
  // missing input bars are kept and counted in incomplete_buckets. Volumes written as decimals are
  // summed exactly in their decimal precision, so a resample equals the exchange's own coarser
  // bars bit for bit. bar_ms and gap_count describe the resampled series.
  std::optional<std::int64_t> timeframe_ms;
};

struct LoadReport {
  std::int64_t input_bars = 0;          // bars read before resampling
  std::int64_t incomplete_buckets = 0;  // resampled bars built from fewer input bars than expected
};

BarSeries load_bars(const std::vector<std::string>& paths, const LoadOptions& options = {},
                    LoadReport* report = nullptr);

// Parses "<positive integer><m|h|d|w>" ("5m", "15m", "1h", "4h", "1d", "1w") into
// milliseconds; InputError "--timeframe '<text>': expected e.g. ..." otherwise.
std::int64_t parse_timeframe(const std::string& text);

// Lower-case hex SHA-256 of a file's bytes (streamed, 64 KiB reads); InputError if it cannot be
// read.
std::string sha256_file(const std::string& path);

}  // namespace threadx
