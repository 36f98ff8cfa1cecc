// Bar files: plain CSV and raw Binance klines, validation, resampling (see loader.hpp).
#include "data/loader.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <string_view>

#include "common/error.hpp"
#include "common/sha256.hpp"
#include "common/time_format.hpp"

namespace threadx {
namespace {

constexpr std::string_view kPlainHeader = "timestamp,open,high,low,close,volume";
constexpr std::int64_t kMicrosThreshold = 1'000'000'000'000'000;  // >= 1e15: µs (year 33658 in ms)

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read data file: " + std::strerror(errno));
  std::string text;
  in.seekg(0, std::ios::end);
  text.resize(static_cast<std::size_t>(in.tellg()));
  in.seekg(0);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (!in) throw InputError(path + ": read error");
  return text;
}

std::string hex_sha256(const std::string& bytes) {
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  return h.hex_digest();
}

// One file's rows, appended to the series under construction.
class FileParser {
 public:
  FileParser(const std::string& path, BarSeries& out) : path_(path), out_(out) {}

  std::int64_t parse(const std::string& text) {
    std::size_t pos = 0;
    std::int64_t line_no = 0, rows = 0;
    while (pos < text.size()) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      std::string_view line(text.data() + pos, end - pos);
      pos = end + 1;
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) {
        if (pos >= text.size()) break;  // a trailing blank line
        fail(line_no, "empty line");
      }
      if (line_no == 1 && header(line)) continue;
      row(line, line_no);
      ++rows;
    }
    if (rows == 0) throw InputError(path_ + ": no bars (empty file or header only)");
    return rows;
  }

 private:
  [[noreturn]] void fail(std::int64_t line, const std::string& why) const {
    throw InputError(path_ + ":" + std::to_string(line) + ": " + why);
  }

  // True when line 1 is a header (then the format is known); false for a data row.
  bool header(std::string_view line) {
    const char c = line.front();
    if ((c >= '0' && c <= '9') || c == '-' || c == '+') return false;
    if (line == kPlainHeader) {
      binance_ = false;
      return true;
    }
    if (line.substr(0, 10) == "open_time,") {  // Binance files with a header row
      binance_ = true;
      return true;
    }
    fail(1, "unknown header '" + std::string(line.substr(0, 80)) + "' (expected '" +
                std::string(kPlainHeader) + "' or a Binance kline file)");
  }

  void row(std::string_view line, std::int64_t line_no) {
    std::string_view fields[13];
    std::size_t n = 0, start = 0;
    for (;;) {
      const std::size_t comma = line.find(',', start);
      if (n < 13)
        fields[n] = line.substr(start, comma == std::string_view::npos ? comma : comma - start);
      ++n;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (!binance_.has_value()) binance_ = (n == 12);  // no header: 12 columns is a kline file
    const std::size_t want = *binance_ ? 12 : 6;
    if (n != want)
      fail(line_no,
           std::to_string(n) + " columns, expected " + std::to_string(want) +
               (*binance_ ? " (Binance kline file)" : " (timestamp,open,high,low,close,volume)"));

    std::int64_t t = 0;
    {
      const std::string_view f = fields[0];
      const auto r = std::from_chars(f.data(), f.data() + f.size(), t);
      if (r.ec != std::errc() || r.ptr != f.data() + f.size())
        fail(line_no, "timestamp '" + std::string(f) + "' is not an integer");
    }
    if (*binance_) {
      const bool micros = t >= kMicrosThreshold;
      if (!micros_.has_value()) micros_ = micros;
      if (micros != *micros_)
        fail(line_no, std::string("timestamp ") + std::to_string(t) + " is in " +
                          (micros ? "microseconds" : "milliseconds") + " but earlier rows are in " +
                          (*micros_ ? "microseconds" : "milliseconds"));
      if (micros) t /= 1000;
    }
    static constexpr const char* kNames[5] = {"open", "high", "low", "close", "volume"};
    double v[5];
    for (std::size_t k = 0; k < 5; ++k) {
      const std::string_view f = fields[k + 1];
      const auto r = std::from_chars(f.data(), f.data() + f.size(), v[k]);
      if (r.ec != std::errc() || r.ptr != f.data() + f.size())
        fail(line_no, std::string(kNames[k]) + " '" + std::string(f) + "' is not a number");
      if (std::isnan(v[k])) fail(line_no, std::string(kNames[k]) + " is NaN");
      if (std::isinf(v[k])) fail(line_no, std::string(kNames[k]) + " is infinite");
    }
    const double o = v[0], h = v[1], l = v[2], c = v[3], vol = v[4];
    for (std::size_t k = 0; k < 4; ++k)
      if (v[k] <= 0) fail(line_no, std::string(kNames[k]) + " " + format_double(v[k]) + " <= 0");
    if (vol < 0) fail(line_no, "volume " + format_double(vol) + " < 0");
    if (h < std::max(o, c))
      fail(line_no,
           "high " + format_double(h) + " < max(open, close) " + format_double(std::max(o, c)));
    if (l > std::min(o, c))
      fail(line_no,
           "low " + format_double(l) + " > min(open, close) " + format_double(std::min(o, c)));
    if (!out_.time_ms.empty()) {
      const std::int64_t prev = out_.time_ms.back();
      if (t == prev)
        fail(line_no, "duplicate timestamp " + std::to_string(t) + " (" + format_utc_ms(t) + ")");
      if (t < prev)
        fail(line_no, "timestamp " + std::to_string(t) + " (" + format_utc_ms(t) +
                          ") is before the previous bar's " + std::to_string(prev) + " (" +
                          format_utc_ms(prev) + ")" +
                          (first_row_ ? "; files must be given in time order" : ""));
    }
    first_row_ = false;
    out_.time_ms.push_back(t);
    out_.open.push_back(o);
    out_.high.push_back(h);
    out_.low.push_back(l);
    out_.close.push_back(c);
    out_.volume.push_back(vol);
  }

  const std::string& path_;
  BarSeries& out_;
  std::optional<bool> binance_;
  std::optional<bool> micros_;
  bool first_row_ = true;
};

// bar_ms = smallest step, gap_count = steps larger than it.
void measure_spacing(BarSeries& s) {
  std::int64_t smallest = std::numeric_limits<std::int64_t>::max();
  for (std::size_t i = 1; i < s.time_ms.size(); ++i)
    smallest = std::min(smallest, s.time_ms[i] - s.time_ms[i - 1]);
  s.bar_ms = smallest;
  s.gap_count = 0;
  for (std::size_t i = 1; i < s.time_ms.size(); ++i)
    s.gap_count += (s.time_ms[i] - s.time_ms[i - 1]) > smallest;
}

BarSeries resample(const BarSeries& in, std::int64_t tf, const std::string& name,
                   LoadReport* report) {
  if (tf <= 0 || tf % in.bar_ms != 0)
    throw InputError(name + ": --timeframe " + format_duration(static_cast<double>(tf) / 1000.0) +
                     " is not a multiple of the bar size " +
                     format_duration(static_cast<double>(in.bar_ms) / 1000.0));
  BarSeries out;
  out.sources = in.sources;
  const std::int64_t per_bucket = tf / in.bar_ms;
  std::int64_t in_bucket = 0, incomplete = 0;
  auto bucket_of = [tf](std::int64_t t) { return (t >= 0 ? t / tf : (t - tf + 1) / tf) * tf; };
  for (std::size_t i = 0; i < in.size(); ++i) {
    const std::int64_t b = bucket_of(in.time_ms[i]);
    if (out.time_ms.empty() || out.time_ms.back() != b) {
      if (!out.time_ms.empty() && in_bucket < per_bucket) ++incomplete;
      out.time_ms.push_back(b);
      out.open.push_back(in.open[i]);
      out.high.push_back(in.high[i]);
      out.low.push_back(in.low[i]);
      out.close.push_back(in.close[i]);
      out.volume.push_back(in.volume[i]);
      in_bucket = 1;
      continue;
    }
    out.high.back() = std::max(out.high.back(), in.high[i]);
    out.low.back() = std::min(out.low.back(), in.low[i]);
    out.close.back() = in.close[i];
    out.volume.back() += in.volume[i];
    ++in_bucket;
  }
  if (in_bucket < per_bucket) ++incomplete;
  if (report != nullptr) report->incomplete_buckets = incomplete;
  if (out.size() < 2) throw InputError(name + ": fewer than 2 bars after resampling");
  measure_spacing(out);
  return out;
}

}  // namespace

BarSeries load_bars(const std::vector<std::string>& paths, const LoadOptions& options,
                    LoadReport* report) {
  if (paths.empty()) throw InputError("no data file given");
  BarSeries bars;
  for (const std::string& path : paths) {
    const std::string text = read_file(path);
    if (text.empty()) throw InputError(path + ": empty file");
    FileParser parser(path, bars);
    const std::int64_t rows = parser.parse(text);
    bars.sources.push_back({path, hex_sha256(text), rows});
  }
  if (bars.size() < 2) throw InputError(paths.back() + ": need at least 2 bars");
  measure_spacing(bars);
  if (report != nullptr) {
    report->input_bars = static_cast<std::int64_t>(bars.size());
    report->incomplete_buckets = 0;
  }
  if (options.timeframe_ms && *options.timeframe_ms != bars.bar_ms)
    return resample(bars, *options.timeframe_ms, paths.back(), report);
  return bars;
}

std::int64_t parse_timeframe(const std::string& text) {
  std::int64_t n = 0;
  const char* end = text.data() + text.size();
  const auto r = std::from_chars(text.data(), end, n);
  const bool ok = r.ec == std::errc() && n > 0 && r.ptr + 1 == end;
  std::int64_t unit = 0;
  if (ok) {
    switch (*r.ptr) {
      case 'm':
        unit = 60'000;
        break;
      case 'h':
        unit = 3'600'000;
        break;
      case 'd':
        unit = 86'400'000;
        break;
      case 'w':
        unit = 7 * 86'400'000LL;
        break;
      default:
        break;
    }
  }
  if (unit == 0 || n > 1'000'000)
    throw InputError("--timeframe '" + text +
                     "': expected a count and a unit, e.g. 5m, 15m, 1h, 4h, 1d");
  return n * unit;
}

std::string sha256_file(const std::string& path) {
  return hex_sha256(read_file(path));
}

}  // namespace threadx
