// Bar files: the real BTC files (plain and raw Binance, ms and µs), resampling checked against
// independently resampled files, and every kind of bad input with its file and line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "common/error.hpp"
#include "common/sha256.hpp"
#include "data/loader.hpp"
#include "support/paths.hpp"

namespace threadx {
namespace {

namespace fs = std::filesystem;
using testing::shared_path;

std::string sha(const std::string& s) {
  Sha256 h;
  h.update(s.data(), s.size());
  return h.hex_digest();
}

TEST(Sha256, FipsVectorsAndDataFiles) {
  EXPECT_EQ(sha(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(sha256_file(shared_path("data/BTCUSDT_15m_2024-12-01_2024-12-10.csv")),
            "7b4f0a5a97fc8ceb5ee5d569f49a86647d3ecdb5165065dbb57cb3b9ed27b62b");
  EXPECT_EQ(sha256_file(shared_path("data/BTCUSDT_5m_2023-10_2025-02.csv")),
            "7fb4d1a276ddb9acf07d7a792495979cd246b94839698043805e14b80ea99126");
}

TEST(Loader, RealPlainCsvFiles) {
  const BarSeries a = load_bars({shared_path("data/BTCUSDT_15m_2024-12-01_2024-12-10.csv")});
  ASSERT_EQ(a.size(), 960u);
  EXPECT_EQ(a.time_ms.front(), 1733011200000);  // 2024-12-01 00:00 UTC
  EXPECT_EQ(a.time_ms.back(), 1733011200000 + 959 * 900000LL);
  EXPECT_EQ(a.bar_ms, 900000);
  EXPECT_EQ(a.gap_count, 0);
  EXPECT_EQ(a.bars_per_year(), 35040.0);
  ASSERT_EQ(a.sources.size(), 1u);
  EXPECT_EQ(a.sources[0].rows, 960);
  EXPECT_EQ(a.sources[0].sha256,
            "7b4f0a5a97fc8ceb5ee5d569f49a86647d3ecdb5165065dbb57cb3b9ed27b62b");
  // The 2024-12-01 day from 15m bars is Binance's daily candle (shared/data/README.md).
  double hi = 0, lo = 1e300, vol = 0;
  for (std::size_t i = 0; i < 96; ++i) {
    hi = std::max(hi, a.high[i]);
    lo = std::min(lo, a.low[i]);
    vol += a.volume[i];
  }
  EXPECT_EQ(a.open[0], 96407.99);
  EXPECT_EQ(hi, 97836);
  EXPECT_EQ(lo, 95693.88);
  EXPECT_EQ(a.close[95], 97185.18);
  EXPECT_NEAR(vol, 16938.60452, 1e-6);
  const BarSeries b = load_bars({shared_path("data/BTCUSDT_15m_2023-10_2025-02.csv")});
  EXPECT_EQ(b.size(), 49632u);
  EXPECT_EQ(b.gap_count, 0);
}

TEST(Loader, BinanceKlinesInMillisecondsAndMicroseconds) {
  const std::string dec = shared_path("data/binance/BTCUSDT-5m-2024-12.csv");
  const std::string jan = shared_path("data/binance/BTCUSDT-5m-2025-01.csv");
  const BarSeries d = load_bars({dec}), j = load_bars({jan});
  EXPECT_EQ(d.size(), 8928u);
  EXPECT_EQ(j.size(), 8928u);
  EXPECT_EQ(d.time_ms.front(), 1733011200000);  // ms file
  EXPECT_EQ(j.time_ms.front(), 1735689600000);  // µs file, converted to ms
  EXPECT_EQ(d.bar_ms, 300000);
  EXPECT_EQ(j.bar_ms, 300000);
  const BarSeries both = load_bars({dec, jan});
  EXPECT_EQ(both.size(), 17856u);
  EXPECT_EQ(both.gap_count, 0);
  EXPECT_EQ(both.sources.size(), 2u);
  try {
    load_bars({jan, dec});
    FAIL() << "files out of order accepted";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("BTCUSDT-5m-2024-12.csv:1:"), std::string::npos) << m;
    EXPECT_NE(m.find("time order"), std::string::npos) << m;
  }
}

void expect_same_bars(const BarSeries& a, std::size_t a0, const BarSeries& b, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(a.time_ms[a0 + i], b.time_ms[i]) << i;
    ASSERT_EQ(a.open[a0 + i], b.open[i]) << i;
    ASSERT_EQ(a.high[a0 + i], b.high[i]) << i;
    ASSERT_EQ(a.low[a0 + i], b.low[i]) << i;
    ASSERT_EQ(a.close[a0 + i], b.close[i]) << i;
    ASSERT_NEAR(a.volume[a0 + i], b.volume[i], 1e-9 * std::max(1.0, b.volume[i])) << i;
  }
}

TEST(Loader, ResamplingReproducesThe15mFiles) {
  LoadOptions o;
  o.timeframe_ms = parse_timeframe("15m");
  LoadReport rep;
  const BarSeries r = load_bars({shared_path("data/BTCUSDT_5m_2023-10_2025-02.csv")}, o, &rep);
  const BarSeries want = load_bars({shared_path("data/BTCUSDT_15m_2023-10_2025-02.csv")});
  EXPECT_EQ(rep.input_bars, 148896);
  EXPECT_EQ(rep.incomplete_buckets, 0);
  ASSERT_EQ(r.size(), want.size());
  EXPECT_EQ(r.bar_ms, 900000);
  expect_same_bars(want, 0, r, want.size());
  // The raw Binance December file resampled: the matching 2,976 bars of the 15m file.
  const BarSeries dec = load_bars({shared_path("data/binance/BTCUSDT-5m-2024-12.csv")}, o);
  ASSERT_EQ(dec.size(), 2976u);
  const auto first = static_cast<std::size_t>(
      std::find(want.time_ms.begin(), want.time_ms.end(), dec.time_ms[0]) - want.time_ms.begin());
  ASSERT_LT(first, want.size());
  expect_same_bars(want, first, dec, dec.size());
}

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("threadx_loader_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string file(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  // Loads `text` and expects an InputError mentioning "<name>:<line>:" and `what`.
  void expect_error(const std::string& text, int line, const std::string& what,
                    const LoadOptions& o = {}) {
    const std::string path = file("bad.csv", text);
    try {
      load_bars({path}, o);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const InputError& e) {
      const std::string m = e.what();
      const std::string where = line > 0 ? "bad.csv:" + std::to_string(line) + ":" : "bad.csv:";
      EXPECT_NE(m.find(where), std::string::npos) << m;
      EXPECT_NE(m.find(what), std::string::npos) << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << "multi-line: " << m;
    }
  }
  fs::path dir_;
};

constexpr const char* kHead = "timestamp,open,high,low,close,volume\n";

TEST_F(BadInput, EachProblemNamesFileAndLine) {
  const std::string ok1 = "900000,10,12,9,11,5\n";
  const std::string h = kHead;
  expect_error("", 0, "empty file");
  expect_error(h, 0, "no bars");
  expect_error(h + ok1 + "1800000,10,12,9\n", 3, "4 columns");
  expect_error(h + ok1 + "1800000,10,abc,9,11,5\n", 3, "high 'abc' is not a number");
  expect_error(h + ok1 + "1800000,10,12,9,nan,5\n", 3, "close is NaN");
  expect_error(h + ok1 + "1800000,10,12,9,inf,5\n", 3, "close is infinite");
  expect_error(h + ok1 + "1800000,-10,12,9,11,5\n", 3, "open -10 <= 0");
  expect_error(h + ok1 + "1800000,10,12,9,11,-5\n", 3, "volume -5 < 0");
  expect_error(h + ok1 + "1800000,10,10.5,9,11,5\n", 3, "high 10.5 < max(open, close) 11");
  expect_error(h + ok1 + "1800000,10,12,10.5,11,5\n", 3, "low 10.5 > min(open, close) 10");
  expect_error(h + ok1 + "900000,10,12,9,11,5\n", 3, "duplicate timestamp 900000");
  expect_error(h + ok1 + "2700000,10,12,9,11,5\n1800000,10,12,9,11,5\n", 4,
               "is before the previous");
  expect_error(h + ok1 + "1.8e6,10,12,9,11,5\n", 3, "not an integer");
  expect_error("time,o,h,l,c,v\n" + ok1, 1, "unknown header");
  expect_error(h + ok1 + "\n1800000,10,12,9,11,5\n", 3, "empty line");
  expect_error(h + ok1, 0, "need at least 2 bars");
  // A Binance file that switches from ms to µs mid-file.
  const std::string k1 = "1733011200000,1,2,0.5,1.5,10,1733011499999,1,1,1,1,0\n";
  const std::string k2 = "1733011500000000,1,2,0.5,1.5,10,1733011799999999,1,1,1,1,0\n";
  expect_error(k1 + k2, 2, "is in microseconds but earlier rows are in milliseconds");
  // Resampling to a timeframe that is not a multiple of the bar size.
  LoadOptions o;
  o.timeframe_ms = 7 * 60000;
  const std::string five = h + "0,1,2,0.5,1.5,1\n300000,1,2,0.5,1.5,1\n";
  expect_error(five, 0, "not a multiple", o);
}

TEST_F(BadInput, GapsAreCountedAndIncompleteBucketsReported) {
  // 5m bars at 0, 5, 10, 20, 25 min (15m missing): one gap; resampled to 15m the second bucket
  // [15, 30) has 2 of 3 bars.
  std::string t = kHead;
  for (int m : {0, 5, 10, 20, 25}) t += std::to_string(m * 60000) + ",10,12,9,11,1\n";
  const std::string path = file("gap.csv", t);
  const BarSeries b = load_bars({path});
  EXPECT_EQ(b.bar_ms, 300000);
  EXPECT_EQ(b.gap_count, 1);
  LoadOptions o;
  o.timeframe_ms = 900000;
  LoadReport rep;
  const BarSeries r = load_bars({path}, o, &rep);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(rep.incomplete_buckets, 1);
  EXPECT_EQ(r.volume[0], 3.0);
  EXPECT_EQ(r.volume[1], 2.0);
  EXPECT_EQ(r.time_ms[1], 900000);
  // CRLF line endings and no final newline are fine.
  const std::string crlf = file("crlf.csv",
                                "timestamp,open,high,low,close,volume\r\n"
                                "0,10,12,9,11,1\r\n300000,10,12,9,11,1");
  EXPECT_EQ(load_bars({crlf}).size(), 2u);
}

TEST(Timeframe, ParsesCountAndUnit) {
  EXPECT_EQ(parse_timeframe("5m"), 300000);
  EXPECT_EQ(parse_timeframe("15m"), 900000);
  EXPECT_EQ(parse_timeframe("1h"), 3600000);
  EXPECT_EQ(parse_timeframe("4h"), 14400000);
  EXPECT_EQ(parse_timeframe("1d"), 86400000);
  EXPECT_EQ(parse_timeframe("1w"), 604800000);
  for (const char* bad : {"", "15", "m", "0m", "-5m", "5x", "5mm", "1.5h"})
    EXPECT_THROW(parse_timeframe(bad), InputError) << bad;
}

}  // namespace
}  // namespace threadx
