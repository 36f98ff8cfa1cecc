// Bar files: the real BTC files (plain and raw Binance, ms and µs), resampling checked against
// independently resampled files, and every kind of bad input with its file and line.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "common/error.hpp"
#include "common/sha256.hpp"
#include "data/loader.hpp"
#include "support/paths.hpp"

namespace threadx {
namespace {

namespace fs = std::filesystem;
using testing::repo_path;

constexpr std::int64_t k5m = 300000, k15m = 900000;

const std::string kSha960 = "7b4f0a5a97fc8ceb5ee5d569f49a86647d3ecdb5165065dbb57cb3b9ed27b62b";
const std::string kSha49632 = "f538ea6ed0449356d12ebe518a8c0b746dcbc031c4719b1376ec723c7688b48e";
const std::string kSha5m = "7fb4d1a276ddb9acf07d7a792495979cd246b94839698043805e14b80ea99126";

std::string file_960() {
  return repo_path("data/BTCUSDT_15m_2024-12-01_2024-12-10.csv");
}
std::string file_15m() {
  return repo_path("data/BTCUSDT_15m_2023-10_2025-02.csv");
}
std::string file_5m() {
  return repo_path("data/BTCUSDT_5m_2023-10_2025-02.csv");
}
std::string file_dec() {
  return repo_path("data/binance/BTCUSDT-5m-2024-12.csv");
}
std::string file_jan() {
  return repo_path("data/binance/BTCUSDT-5m-2025-01.csv");
}

std::string sha(const std::string& s) {
  Sha256 h;
  h.update(s.data(), s.size());
  return h.hex_digest();
}

// The message of the InputError `f` throws; a test failure if it throws nothing.
template <class F>
std::string input_error(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no InputError";
  return "";
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// A fresh directory under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("threadx_loader_" + std::to_string(::getpid()) + "_" +
             (info != nullptr ? std::string(info->name()) : "x") + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `text` byte for byte to <dir>/<name>; returns the path.
  std::string write(const std::string& name, const std::string& text) const {
    const fs::path p = path_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Every OHLCV value of b equals a[a0 + i] bit for bit (operator== on doubles), timestamps too.
void expect_same_bars(const BarSeries& a, std::size_t a0, const BarSeries& b) {
  ASSERT_LE(a0 + b.size(), a.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < b.size() && bad < 5; ++i) {
    const std::size_t j = a0 + i;
    const bool same = a.time_ms[j] == b.time_ms[i] && a.open[j] == b.open[i] &&
                      a.high[j] == b.high[i] && a.low[j] == b.low[i] && a.close[j] == b.close[i] &&
                      a.volume[j] == b.volume[i];
    if (!same) {
      ++bad;
      ADD_FAILURE() << "bar " << i << " differs: t " << a.time_ms[j] << " vs " << b.time_ms[i]
                    << ", volume " << a.volume[j] << " vs " << b.volume[i];
    }
  }
}

// ---- SHA-256
// --------------------------------------------------------------------------------------

TEST(Sha256, FipsVectors) {
  EXPECT_EQ(sha(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PaddingBoundariesAndChunking) {
  // Lengths around the 56- and 64-byte padding boundaries (values from Python's hashlib).
  const std::pair<std::size_t, const char*> cases[] = {
      {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
      {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
      {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
      {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
      {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
      {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
      {128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"}};
  for (const auto& [n, want] : cases) EXPECT_EQ(sha(std::string(n, 'a')), want) << n;
  // All byte values, fed in uneven pieces: the same digest as in one piece.
  std::string bytes;
  for (int r = 0; r < 300; ++r)
    for (int b = 0; b < 256; ++b) bytes.push_back(static_cast<char>(b));
  const std::string want = "f8b0585eb91f58c007a5634362c9f90d8543822c113f702523bc7b73408a9392";
  EXPECT_EQ(sha(bytes), want);
  Sha256 h;
  for (std::size_t pos = 0, step = 1; pos < bytes.size(); pos += step, step = step % 97 + 13)
    h.update(bytes.data() + pos, std::min(step, bytes.size() - pos));
  EXPECT_EQ(h.hex_digest(), want);
}

// data/README.md lists every bundled data file with its SHA-256; each file matches its line, and
// the three plain files have the hashes this test knows independently of the README.
TEST(Sha256, BundledDataFilesMatchThisReadme) {
  std::ifstream readme(repo_path("data/README.md"));
  ASSERT_TRUE(readme) << "cannot open data/README.md";
  std::vector<std::pair<std::string, std::string>> listed;  // (file, sha256)
  for (std::string line; std::getline(readme, line);) {
    if (line.rfind("| ", 0) != 0 || line.find(".csv |") == std::string::npos) continue;
    const std::string file = line.substr(2, line.find(" |") - 2);
    const std::size_t last = line.rfind(" |");
    const std::size_t before = line.rfind("| ", last - 1);
    listed.emplace_back(file, line.substr(before + 2, last - before - 2));
  }
  ASSERT_EQ(listed.size(), 5u) << "data/README.md should list the 5 bundled files";
  for (const auto& [file, hash] : listed) {
    ASSERT_EQ(hash.size(), 64u) << file << ": no SHA-256 in its README line";
    EXPECT_EQ(sha256_file(repo_path("data/" + file)), hash) << file;
  }
  EXPECT_EQ(sha256_file(file_960()), kSha960);
  EXPECT_EQ(sha256_file(file_15m()), kSha49632);
  EXPECT_EQ(sha256_file(file_5m()), kSha5m);
  // Streamed hash == hash of the bytes in one piece, for a file larger than one 64 KiB read.
  std::ifstream in(file_dec(), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 3u * 65536u);
  EXPECT_EQ(sha256_file(file_dec()), sha(bytes));
  const std::string m = input_error([] { sha256_file("/nonexistent/threadx.csv"); });
  EXPECT_TRUE(contains(m, "/nonexistent/threadx.csv: ")) << m;
}

// ---- real data ----------------------------------------------------------------------------------

TEST(Loader, RealPlainCsvFiles) {
  const BarSeries a = load_bars({file_960()});
  ASSERT_EQ(a.size(), 960u);
  EXPECT_EQ(a.time_ms.front(), 1733011200000);  // 2024-12-01 00:00 UTC
  EXPECT_EQ(a.time_ms.back(), 1733011200000 + 959 * k15m);
  EXPECT_EQ(a.bar_ms, k15m);
  EXPECT_EQ(a.gap_count, 0);
  EXPECT_EQ(a.bars_per_year(), 35040.0);
  EXPECT_EQ(a.open[0], 96407.99);
  EXPECT_EQ(a.high[0], 96584);
  EXPECT_EQ(a.low[0], 96350.13);
  EXPECT_EQ(a.close[0], 96566.33);
  EXPECT_EQ(a.volume[0], 98.77594);
  ASSERT_EQ(a.sources.size(), 1u);
  EXPECT_EQ(a.sources[0].path, file_960());
  EXPECT_EQ(a.sources[0].rows, 960);
  EXPECT_EQ(a.sources[0].sha256, kSha960);
  // The 2024-12-01 day from 15m bars is Binance's daily candle (data/README.md).
  double hi = 0, lo = 1e300, vol = 0;
  for (std::size_t i = 0; i < 96; ++i) {
    hi = std::max(hi, a.high[i]);
    lo = std::min(lo, a.low[i]);
    vol += a.volume[i];
  }
  EXPECT_EQ(hi, 97836);
  EXPECT_EQ(lo, 95693.88);
  EXPECT_EQ(a.close[95], 97185.18);
  EXPECT_NEAR(vol, 16938.60452, 1e-6);

  LoadReport rep;
  const BarSeries b = load_bars({file_15m()}, {}, &rep);
  ASSERT_EQ(b.size(), 49632u);
  EXPECT_EQ(rep.input_bars, 49632);
  EXPECT_EQ(rep.incomplete_buckets, 0);
  EXPECT_EQ(b.time_ms.front(), 1696118400000);  // 2023-10-01 00:00
  EXPECT_EQ(b.time_ms.back(), 1740786300000);   // 2025-02-28 23:45
  EXPECT_EQ(b.bar_ms, k15m);
  EXPECT_EQ(b.gap_count, 0);
  EXPECT_EQ(b.sources[0].sha256, kSha49632);
  EXPECT_EQ(b.sources[0].rows, 49632);
}

TEST(Loader, Plain5mFileLoadsFast) {
  const auto t0 = std::chrono::steady_clock::now();
  const BarSeries s = load_bars({file_5m()});
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "[ timing   ] 148,896-bar 5m file loaded in " << secs * 1000 << " ms\n";
  ASSERT_EQ(s.size(), 148896u);
  EXPECT_EQ(s.time_ms.front(), 1696118400000);
  EXPECT_EQ(s.time_ms.back(), 1740786900000);  // 2025-02-28 23:55
  EXPECT_EQ(s.bar_ms, k5m);
  EXPECT_EQ(s.gap_count, 0);
  EXPECT_EQ(s.sources[0].sha256, kSha5m);
  EXPECT_EQ(s.close.back(), 84349.94);
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(secs, 1.0);  // optimized builds only
#endif
}

TEST(Loader, BinanceKlinesInMillisecondsAndMicroseconds) {
  const BarSeries d = load_bars({file_dec()}), j = load_bars({file_jan()});
  ASSERT_EQ(d.size(), 8928u);
  ASSERT_EQ(j.size(), 8928u);
  EXPECT_EQ(d.time_ms.front(), 1733011200000);  // ms file
  EXPECT_EQ(d.time_ms.back(), 1735689300000);
  EXPECT_EQ(j.time_ms.front(), 1735689600000);  // µs file, converted to ms
  EXPECT_EQ(j.time_ms.back(), 1738367700000);
  EXPECT_EQ(d.open[0], 96407.99);
  EXPECT_EQ(d.high[0], 96524);
  EXPECT_EQ(d.low[0], 96350.13);
  EXPECT_EQ(d.close[0], 96508.29);
  EXPECT_EQ(d.volume[0], 35.87706);
  EXPECT_EQ(j.open[0], 93576);
  EXPECT_EQ(j.volume[0], 45.9416);
  EXPECT_EQ(d.bar_ms, k5m);
  EXPECT_EQ(j.bar_ms, k5m);
  EXPECT_EQ(d.gap_count, 0);
  EXPECT_EQ(j.gap_count, 0);

  LoadReport rep;
  const BarSeries both = load_bars({file_dec(), file_jan()}, {}, &rep);
  ASSERT_EQ(both.size(), 17856u);
  EXPECT_EQ(rep.input_bars, 17856);
  EXPECT_EQ(both.bar_ms, k5m);
  EXPECT_EQ(both.gap_count, 0);
  for (std::size_t i = 1; i < both.size(); ++i)
    ASSERT_EQ(both.time_ms[i] - both.time_ms[i - 1], k5m);
  ASSERT_EQ(both.sources.size(), 2u);
  EXPECT_EQ(both.sources[0].path, file_dec());
  EXPECT_EQ(both.sources[1].path, file_jan());
  EXPECT_EQ(both.sources[0].rows, 8928);
  EXPECT_EQ(both.sources[1].rows, 8928);
  EXPECT_EQ(both.sources[1].sha256, sha256_file(file_jan()));

  // Wrong order: the second file given (December) does not continue January.
  const std::string m = input_error([] { load_bars({file_jan(), file_dec()}); });
  EXPECT_TRUE(contains(m, file_dec() + ":1: ")) << m;
  EXPECT_TRUE(contains(m, "time order")) << m;
  EXPECT_TRUE(contains(m, "1738367700000")) << m;  // the previous bar, January's last
  // The same file twice: the second copy's first row goes back in time.
  const std::string twice = input_error([] { load_bars({file_dec(), file_dec()}); });
  EXPECT_EQ(twice.rfind(file_dec() + ":1: timestamp 1733011200000 ", 0), 0u) << twice;
}

TEST(Loader, ResamplingReproducesThe15mFiles) {
  LoadOptions o;
  o.timeframe_ms = parse_timeframe("15m");
  LoadReport rep;
  const BarSeries r = load_bars({file_5m()}, o, &rep);
  const BarSeries want = load_bars({file_15m()});
  EXPECT_EQ(rep.input_bars, 148896);
  EXPECT_EQ(rep.incomplete_buckets, 0);
  ASSERT_EQ(r.size(), want.size());
  EXPECT_EQ(r.bar_ms, k15m);
  EXPECT_EQ(r.gap_count, 0);
  ASSERT_EQ(r.sources.size(), 1u);
  EXPECT_EQ(r.sources[0].rows, 148896);
  EXPECT_EQ(r.sources[0].sha256, kSha5m);
  expect_same_bars(want, 0, r);

  // The raw Binance December file (ms, 8-decimal volumes) resampled: the matching 2,976 bars.
  LoadReport rep_dec;
  const BarSeries dec = load_bars({file_dec()}, o, &rep_dec);
  ASSERT_EQ(dec.size(), 2976u);
  EXPECT_EQ(rep_dec.input_bars, 8928);
  EXPECT_EQ(rep_dec.incomplete_buckets, 0);
  const auto first = static_cast<std::size_t>(
      std::find(want.time_ms.begin(), want.time_ms.end(), 1733011200000) - want.time_ms.begin());
  ASSERT_LT(first, want.size());
  expect_same_bars(want, first, dec);
  // December + January (µs) together: 5,952 bars.
  const BarSeries two = load_bars({file_dec(), file_jan()}, o);
  ASSERT_EQ(two.size(), 5952u);
  expect_same_bars(want, first, two);
}

TEST(Loader, ResamplingToADayGivesBinancesDailyCandle) {
  LoadOptions o;
  o.timeframe_ms = parse_timeframe("1d");
  LoadReport rep;
  const BarSeries d = load_bars({file_5m()}, o, &rep);
  EXPECT_EQ(d.size(), 517u);  // 2023-10-01 .. 2025-02-28
  EXPECT_EQ(d.bar_ms, 86400000);
  EXPECT_EQ(rep.incomplete_buckets, 0);
  const auto i = static_cast<std::size_t>(
      std::find(d.time_ms.begin(), d.time_ms.end(), 1733011200000) - d.time_ms.begin());
  ASSERT_LT(i, d.size());
  // data/README.md: 96407.99 / 97836 / 95693.88 / 97185.18 / 16938.60452.
  EXPECT_EQ(d.open[i], 96407.99);
  EXPECT_EQ(d.high[i], 97836);
  EXPECT_EQ(d.low[i], 95693.88);
  EXPECT_EQ(d.close[i], 97185.18);
  EXPECT_EQ(d.volume[i], 16938.60452);  // exact decimal sum of 288 volumes
  // 1h from 5m equals 1h from 15m.
  o.timeframe_ms = parse_timeframe("1h");
  const BarSeries h5 = load_bars({file_5m()}, o), h15 = load_bars({file_15m()}, o);
  ASSERT_EQ(h5.size(), 12408u);
  ASSERT_EQ(h15.size(), h5.size());
  expect_same_bars(h15, 0, h5);
}

// ---- hand-made files ----------------------------------------------------------------------------

constexpr const char* kHead = "timestamp,open,high,low,close,volume\n";

std::string plain_row(std::int64_t t, const std::string& ohlcv = "10,12,9,11,1") {
  return std::to_string(t) + "," + ohlcv + "\n";
}

std::string kline(std::int64_t t, const std::string& ohlcv = "1,2,0.5,1.5,10") {
  return std::to_string(t) + "," + ohlcv + "," + std::to_string(t + 299999) + ",1,1,1,1,0\n";
}

class LoaderBadInput : public ::testing::Test {
 protected:
  // Loads `text` from "bad.csv" and expects one InputError line containing "<path>:<line>: "
  // (or "<path>: " when line is 0) and `what`.
  void expect_error(const std::string& text, int line, const std::string& what,
                    const LoadOptions& o = {}) {
    SCOPED_TRACE("input: " + text);
    const std::string path = dir_.write("bad.csv", text);
    const std::string m = input_error([&] { load_bars({path}, o); });
    const std::string where = path + ":" + (line > 0 ? std::to_string(line) + ":" : "") + " ";
    EXPECT_EQ(m.rfind(where, 0), 0u) << "expected to start with '" << where << "': " << m;
    EXPECT_TRUE(contains(m, what)) << "expected '" << what << "' in: " << m;
    EXPECT_FALSE(contains(m, "\n") || contains(m, "\r")) << "multi-line: " << m;
  }
  TempDir dir_;
};

TEST_F(LoaderBadInput, EmptyAndHeaderOnly) {
  const std::string h = kHead;
  expect_error("", 0, "no bars");
  expect_error("\n", 0, "no bars");
  expect_error("\r\n\r\n", 0, "no bars");
  expect_error(h, 0, "no bars (header only)");
  expect_error("timestamp,open,high,low,close,volume", 0, "no bars (header only)");
  expect_error("timestamp,open,high,low,close,volume\r\n", 0, "no bars (header only)");
  expect_error(h + plain_row(0), 0, "need at least 2 bars");
}

TEST_F(LoaderBadInput, HeaderAndColumns) {
  const std::string h = kHead, ok = plain_row(900000);
  expect_error("time,o,h,l,c,v\n" + ok, 1, "unknown header 'time,o,h,l,c,v'");
  expect_error("timestamp,open,high,low,close\n" + ok, 1, "unknown header");
  expect_error(ok + plain_row(1800000), 1, "no header and 6 columns");
  expect_error(h + ok + "1800000,10,12,9\n", 3, "4 columns, expected 6");
  expect_error(h + ok + "1800000,10,12,9,11,5,7\n", 3, "7 columns, expected 6");
  expect_error(h + ok + "1800000,10,12,9,11,5,\n", 3, "7 columns, expected 6");
  expect_error(h + ok + "1800000;10;12;9;11;5\n", 3, "1 columns, expected 6");
  expect_error(h + ok + "\n" + plain_row(1800000), 3, "empty line");
  expect_error(h + ok + "\r\n" + plain_row(1800000), 3, "empty line");
  // Binance: 11 columns on line 2.
  expect_error(kline(0) + "300000,1,2,0.5,1.5,10,599999,1,1,1,1\n", 2, "11 columns, expected 12");
}

TEST_F(LoaderBadInput, NonNumericFields) {
  const std::string h = kHead, ok = plain_row(900000);
  expect_error(h + ok + "1800000,10,abc,9,11,5\n", 3, "high 'abc' is not a number");
  expect_error(h + ok + "1800000,10,12,9,11,\n", 3, "volume '' is not a number");
  expect_error(h + ok + "1800000,10,12x,9,11,5\n", 3, "high '12x' is not a number");
  expect_error(h + ok + "1800000, 10,12,9,11,5\n", 3, "open ' 10' is not a number");
  expect_error(h + ok + "1800000,+10,12,9,11,5\n", 3, "open '+10' is not a number");
  expect_error(h + ok + "1800000,0x1A,12,9,11,5\n", 3, "open '0x1A' is not a number");
  expect_error(h + ok + "1800000,10,12,9,1\r1,5\n", 3, "close '1?1' is not a number");
  // Bytes outside ASCII (UTF-8, binary) are shown as '?': the message stays plain text.
  expect_error(h + ok + "1800000,10,12,9,11,\xC3\xA9\xFF\n", 3, "volume '?\?\?' is not a number");
  expect_error(h + ok + "1800000,10,12,9,1e999,5\n", 3, "close '1e999' is out of range");
  expect_error(h + ok + "1.8e6,10,12,9,11,5\n", 3, "timestamp '1.8e6' is not an integer");
  expect_error(h + ok + "abc,10,12,9,11,5\n", 3, "timestamp 'abc' is not an integer");
  expect_error(h + ok + "1800000 ,10,12,9,11,5\n", 3, "timestamp '1800000 ' is not an integer");
  expect_error(h + ok + "99999999999999999999,10,12,9,11,5\n", 3, "is not an integer");
  expect_error(h + "-900000,10,12,9,11,5\n" + ok, 2, "timestamp -900000 is negative");
  // Fields are quoted at most 40 characters long.
  expect_error(h + ok + "1800000," + std::string(200, 'x') + ",12,9,11,5\n", 3,
               "open '" + std::string(40, 'x') + "...' is not a number");
}

TEST_F(LoaderBadInput, OverlongLinesStopAtOnce) {
  // Binary data or a file without line breaks: reported at the line, not read to the end.
  const std::string h = kHead, ok = plain_row(900000);
  expect_error(h + ok + "1800000,10,12,9,11," + std::string(5000, '1') + "\n", 3,
               "line longer than 4096 bytes");
  expect_error(std::string(200000, '\0'), 1, "line longer than 4096 bytes");
  // A line of exactly 4096 bytes is read (and then judged on its fields).
  const std::string row = "1800000,10,12,9,11,";
  expect_error(h + ok + row + std::string(4096 - row.size(), '5') + "\n", 3,
               "volume '5555555555555555555555555555555555555555...' is out of range");
}

TEST_F(LoaderBadInput, NanInfAndValueRules) {
  const std::string h = kHead, ok = plain_row(900000);
  auto bad = [&](const std::string& ohlcv, const std::string& what) {
    expect_error(h + ok + plain_row(1800000, ohlcv), 3, what);
  };
  bad("10,12,9,nan,5", "close is NaN");
  bad("NaN,12,9,11,5", "open is NaN");
  bad("10,12,9,11,nan", "volume is NaN");
  bad("10,inf,9,11,5", "high is infinite");
  bad("10,12,-inf,11,5", "low is infinite");
  bad("10,12,9,11,infinity", "volume is infinite");
  bad("0,12,9,11,5", "open 0 <= 0");
  bad("-10,12,9,11,5", "open -10 <= 0");
  bad("10,12,-9,11,5", "low -9 <= 0");
  bad("10,12,9,0,5", "close 0 <= 0");
  bad("10,12,9,11,-5", "volume -5 < 0");
  bad("10,9,12,11,5", "high 9 < low 12");
  bad("10,10.5,9,11,5", "high 10.5 < max(open, close) 11");
  bad("11,10.5,9,10,5", "high 10.5 < max(open, close) 11");
  bad("10,12,10.5,11,5", "low 10.5 > min(open, close) 10");
  bad("11,12,10.5,10,5", "low 10.5 > min(open, close) 10");
  // Zero volume and open == high == low == close are valid.
  const std::string path = dir_.write("flat.csv", h + ok + plain_row(1800000, "10,10,10,10,0"));
  EXPECT_EQ(load_bars({path}).size(), 2u);
}

TEST_F(LoaderBadInput, TimestampOrder) {
  const std::string h = kHead;
  expect_error(h + plain_row(900000) + plain_row(900000), 3,
               "duplicate timestamp 900000 (1970-01-01T00:15:00Z)");
  expect_error(h + plain_row(0) + plain_row(2700000) + plain_row(1800000), 4,
               "timestamp 1800000 (1970-01-01T00:30:00Z) is before the previous bar's 2700000");
  // Across files: the second file must continue the first.
  const std::string a = dir_.write("a.csv", h + plain_row(0) + plain_row(900000));
  const std::string b = dir_.write("b.csv", h + plain_row(900000) + plain_row(1800000));
  const std::string c = dir_.write("c.csv", h + plain_row(1800000) + plain_row(2700000));
  std::string m = input_error([&] { load_bars({a, b}); });
  EXPECT_EQ(m.rfind(b + ":2: duplicate timestamp 900000", 0), 0u) << m;
  EXPECT_TRUE(contains(m, "time order")) << m;
  m = input_error([&] { load_bars({c, a}); });
  EXPECT_EQ(m.rfind(a + ":2: timestamp 0 ", 0), 0u) << m;
  EXPECT_TRUE(contains(m, "previous bar's 2700000")) << m;
  EXPECT_TRUE(contains(m, "previous file " + c)) << m;
  LoadReport rep;
  const BarSeries ac = load_bars({a, c}, {}, &rep);
  EXPECT_EQ(ac.size(), 4u);
  EXPECT_EQ(rep.input_bars, 4);
  EXPECT_EQ(ac.sources.size(), 2u);
  EXPECT_EQ(ac.gap_count, 0);
}

TEST_F(LoaderBadInput, TimeUnits) {
  const std::int64_t ms = 1733011200000, us = ms * 1000;
  // A Binance file that switches from ms to µs mid-file, and the other way round.
  expect_error(kline(ms) + kline(us + 300000000), 2,
               "timestamp 1733011500000000 is in microseconds but earlier rows are in "
               "milliseconds");
  expect_error(kline(us) + kline(us + 300000000) + kline(ms + 600000), 3,
               "is in milliseconds but earlier rows are in microseconds");
  // A µs timestamp in a plain CSV file.
  expect_error(std::string(kHead) + plain_row(us) + plain_row(us + 300000000), 2,
               "looks like microseconds");
  // µs converted to ms; a header row "open_time,..." is accepted.
  const std::string path =
      dir_.write("k.csv",
                 "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
                 "taker_buy_volume,taker_buy_quote_volume,ignore\r\n" +
                     kline(us) + kline(us + 300000000));
  const BarSeries s = load_bars({path});
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s.time_ms[0], ms);
  EXPECT_EQ(s.time_ms[1], ms + k5m);
  EXPECT_EQ(s.sources[0].rows, 2);
}

TEST_F(LoaderBadInput, FilesThatCannotBeRead) {
  const std::string missing = (dir_.path() / "missing.csv").string();
  std::string m = input_error([&] { load_bars({missing}); });
  EXPECT_EQ(m.rfind(missing + ": ", 0), 0u) << m;
  m = input_error([&] { load_bars({dir_.path().string()}); });
  EXPECT_EQ(m.rfind(dir_.path().string() + ": ", 0), 0u) << m;
  EXPECT_THROW(load_bars({}), InputError);
}

TEST_F(LoaderBadInput, LineEndingsBomAndTrailingBlankLines) {
  const std::string rows = "0,10,12,9,11,1\r\n300000,10,12,9,11,1";
  for (const std::string& text :
       {"timestamp,open,high,low,close,volume\r\n" + rows,
        "timestamp,open,high,low,close,volume\r\n" + rows + "\r\n",
        "timestamp,open,high,low,close,volume\r\n" + rows + "\r\n\r\n",
        "\xEF\xBB\xBFtimestamp,open,high,low,close,volume\n" + rows + "\n\n"}) {
    const std::string path = dir_.write("ok.csv", text);
    const BarSeries s = load_bars({path});
    ASSERT_EQ(s.size(), 2u) << text;
    EXPECT_EQ(s.sources[0].rows, 2);
    EXPECT_EQ(s.volume[1], 1.0);
    EXPECT_EQ(s.sources[0].sha256, sha(text));  // the file's bytes, BOM and all
  }
}

TEST_F(LoaderBadInput, GapsAndIncompleteBuckets) {
  // 5m bars at 0, 5, 10, 20, 25 min (15m missing): one gap; resampled to 15m the second bucket
  // [15, 30) has 2 of 3 bars.
  std::string t = kHead;
  t += plain_row(0, "10,12,9,11,1");
  t += plain_row(5 * 60000, "11,13,10,12,1");
  t += plain_row(10 * 60000, "12,12.5,8,9,1");
  t += plain_row(20 * 60000, "9,10,7,8,2.5");
  t += plain_row(25 * 60000, "8,15,8,14,0.25");
  const std::string path = dir_.write("gap.csv", t);
  const BarSeries b = load_bars({path});
  EXPECT_EQ(b.bar_ms, k5m);
  EXPECT_EQ(b.gap_count, 1);
  LoadOptions o;
  o.timeframe_ms = k15m;
  LoadReport rep;
  const BarSeries r = load_bars({path}, o, &rep);
  EXPECT_EQ(rep.input_bars, 5);
  EXPECT_EQ(rep.incomplete_buckets, 1);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r.time_ms, (std::vector<std::int64_t>{0, 900000}));
  EXPECT_EQ(r.open, (std::vector<double>{10, 9}));
  EXPECT_EQ(r.high, (std::vector<double>{13, 15}));
  EXPECT_EQ(r.low, (std::vector<double>{8, 7}));
  EXPECT_EQ(r.close, (std::vector<double>{9, 14}));
  EXPECT_EQ(r.volume, (std::vector<double>{3, 2.75}));
  EXPECT_EQ(r.bar_ms, k15m);
  EXPECT_EQ(r.gap_count, 0);
  EXPECT_EQ(r.sources[0].rows, 5);

  // 5m bars at 00:00, 01:05, 01:10 -> 15m bars 00:00 (1 of 3) and 01:00 (2 of 3); bar_ms is
  // recomputed on the output.
  const std::string g = dir_.write(
      "g.csv", std::string(kHead) + plain_row(0) + plain_row(65 * 60000) + plain_row(70 * 60000));
  const BarSeries rg = load_bars({g}, o, &rep);
  ASSERT_EQ(rg.size(), 2u);
  EXPECT_EQ(rg.time_ms[1], 3600000);
  EXPECT_EQ(rg.bar_ms, 3600000);  // the only step, so no gap is left to count
  EXPECT_EQ(rep.incomplete_buckets, 2);
  EXPECT_EQ(rep.input_bars, 3);
}

TEST_F(LoaderBadInput, ResamplingAlignsToTheEpochAndSumsVolumesExactly) {
  // Starts at 00:10: the first 15m bucket [00:00, 00:15) has 1 of 3 bars.
  std::string t = kHead;
  const char* vols[] = {"0.1", "0.1", "0.2", "0.3", "1", "2", "3"};
  for (int i = 0; i < 7; ++i)
    t += plain_row((10 + 5 * i) * 60000, std::string("10,12,9,11,") + vols[i]);
  const std::string path = dir_.write("align.csv", t);
  LoadOptions o;
  o.timeframe_ms = k15m;
  LoadReport rep;
  const BarSeries r = load_bars({path}, o, &rep);
  EXPECT_EQ(r.time_ms, (std::vector<std::int64_t>{0, 900000, 1800000}));
  EXPECT_EQ(rep.incomplete_buckets, 1);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r.volume[0], 0.1);
  EXPECT_NE(0.1 + 0.2 + 0.3, 0.6);  // a plain double sum would not give 0.6
  EXPECT_EQ(r.volume[1], 0.6);      // the exact decimal sum does
  EXPECT_EQ(r.volume[2], 6.0);
  // A volume written with an exponent: the plain double sum.
  const std::string e =
      dir_.write("exp.csv", std::string(kHead) + plain_row(0, "10,12,9,11,1e-1") +
                                plain_row(300000, "10,12,9,11,0.2") +
                                plain_row(600000, "10,12,9,11,0.3") + plain_row(900000));
  const BarSeries re = load_bars({e}, o);
  EXPECT_EQ(re.volume[0], 0.1 + 0.2 + 0.3);
  // The timeframe equal to the bar size leaves the bars as they are.
  o.timeframe_ms = k5m;
  const BarSeries same = load_bars({path}, o, &rep);
  const BarSeries plain = load_bars({path});
  EXPECT_EQ(rep.incomplete_buckets, 0);
  expect_same_bars(plain, 0, same);
}

TEST_F(LoaderBadInput, TimeframeMustBeAMultipleOfTheBarSize) {
  const std::string five = std::string(kHead) + plain_row(0) + plain_row(300000);
  LoadOptions o;
  o.timeframe_ms = 7 * 60000;
  expect_error(five, 0, "--timeframe 7m (420000 ms) is not a multiple of the data's bar size 5m",
               o);
  o.timeframe_ms = 60000;
  expect_error(five, 0, "--timeframe 1m (60000 ms) is not a multiple", o);
  o.timeframe_ms = 0;
  expect_error(five, 0, "must be positive", o);
  o.timeframe_ms = -k15m;
  expect_error(five, 0, "must be positive", o);
  // Resampled to one bar: unusable.
  o.timeframe_ms = 86400000;
  expect_error(five, 0, "need at least 2 bars", o);
}

// ---- parse_timeframe ----------------------------------------------------------------------------

TEST(Timeframe, ParsesCountAndUnit) {
  EXPECT_EQ(parse_timeframe("1m"), 60000);
  EXPECT_EQ(parse_timeframe("3m"), 180000);
  EXPECT_EQ(parse_timeframe("5m"), 300000);
  EXPECT_EQ(parse_timeframe("15m"), 900000);
  EXPECT_EQ(parse_timeframe("30m"), 1800000);
  EXPECT_EQ(parse_timeframe("1h"), 3600000);
  EXPECT_EQ(parse_timeframe("2h"), 7200000);
  EXPECT_EQ(parse_timeframe("4h"), 14400000);
  EXPECT_EQ(parse_timeframe("6h"), 21600000);
  EXPECT_EQ(parse_timeframe("12h"), 43200000);
  EXPECT_EQ(parse_timeframe("1d"), 86400000);
  EXPECT_EQ(parse_timeframe("1w"), 604800000);
  EXPECT_EQ(parse_timeframe("90m"), 5400000);
}

TEST(Timeframe, RejectsEverythingElse) {
  for (const char* bad : {"", "15", "m", "0m", "-5m", "+5m", "5x", "5mm", "1.5h", " 5m", "5m ",
                          "5 m", "5M", "1y", "99999999999999999999m", "2000000m"}) {
    const std::string m = input_error([&] { parse_timeframe(bad); });
    EXPECT_EQ(m, "--timeframe '" + std::string(bad) + "': expected e.g. 5m, 15m, 1h, 4h, 1d");
  }
  EXPECT_EQ(input_error([] { parse_timeframe("5\nm"); }),
            "--timeframe '5?m': expected e.g. 5m, 15m, 1h, 4h, 1d");
}

}  // namespace
}  // namespace threadx
