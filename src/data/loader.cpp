// Bar files: plain CSV and raw Binance klines, validation, resampling (see loader.hpp).
#include "data/loader.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <string_view>
#include <system_error>

#include "common/error.hpp"
#include "common/sha256.hpp"
#include "common/time_format.hpp"

namespace threadx {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPlainHeader = "timestamp,open,high,low,close,volume";
constexpr std::string_view kBinanceHeaderStart = "open_time,";  // some Binance archives have one
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
constexpr std::size_t kPlainColumns = 6, kBinanceColumns = 12;
constexpr std::int64_t kMicrosThreshold = 1'000'000'000'000'000;  // >= 1e15: µs (year 33658 in ms)
constexpr std::size_t kChunk = 64 * 1024;
// No bar line comes near this (a Binance kline row is about 150 bytes); a longer one means binary
// data or a corrupt file, reported at once instead of reading gigabytes looking for a newline.
constexpr std::size_t kMaxLine = 4096;
constexpr double kUnitLimit = 1125899906842624.0;  // 2^50: v * 10^d rounds to the right integer
constexpr std::int64_t kSumLimit = std::int64_t{1} << 53;  // integers below are exact doubles
constexpr double kPow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                             1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

// ---- reading files ------------------------------------------------------------------------------

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

FilePtr open_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw InputError(path + ": is a directory, not a data file");
  errno = 0;
  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (!f) throw InputError(path + ": cannot open data file: " + std::strerror(errno));
  return f;
}

// Calls sink(data, size) for each chunk of the file, read 64 KiB at a time.
template <class Sink>
void read_chunks(const std::string& path, Sink&& sink) {
  const FilePtr f = open_file(path);
  std::unique_ptr<char[]> buf(new char[kChunk]);
  for (;;) {
    const std::size_t n = std::fread(buf.get(), 1, kChunk, f.get());
    if (n > 0) sink(buf.get(), n);
    if (n < kChunk) break;
  }
  if (std::ferror(f.get()) != 0)
    throw InputError(path + ": read error: " + std::strerror(errno != 0 ? errno : EIO));
}

// ---- message helpers ----------------------------------------------------------------------------

// A field for an error message: at most 40 characters, control characters and bytes outside
// ASCII shown as '?', so the message stays one short line of plain text whatever the file holds.
std::string quoted(std::string_view field) {
  constexpr std::size_t kMax = 40;
  std::string out = "'";
  for (std::size_t i = 0; i < field.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(field[i]);
    out.push_back(c < 0x20 || c >= 0x7f ? '?' : field[i]);
  }
  if (field.size() > kMax) out += "...";
  return out + "'";
}

std::string when(std::int64_t t) {
  return std::to_string(t) + " (" + format_utc_ms(t) + ")";
}

// "15m", "4h", "1d", "1w"; "90s" or "1500 ms" for sizes that are not whole minutes.
std::string format_bar_size(std::int64_t ms) {
  struct Unit {
    std::int64_t ms;
    const char* suffix;
  };
  static constexpr Unit kUnits[] = {
      {604'800'000, "w"}, {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}};
  if (ms > 0)
    for (const Unit& u : kUnits)
      if (ms % u.ms == 0) return std::to_string(ms / u.ms) + u.suffix;
  return std::to_string(ms) + " ms";
}

// ---- parsing ------------------------------------------------------------------------------------

// Digits after the decimal point of a plain decimal number ("35.87706000" -> 8, "5" -> 0), or -1
// when it is written with an exponent.
int decimals_of(std::string_view f) {
  if (f.find_first_of("eE") != std::string_view::npos) return -1;
  const std::size_t dot = f.find('.');
  return dot == std::string_view::npos ? 0 : static_cast<int>(f.size() - dot - 1);
}

// State carried across the files of one load_bars call.
struct Loaded {
  BarSeries bars;
  // Most digits after the decimal point in any volume field; -1 once one used an exponent.
  int volume_decimals = 0;
};

// One file's rows, appended to the series under construction.
class FileParser {
 public:
  FileParser(const std::string& path, const std::string* previous_file, Loaded& out)
      : path_(path), previous_file_(previous_file), out_(out) {}

  // Reads and parses the file, streamed 64 KiB at a time (memory does not grow with the file);
  // returns the number of bars it gave and sets *sha256 to the hash of its bytes.
  std::int64_t parse(std::string* sha256) {
    Sha256 hash;
    std::string carry;  // the unfinished last line of the chunks read so far
    read_chunks(path_, [&](const char* p, std::size_t n) {
      hash.update(p, n);
      std::string_view chunk(p, n);
      while (!chunk.empty()) {
        const std::size_t nl = chunk.find('\n');
        const std::string_view piece = chunk.substr(0, nl);
        if (carry.size() + piece.size() > kMaxLine)
          fail(line_no_ + 1, "line longer than " + std::to_string(kMaxLine) +
                                 " bytes: not a bar file (binary or corrupt?)");
        if (nl == std::string_view::npos) {
          carry.append(piece);
          break;
        }
        if (carry.empty()) {
          take_line(piece);
        } else {
          carry.append(piece);
          take_line(carry);
          carry.clear();
        }
        chunk.remove_prefix(nl + 1);
      }
    });
    if (!carry.empty()) take_line(carry);
    *sha256 = hash.hex_digest();
    if (rows_ == 0)
      throw InputError(path_ +
                       (seen_header_ ? ": no bars (header only)" : ": no bars (empty file)"));
    return rows_;
  }

 private:
  // One line without its '\n'. Blank lines are errors unless only blank lines follow them.
  void take_line(std::string_view text) {
    ++line_no_;
    if (line_no_ == 1 && text.substr(0, kUtf8Bom.size()) == kUtf8Bom)
      text.remove_prefix(kUtf8Bom.size());
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.empty()) {
      if (first_blank_ == 0) first_blank_ = line_no_;
      return;
    }
    if (first_blank_ != 0) fail(first_blank_, "empty line");
    if (line_no_ == 1 && header(text)) {
      seen_header_ = true;
      return;
    }
    row(text, line_no_);
    ++rows_;
  }

  [[noreturn]] void fail(std::int64_t line, const std::string& why) const {
    throw InputError(path_ + ":" + std::to_string(line) + ": " + why);
  }

  // Line 1 decides the format. True when it is a header; false when it is a Binance data row.
  bool header(std::string_view line) {
    const char c = line.front();
    if ((c >= '0' && c <= '9') || c == '-') {
      const auto columns = static_cast<std::size_t>(std::count(line.begin(), line.end(), ',')) + 1;
      if (columns != kBinanceColumns)
        fail(1, "no header and " + std::to_string(columns) + " columns: expected the header '" +
                    std::string(kPlainHeader) + "' or a 12-column Binance kline row");
      binance_ = true;
      return false;
    }
    if (line == kPlainHeader) {
      binance_ = false;
      return true;
    }
    if (line.substr(0, kBinanceHeaderStart.size()) == kBinanceHeaderStart) {
      binance_ = true;
      return true;
    }
    fail(1, "unknown header " + quoted(line) + " (expected '" + std::string(kPlainHeader) +
                "' or a Binance kline file)");
  }

  std::int64_t timestamp(std::string_view f, std::int64_t line_no) {
    std::int64_t t = 0;
    const auto r = std::from_chars(f.data(), f.data() + f.size(), t);
    if (r.ec != std::errc() || r.ptr != f.data() + f.size())
      fail(line_no, "timestamp " + quoted(f) + " is not an integer");
    if (t < 0) fail(line_no, "timestamp " + std::to_string(t) + " is negative");
    const bool micros = t >= kMicrosThreshold;
    if (!binance_) {
      if (micros)
        fail(line_no, "timestamp " + std::to_string(t) +
                          " looks like microseconds; plain CSV timestamps are Unix milliseconds");
      return t;
    }
    if (!micros_.has_value()) micros_ = micros;
    if (micros != *micros_)
      fail(line_no, "timestamp " + std::to_string(t) + " is in " +
                        (micros ? "microseconds" : "milliseconds") + " but earlier rows are in " +
                        (*micros_ ? "microseconds" : "milliseconds"));
    return micros ? t / 1000 : t;
  }

  void row(std::string_view line, std::int64_t line_no) {
    std::array<std::string_view, kBinanceColumns> fields;
    std::size_t n = 0, start = 0;
    for (;;) {
      const std::size_t comma = line.find(',', start);
      if (n < fields.size())
        fields[n] = line.substr(start, comma == std::string_view::npos ? comma : comma - start);
      ++n;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    const std::size_t want = binance_ ? kBinanceColumns : kPlainColumns;
    if (n != want)
      fail(line_no,
           std::to_string(n) + " columns, expected " + std::to_string(want) +
               (binance_ ? " (Binance kline file)" : " (timestamp,open,high,low,close,volume)"));

    const std::int64_t t = timestamp(fields[0], line_no);
    static constexpr const char* kNames[5] = {"open", "high", "low", "close", "volume"};
    double v[5];
    for (std::size_t k = 0; k < 5; ++k) {
      const std::string_view f = fields[k + 1];
      const auto r = std::from_chars(f.data(), f.data() + f.size(), v[k]);
      if (r.ec == std::errc::result_out_of_range && r.ptr == f.data() + f.size())
        fail(line_no, std::string(kNames[k]) + " " + quoted(f) + " is out of range");
      if (r.ec != std::errc() || r.ptr != f.data() + f.size())
        fail(line_no, std::string(kNames[k]) + " " + quoted(f) + " is not a number");
      if (std::isnan(v[k])) fail(line_no, std::string(kNames[k]) + " is NaN");
      if (std::isinf(v[k])) fail(line_no, std::string(kNames[k]) + " is infinite");
    }
    const double o = v[0], h = v[1], l = v[2], c = v[3], vol = v[4];
    for (std::size_t k = 0; k < 4; ++k)
      if (v[k] <= 0) fail(line_no, std::string(kNames[k]) + " " + format_double(v[k]) + " <= 0");
    if (vol < 0) fail(line_no, "volume " + format_double(vol) + " < 0");
    if (h < l) fail(line_no, "high " + format_double(h) + " < low " + format_double(l));
    if (h < std::max(o, c))
      fail(line_no,
           "high " + format_double(h) + " < max(open, close) " + format_double(std::max(o, c)));
    if (l > std::min(o, c))
      fail(line_no,
           "low " + format_double(l) + " > min(open, close) " + format_double(std::min(o, c)));

    BarSeries& s = out_.bars;
    if (!s.time_ms.empty()) {
      const std::int64_t prev = s.time_ms.back();
      // The first row of a later file must continue the previous file.
      const std::string across =
          first_row_ && previous_file_ != nullptr
              ? "; files must be given in time order and continue each other (previous file " +
                    *previous_file_ + ")"
              : "";
      if (t == prev) fail(line_no, "duplicate timestamp " + when(t) + across);
      if (t < prev)
        fail(line_no,
             "timestamp " + when(t) + " is before the previous bar's " + when(prev) + across);
    }
    first_row_ = false;

    const int d = decimals_of(fields[5]);
    if (d < 0 || out_.volume_decimals < 0)
      out_.volume_decimals = -1;
    else
      out_.volume_decimals = std::max(out_.volume_decimals, d);

    s.time_ms.push_back(t);
    s.open.push_back(o);
    s.high.push_back(h);
    s.low.push_back(l);
    s.close.push_back(c);
    s.volume.push_back(vol);
  }

  const std::string& path_;
  const std::string* previous_file_;  // null for the first file
  Loaded& out_;
  bool binance_ = false;
  std::optional<bool> micros_;
  bool first_row_ = true;
  std::int64_t line_no_ = 0, rows_ = 0;
  std::int64_t first_blank_ = 0;  // line number of the first blank line after the last row
  bool seen_header_ = false;
};

// ---- spacing and resampling ---------------------------------------------------------------------

// bar_ms = smallest step, gap_count = steps larger than it. Needs at least 2 bars.
void measure_spacing(BarSeries& s) {
  std::int64_t smallest = std::numeric_limits<std::int64_t>::max();
  for (std::size_t i = 1; i < s.time_ms.size(); ++i)
    smallest = std::min(smallest, s.time_ms[i] - s.time_ms[i - 1]);
  s.bar_ms = smallest;
  s.gap_count = 0;
  for (std::size_t i = 1; i < s.time_ms.size(); ++i)
    s.gap_count += (s.time_ms[i] - s.time_ms[i - 1]) > smallest;
}

// Sums volumes. When every input is a decimal with at most `decimals` digits after the point, the
// sum is done in integer units of 10^-decimals and the result is the double nearest to the exact
// decimal sum: the volume an exchange publishes for the coarser bar, bit for bit (a plain double
// sum is off by an ulp for about a quarter of BTC 15m bars). Otherwise, or if the units would not
// be exact, it is the plain double sum.
class VolumeSum {
 public:
  explicit VolumeSum(int decimals)
      : scale_(decimals >= 0 && decimals <= 15 ? kPow10[decimals] : 0.0) {}

  void reset() {
    sum_ = 0;
    units_ = 0;
    exact_ = scale_ > 0;
  }
  void add(double v) {
    sum_ += v;
    if (!exact_) return;
    const double u = v * scale_;
    if (u >= kUnitLimit) {
      exact_ = false;
      return;
    }
    units_ += static_cast<std::int64_t>(std::llround(u));
    exact_ = units_ < kSumLimit;
  }
  [[nodiscard]] double value() const {
    return exact_ ? static_cast<double>(units_) / scale_ : sum_;
  }

 private:
  double scale_;
  double sum_ = 0;
  std::int64_t units_ = 0;
  bool exact_ = false;
};

// Bucket start for time t: floor(t / tf) * tf (t >= 0 here).
std::int64_t bucket_of(std::int64_t t, std::int64_t tf) {
  return t / tf * tf;
}

BarSeries resample(const BarSeries& in, std::int64_t tf, int volume_decimals,
                   const std::string& name, LoadReport* report) {
  if (tf <= 0)
    throw InputError(name + ": --timeframe " + std::to_string(tf) + " ms: must be positive");
  if (tf % in.bar_ms != 0)
    throw InputError(name + ": --timeframe " + format_bar_size(tf) + " (" + std::to_string(tf) +
                     " ms) is not a multiple of the data's bar size " + format_bar_size(in.bar_ms) +
                     " (" + std::to_string(in.bar_ms) + " ms)");
  BarSeries out;
  out.sources = in.sources;
  const std::int64_t per_bucket = tf / in.bar_ms;
  std::int64_t in_bucket = 0, incomplete = 0;
  VolumeSum volume(volume_decimals);
  const auto close_bucket = [&] {
    out.volume.push_back(volume.value());
    if (in_bucket < per_bucket) ++incomplete;
  };
  for (std::size_t i = 0; i < in.size(); ++i) {
    const std::int64_t b = bucket_of(in.time_ms[i], tf);
    if (out.time_ms.empty() || out.time_ms.back() != b) {
      if (!out.time_ms.empty()) close_bucket();
      out.time_ms.push_back(b);
      out.open.push_back(in.open[i]);
      out.high.push_back(in.high[i]);
      out.low.push_back(in.low[i]);
      out.close.push_back(in.close[i]);
      volume.reset();
      volume.add(in.volume[i]);
      in_bucket = 1;
      continue;
    }
    out.high.back() = std::max(out.high.back(), in.high[i]);
    out.low.back() = std::min(out.low.back(), in.low[i]);
    out.close.back() = in.close[i];
    volume.add(in.volume[i]);
    ++in_bucket;
  }
  close_bucket();
  if (report != nullptr) report->incomplete_buckets = incomplete;
  if (out.size() < 2)
    throw InputError(name + ": need at least 2 bars; resampling to " + format_bar_size(tf) +
                     " gives " + std::to_string(out.size()));
  measure_spacing(out);
  return out;
}

}  // namespace

BarSeries load_bars(const std::vector<std::string>& paths, const LoadOptions& options,
                    LoadReport* report) {
  if (paths.empty()) throw InputError("no data file given");
  Loaded loaded;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const std::string& path = paths[i];
    FileParser parser(path, i > 0 ? &paths[i - 1] : nullptr, loaded);
    std::string sha;
    const std::int64_t rows = parser.parse(&sha);
    loaded.bars.sources.push_back({path, std::move(sha), rows});
  }
  BarSeries& bars = loaded.bars;
  if (bars.size() < 2) throw InputError(paths.back() + ": need at least 2 bars");
  measure_spacing(bars);
  if (report != nullptr) {
    report->input_bars = static_cast<std::int64_t>(bars.size());
    report->incomplete_buckets = 0;
  }
  if (options.timeframe_ms.has_value())
    return resample(bars, *options.timeframe_ms, loaded.volume_decimals, paths.back(), report);
  return std::move(bars);
}

std::int64_t parse_timeframe(const std::string& text) {
  std::int64_t n = 0;
  const char* begin = text.data();
  const char* end = begin + text.size();
  const auto r = std::from_chars(begin, end, n);
  std::int64_t unit = 0;
  if (r.ec == std::errc() && r.ptr != begin && r.ptr + 1 == end && n > 0 && n <= 1'000'000) {
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
        unit = 604'800'000;
        break;
      default:
        break;
    }
  }
  if (unit == 0) {
    std::string shown;
    for (const char c : text)
      shown.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
    throw InputError("--timeframe '" + shown + "': expected e.g. 5m, 15m, 1h, 4h, 1d");
  }
  return n * unit;
}

std::string sha256_file(const std::string& path) {
  Sha256 hash;
  read_chunks(path, [&hash](const char* p, std::size_t n) { hash.update(p, n); });
  return hash.hex_digest();
}

}  // namespace threadx
