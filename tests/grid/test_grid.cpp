// Grid files and combination ids (SWEEP.md): the reference grids, the id order, ranges, types and
// every error with its file, line and key.
#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "grid/grid.hpp"
#include "strategies/bb_atr/spec.hpp"
#include "support/paths.hpp"

namespace threadx {
namespace {

using testing::repo_path;
using Indices = ParamIndex;
// The grids here are bb_atr's (the default strategy): its parameter indices by name.
using namespace bb_atr;  // NOLINT(google-build-using-namespace)
using ParamId = bb_atr::Param;

bool in_domain(ParamId p, double v) {
  return threadx::in_domain(kParams[p], v);
}

// start + i*step, i = 0..n-1, computed by multiplication as SWEEP.md requires.
std::vector<double> range(double start, double step, int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(start + i * step);
  return v;
}

// The message of the InputError that parse_grid_text(text, name) throws ("" when it accepts).
std::string error_of(const std::string& text, const std::string& name = "g.toml") {
  try {
    parse_grid_text(text, name);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// Expects parse_grid_text(text, "g.toml") to fail with a one-line message that starts with
// "g.toml:<line>: key '<key>': " and contains `reason`.
void expect_error(const std::string& text, unsigned line, const std::string& key,
                  const std::string& reason) {
  SCOPED_TRACE(text);
  const std::string m = error_of(text);
  ASSERT_FALSE(m.empty()) << "accepted";
  const std::string prefix = "g.toml:" + std::to_string(line) + ": key '" + key + "': ";
  EXPECT_EQ(m.rfind(prefix, 0), 0u) << m << "\n  expected to start with: " << prefix;
  EXPECT_NE(m.find(reason, prefix.size()), std::string::npos) << m << "\n  expected: " << reason;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A file in the test temp dir, removed at the end of the test.
struct TempFile {
  std::string path;
  TempFile(const std::string& name, const std::string& text)
      : path(::testing::TempDir() + "/threadx_grid_" + std::to_string(::getpid()) + "_" + name) {
    std::ofstream(path, std::ios::binary) << text;
  }
  ~TempFile() { std::remove(path.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
};

TEST(Grid, InDomainFollowsTheParameterTable) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(in_domain(kBbPeriod, 2));
  EXPECT_FALSE(in_domain(kBbPeriod, 1));
  EXPECT_FALSE(in_domain(kBbPeriod, 20.5));
  EXPECT_TRUE(in_domain(kBbPeriod, kIntMax));
  EXPECT_FALSE(in_domain(kBbPeriod, kIntMax + 1));
  EXPECT_FALSE(in_domain(kBbPeriod, nan));
  EXPECT_FALSE(in_domain(kBbStd, 0));  // > 0, exclusive
  EXPECT_TRUE(in_domain(kBbStd, 1e-300));
  EXPECT_FALSE(in_domain(kBbStd, kInf));
  EXPECT_FALSE(in_domain(kBbStd, nan));
  EXPECT_TRUE(in_domain(kAtrPeriod, 1));
  EXPECT_FALSE(in_domain(kAtrPeriod, 0));
  EXPECT_TRUE(in_domain(kSpacingBars, 0));
  EXPECT_FALSE(in_domain(kSpacingBars, -1));
  EXPECT_TRUE(in_domain(kTrendPeriod, 0));
  EXPECT_TRUE(in_domain(kTrailingStop, 0));
  EXPECT_TRUE(in_domain(kTrailingStop, 1));
  EXPECT_FALSE(in_domain(kTrailingStop, 2));
  EXPECT_FALSE(in_domain(kTrailingStop, 0.5));
  EXPECT_TRUE(in_domain(kRiskPerTrade, 1));  // (0,1]: 1 included
  EXPECT_FALSE(in_domain(kRiskPerTrade, 1.0000001));
  EXPECT_FALSE(in_domain(kRiskPerTrade, 0));
  EXPECT_TRUE(in_domain(kFeeBps, 0));
  EXPECT_FALSE(in_domain(kFeeBps, -1e-12));
  EXPECT_TRUE(in_domain(kFeeBps, 2.5));  // doubles need not be integral
  EXPECT_FALSE(in_domain(kLeverage, 0));
  EXPECT_FALSE(in_domain(kInitialCapital, -kInf));
  for (std::size_t p = 0; p < kParamCount; ++p)
    EXPECT_TRUE(in_domain(static_cast<ParamId>(p), kParams[p].default_value)) << kParams[p].name;
}

TEST(Grid, DefaultsAreTheStrategyDefaults) {
  const Grid g = Grid::defaults();
  EXPECT_EQ(g.size(), 1u);
  EXPECT_EQ(g.group_size(), 1u);
  EXPECT_EQ(g.group_count(), 1u);
  const Params p = decode(g.values_of(0)), d;
  EXPECT_EQ(p.bb_period, d.bb_period);
  EXPECT_EQ(p.bb_std, d.bb_std);
  EXPECT_EQ(p.atr_period, d.atr_period);
  EXPECT_EQ(p.atr_multiplier, d.atr_multiplier);
  EXPECT_EQ(p.max_hold_bars, d.max_hold_bars);
  EXPECT_EQ(p.spacing_bars, d.spacing_bars);
  EXPECT_EQ(p.trend_period, d.trend_period);
  EXPECT_EQ(p.trailing_stop, d.trailing_stop);
  EXPECT_EQ(p.risk_per_trade, d.risk_per_trade);
  EXPECT_EQ(p.leverage, d.leverage);
  EXPECT_EQ(p.fee_bps, d.fee_bps);
  EXPECT_EQ(p.slippage_bps, d.slippage_bps);
  EXPECT_EQ(p.initial_capital, d.initial_capital);
  // An empty file is the default grid too.
  const Grid e = parse_grid_text("", "empty.toml");
  EXPECT_EQ(e.size(), 1u);
  EXPECT_EQ(e.strategy->name, "bb_atr");
  for (std::size_t q = 0; q < kParamCount; ++q) {
    EXPECT_EQ(e.values[q], std::vector<double>{kParams[q].default_value});
    EXPECT_FALSE(e.swept[q]);
    EXPECT_FALSE(e.fixed[q]);
  }
}

TEST(Grid, ReferenceGrids) {
  const std::string small_path = repo_path("data/grids/reference_24.toml");
  const Grid small = parse_grid_file(small_path);
  EXPECT_EQ(small.size(), 24u);
  EXPECT_EQ(small.group_count(), 12u);
  EXPECT_EQ(small.group_size(), 2u);
  EXPECT_EQ(small.values[kBbPeriod], (std::vector<double>{15, 20, 25, 30}));
  EXPECT_EQ(small.values[kBbStd], (std::vector<double>{2.0, 2.5}));
  EXPECT_EQ(small.values[kAtrPeriod], (std::vector<double>{10, 14, 21}));
  EXPECT_EQ(small.path, small_path);
  EXPECT_EQ(small.source_text, read_file(small_path));
  EXPECT_EQ(small.strategy->name, "bb_atr");

  const Grid g = parse_grid_file(repo_path("data/grids/reference_2p9m.toml"));
  EXPECT_EQ(g.size(), 2903040u);
  EXPECT_EQ(g.group_count(), 1440u);
  EXPECT_EQ(g.group_size(), 2016u);
  // Exactly start + i*step (EXPECT_EQ on vectors of doubles compares bit for bit).
  EXPECT_EQ(g.values[kBbPeriod], range(10, 2, 20));
  EXPECT_EQ(g.values[kBbStd], range(1.5, 0.25, 7));
  EXPECT_EQ(g.values[kBbStd], (std::vector<double>{1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0}));
  EXPECT_EQ(g.values[kAtrPeriod], range(7, 3, 8));
  EXPECT_EQ(g.values[kAtrMultiplier], range(1.0, 0.25, 9));
  EXPECT_EQ(g.values[kMaxHoldBars], range(25, 25, 8));
  EXPECT_EQ(g.values[kSpacingBars], range(0, 5, 4));
  EXPECT_EQ(g.values[kTrendPeriod], range(0, 25, 9));
  EXPECT_EQ(g.values[kRiskPerTrade], std::vector<double>{0.01});
  EXPECT_EQ(g.values[kLeverage], std::vector<double>{1.0});
  EXPECT_EQ(g.values[kFeeBps], std::vector<double>{4.5});
  EXPECT_EQ(g.values[kTrailingStop], std::vector<double>{1});
  EXPECT_EQ(g.values[kSlippageBps], std::vector<double>{0.0});         // default
  EXPECT_EQ(g.values[kInitialCapital], std::vector<double>{10000.0});  // default
  for (ParamId p :
       {kBbPeriod, kBbStd, kAtrPeriod, kAtrMultiplier, kMaxHoldBars, kSpacingBars, kTrendPeriod}) {
    EXPECT_TRUE(g.swept[p]) << kParams[p].name;
    EXPECT_FALSE(g.fixed[p]) << kParams[p].name;
  }
  for (ParamId p : {kRiskPerTrade, kLeverage, kFeeBps, kTrailingStop}) {
    EXPECT_TRUE(g.fixed[p]) << kParams[p].name;
    EXPECT_FALSE(g.swept[p]) << kParams[p].name;
  }
  EXPECT_FALSE(g.fixed[kSlippageBps]);
  EXPECT_FALSE(g.swept[kSlippageBps]);
}

TEST(Grid, HandComputedIds) {
  const Grid g = parse_grid_file(repo_path("data/grids/reference_24.toml"));
  // Radices in id order (kIdOrder): bb_period 4, atr_period 3, trend_period 1, bb_std 2, the
  // rest 1. bb_period=20 (index 1), atr_period=21 (index 2), bb_std=2.5 (index 1):
  //   id = ((1*3 + 2)*1 + 0)*2 + 1 = 11.
  Indices idx{};
  idx[kBbPeriod] = 1;
  idx[kAtrPeriod] = 2;
  idx[kBbStd] = 1;
  EXPECT_EQ(g.id_of(idx), 11u);
  EXPECT_EQ(g.indices_of(11), idx);
  const Params p = decode(g.values_of(11));
  EXPECT_EQ(p.bb_period, 20);
  EXPECT_EQ(p.atr_period, 21);
  EXPECT_EQ(p.bb_std, 2.5);
  EXPECT_EQ(p.trend_period, 0);  // default
  EXPECT_EQ(p.fee_bps, 4.5);     // default
  // bb_period=30 (3), atr_period=10 (0), bb_std=2.0 (0): id = ((3*3 + 0)*1 + 0)*2 + 0 = 18,
  // in group 9 (ids 18, 19).
  const Params q = decode(g.values_of(18));
  EXPECT_EQ(q.bb_period, 30);
  EXPECT_EQ(q.atr_period, 10);
  EXPECT_EQ(q.bb_std, 2.0);
  EXPECT_EQ(decode(g.values_of(19)).bb_std, 2.5);
  EXPECT_EQ(decode(g.key_of_group(9)).bb_period, 30);
  EXPECT_EQ(decode(g.key_of_group(9)).atr_period, 10);

  const Grid big = parse_grid_file(repo_path("data/grids/reference_2p9m.toml"));
  // Radices: bb_period 20, atr_period 8, trend_period 9 | bb_std 7, atr_multiplier 9,
  // max_hold_bars 8, spacing_bars 4. bb_period=20 (5), atr_period=13 (2), trend_period=50 (2),
  // bb_std=2.0 (2), atr_multiplier=1.5 (2), max_hold_bars=100 (3), spacing_bars=5 (1):
  //   group = (5*8 + 2)*9 + 2 = 380; offset = ((2*9 + 2)*8 + 3)*4 + 1 = 653;
  //   id = 380*2016 + 653 = 766733.
  const Params r = decode(big.values_of(766733));
  EXPECT_EQ(r.bb_period, 20);
  EXPECT_EQ(r.atr_period, 13);
  EXPECT_EQ(r.trend_period, 50);
  EXPECT_EQ(r.bb_std, 2.0);
  EXPECT_EQ(r.atr_multiplier, 1.5);
  EXPECT_EQ(r.max_hold_bars, 100);
  EXPECT_EQ(r.spacing_bars, 5);
  const Params k = decode(big.key_of_group(380));
  EXPECT_EQ(k.bb_period, 20);
  EXPECT_EQ(k.atr_period, 13);
  EXPECT_EQ(k.trend_period, 50);
  // trend_period is the fastest key digit, then atr_period.
  EXPECT_EQ(decode(big.key_of_group(1)).trend_period, 25);
  EXPECT_EQ(decode(big.key_of_group(9)).atr_period, 10);
  EXPECT_EQ(decode(big.key_of_group(72)).bb_period, 12);
}

// The id order on one grid: round trip, first and last ids, lexicographic order over kIdOrder
// (key parameters most significant) and contiguous groups sharing their key.
void check_id_order(const Grid& g, ComboId stride) {
  SCOPED_TRACE(g.path);
  const ComboId n = g.size(), gs = g.group_size();
  ASSERT_GT(n, 0u);
  ASSERT_EQ(n, gs * g.group_count());

  // id 0: every parameter at its smallest value; the last id: every parameter at its largest.
  const Indices first = g.indices_of(0), last = g.indices_of(n - 1);
  for (std::size_t p = 0; p < kParamCount; ++p) {
    EXPECT_EQ(first[p], 0u) << kParams[p].name;
    EXPECT_EQ(last[p], g.values[p].size() - 1) << kParams[p].name;
  }
  const Params lo = decode(g.values_of(0)), hi = decode(g.values_of(n - 1));
  EXPECT_EQ(lo.bb_period, g.values[kBbPeriod].front());
  EXPECT_EQ(lo.bb_std, g.values[kBbStd].front());
  EXPECT_EQ(lo.atr_multiplier, g.values[kAtrMultiplier].front());
  EXPECT_EQ(hi.bb_period, g.values[kBbPeriod].back());
  EXPECT_EQ(hi.trend_period, g.values[kTrendPeriod].back());
  EXPECT_EQ(hi.spacing_bars, g.values[kSpacingBars].back());
  EXPECT_EQ(hi.bb_std, g.values[kBbStd].back());

  auto digits = [](const Indices& idx) {
    ParamIndex d{};
    for (std::size_t k = 0; k < kParamCount; ++k) d[k] = idx[kIdOrder[k]];
    return d;
  };
  std::uint64_t bad_round_trip = 0, bad_order = 0, bad_key = 0;
  auto check = [&](ComboId id) {
    const Indices idx = g.indices_of(id);
    if (g.id_of(idx) != id) ++bad_round_trip;
    // ids [grp*gs, (grp+1)*gs) share the key of group grp.
    const Params k = decode(g.key_of_group(id / gs));
    if (g.values[kBbPeriod][idx[kBbPeriod]] != k.bb_period ||
        g.values[kAtrPeriod][idx[kAtrPeriod]] != k.atr_period ||
        g.values[kTrendPeriod][idx[kTrendPeriod]] != k.trend_period)
      ++bad_key;
    // id + 1 is the next tuple in lexicographic order of the kIdOrder digits.
    if (id + 1 < n && !(digits(idx) < digits(g.indices_of(id + 1)))) ++bad_order;
  };
  for (ComboId id = 0; id < n; id += stride) check(id);
  // Group boundaries and the last ids, whatever the stride.
  for (ComboId grp = 0; grp < g.group_count(); grp += 1 + g.group_count() / 50) {
    check(grp * gs);
    check(grp * gs + gs - 1);
  }
  check(n - 1);
  // advance() walks the same order as indices_of: runs of 5,000 ids from spread-out starts (each
  // crosses several digits' carries on reference_2p9m, group boundaries included), or every id.
  std::uint64_t bad_advance = 0;
  const ComboId run = std::min<ComboId>(n, 5000);
  for (ComboId start = 0; start + run <= n; start += std::max<ComboId>(run, stride * 1000)) {
    Indices idx = g.indices_of(start);
    for (ComboId id = start + 1; id < start + run; ++id) {
      g.advance(idx);
      if (idx != g.indices_of(id)) ++bad_advance;
    }
  }
  EXPECT_EQ(bad_advance, 0u);
  EXPECT_EQ(bad_round_trip, 0u);
  EXPECT_EQ(bad_order, 0u);
  EXPECT_EQ(bad_key, 0u);
}

TEST(Grid, IdsAreMixedRadixWithKeyParametersMostSignificant) {
  check_id_order(parse_grid_file(repo_path("data/grids/reference_24.toml")), 1);  // every id
  check_id_order(parse_grid_file(repo_path("data/grids/reference_2p9m.toml")), 997);
}

// The plain-data digits a device decodes with give Grid::values_of for every id (sampled on the
// 2.9M grid; every id of a ma_cross grid with a fixed parameter and one of a single value).
void check_digits(const Grid& g, ComboId step) {
  std::vector<double> flat;
  const IdDigits d = g.digits(flat);
  ASSERT_EQ(d.count, g.param_count());
  std::size_t bad = 0;
  for (ComboId id = 0; id < g.size(); id += step) {
    ParamValues v{};
    d.values_of(id, v.data());
    if (v != g.values_of(id)) ++bad;
  }
  EXPECT_EQ(bad, 0u) << g.path;
}

TEST(Grid, PlainDigitsDecodeLikeTheGrid) {
  check_digits(parse_grid_file(repo_path("data/grids/reference_2p9m.toml")), 613);
  check_digits(parse_grid_file(repo_path("tests/grids/ma_cross_3024.toml")), 1);
  check_digits(parse_grid_text("[grid]\nbb_std = [2.5, 2.0]\n[fixed]\nfee_bps = 1\n", "f.toml"), 1);
}

TEST(Grid, FileOrderDoesNotChangeIds) {
  const Grid a = parse_grid_text(
      "[grid]\nbb_std = [2.5, 2.0]\natr_period = [10, 14]\nbb_period = [20, 15]\n"
      "max_hold_bars = {step = 10, stop = 50, start = 30}\n"
      "[fixed]\nfee_bps = 1\n",
      "a.toml");
  const Grid b = parse_grid_text(
      "strategy = \"bb_atr\"\n[fixed]\nfee_bps = 1.0\n"
      "[grid]\nmax_hold_bars = {start = 30, stop = 50, step = 10}\n"
      "bb_period = [15, 20]\nbb_std = [2.0, 2.5]\natr_period = [14, 10]\n",
      "b.toml");
  ASSERT_EQ(a.size(), 24u);
  ASSERT_EQ(b.size(), 24u);
  EXPECT_EQ(a.values, b.values);
  EXPECT_EQ(a.swept, b.swept);
  EXPECT_EQ(a.fixed, b.fixed);
  for (ComboId id = 0; id < a.size(); ++id) {
    EXPECT_EQ(a.indices_of(id), b.indices_of(id));
    const Params p = decode(a.values_of(id)), q = decode(b.values_of(id));
    EXPECT_EQ(p.bb_period, q.bb_period);
    EXPECT_EQ(p.bb_std, q.bb_std);
    EXPECT_EQ(p.atr_period, q.atr_period);
    EXPECT_EQ(p.max_hold_bars, q.max_hold_bars);
    EXPECT_EQ(p.fee_bps, 1.0);
  }
  EXPECT_EQ(a.values[kBbStd], (std::vector<double>{2.0, 2.5}));  // sorted ascending
  EXPECT_EQ(a.values[kBbPeriod], (std::vector<double>{15, 20}));
  // Same ids as the reference grid with bb_period 15/20, atr_period 10/14: bb_period=20,
  // atr_period=10, bb_std=2.5, max_hold_bars=40 = ((1*2 + 0)*2 + 1)*3 + 1 = 16.
  const Params p = decode(a.values_of(16));
  EXPECT_EQ(p.bb_period, 20);
  EXPECT_EQ(p.atr_period, 10);
  EXPECT_EQ(p.bb_std, 2.5);
  EXPECT_EQ(p.max_hold_bars, 40);
}

TEST(Grid, RangesAreMultipliedNotAccumulated) {
  // 0 + i*0.1 and 0.1 added i times differ from i = 6 on (0.6000000000000001 vs 0.6, ...,
  // 1.0 vs 0.9999999999999999); the grid must hold the products.
  const Grid g =
      parse_grid_text("[grid]\nfee_bps = { start = 0, stop = 1, step = 0.1 }\n", "r.toml");
  ASSERT_EQ(g.values[kFeeBps].size(), 11u);
  double acc = 0;
  int differ = 0;
  for (int i = 0; i <= 10; ++i) {
    EXPECT_EQ(g.values[kFeeBps][static_cast<std::size_t>(i)], 0 + i * 0.1) << i;
    differ += acc != i * 0.1;
    acc += 0.1;
  }
  EXPECT_GT(differ, 0);  // the test can tell the two apart
  EXPECT_EQ(g.values[kFeeBps].back(), 1.0);

  // (0.3 - 0.1)/0.1 = 1.9999999999999998: the 1e-9 tolerance keeps i = 2, whose value
  // 0.1 + 2*0.1 = 0.30000000000000004 is above stop and still included.
  const Grid t =
      parse_grid_text("[grid]\nbb_std = { start = 0.1, stop = 0.3, step = 0.1 }\n", "t.toml");
  EXPECT_EQ(t.values[kBbStd], (std::vector<double>{0.1, 0.1 + 1 * 0.1, 0.1 + 2 * 0.1}));
  EXPECT_EQ(t.values[kBbStd][2], 0.30000000000000004);

  // A stop that is not on the grid is not reached; start == stop gives one value.
  const Grid u = parse_grid_text(
      "[grid]\nbb_std = { start = 1, stop = 2.2, step = 0.5 }\n"
      "bb_period = { start = 10, stop = 15, step = 2 }\n"
      "atr_period = { start = 14, stop = 14, step = 5 }\n",
      "u.toml");
  EXPECT_EQ(u.values[kBbStd], (std::vector<double>{1.0, 1.5, 2.0}));
  EXPECT_EQ(u.values[kBbPeriod], (std::vector<double>{10, 12, 14}));
  EXPECT_EQ(u.values[kAtrPeriod], std::vector<double>{14});
  EXPECT_TRUE(u.swept[kAtrPeriod]);  // swept even with a single value
  EXPECT_EQ(u.size(), 9u);
}

TEST(Grid, TypesConvert) {
  // A TOML integer where a double is expected.
  const Grid g = parse_grid_text(
      "[fixed]\nleverage = 2\ninitial_capital = 5000\n"
      "[grid]\nbb_std = [2, 3]\natr_multiplier = { start = 1, stop = 2, step = 1 }\n",
      "i.toml");
  EXPECT_EQ(g.values[kBbStd], (std::vector<double>{2.0, 3.0}));
  EXPECT_EQ(g.values[kAtrMultiplier], (std::vector<double>{1.0, 2.0}));
  EXPECT_EQ(decode(g.values_of(0)).leverage, 2.0);
  EXPECT_EQ(decode(g.values_of(0)).initial_capital, 5000.0);
  // A float and an integer for the same double parameter mix in a list.
  EXPECT_EQ(parse_grid_text("[grid]\nbb_std = [2, 2.5]\n", "m.toml").values[kBbStd],
            (std::vector<double>{2.0, 2.5}));

  // trailing_stop: true/false or 0/1, in [grid] and in [fixed].
  for (const char* list :
       {"[true, false]", "[0, 1]", "[1, false]", "{ start = 0, stop = 1, step = 1 }"}) {
    const Grid t = parse_grid_text(std::string("[grid]\ntrailing_stop = ") + list + "\n", "t.toml");
    EXPECT_EQ(t.values[kTrailingStop], (std::vector<double>{0.0, 1.0})) << list;
    EXPECT_EQ(decode(t.values_of(0)).trailing_stop, 0) << list;
    EXPECT_EQ(decode(t.values_of(1)).trailing_stop, 1) << list;
  }
  for (const auto& [text, want] :
       std::vector<std::pair<std::string, int>>{{"false", 0}, {"true", 1}, {"0", 0}, {"1", 1}}) {
    const Grid f = parse_grid_text("[fixed]\ntrailing_stop = " + text + "\n", "f.toml");
    EXPECT_EQ(f.size(), 1u);
    EXPECT_TRUE(f.fixed[kTrailingStop]);
    EXPECT_EQ(decode(f.values_of(0)).trailing_stop, want) << text;
  }

  // -0.0 is stored as +0.0 (one zero for every backend and the results file).
  const Grid z = parse_grid_text("[fixed]\nfee_bps = -0.0\n", "z.toml");
  EXPECT_EQ(z.values[kFeeBps], std::vector<double>{0.0});
  EXPECT_FALSE(std::signbit(z.values[kFeeBps][0]));
}

TEST(Grid, ErrorsNameFileLineAndKey) {
  // Values outside the domain, with the domain text of the parameter table; the line is the
  // offending element's own line in a multi-line list.
  expect_error(
      "# a comment\nstrategy = \"bb_atr\"\n\n[grid]\nbb_std = [2.0, 2.5]\nbb_period = [\n  20,\n"
      "  1,\n]\n",
      8, "grid.bb_period", "bb_period = 1 is outside int >= 2");
  expect_error("[grid]\ntrailing_stop = [2]\n", 2, "grid.trailing_stop",
               "trailing_stop = 2 is outside 0/1");
  expect_error("[fixed]\nfee_bps = 1\n\ntrailing_stop = 2\n", 4, "fixed.trailing_stop",
               "trailing_stop = 2 is outside 0/1");
  expect_error("[grid]\nrisk_per_trade = [0.5, 1.5]\n", 2, "grid.risk_per_trade",
               "risk_per_trade = 1.5 is outside double in (0,1]");
  expect_error("[grid]\nfee_bps = [-1]\n", 2, "grid.fee_bps",
               "fee_bps = -1 is outside double >= 0");
  expect_error("[fixed]\nleverage = 0\n", 2, "fixed.leverage",
               "leverage = 0 is outside double > 0");
  expect_error("[fixed]\nbb_std = nan\n", 2, "fixed.bb_std", "bb_std = nan is outside double > 0");
  expect_error("[fixed]\nleverage = inf\n", 2, "fixed.leverage",
               "leverage = inf is outside double > 0");
  expect_error("[grid]\nmax_hold_bars = [3000000000]\n", 2, "grid.max_hold_bars",
               "max_hold_bars = 3000000000 is outside int >= 1");
  expect_error("[grid]\nrisk_per_trade = { start = 0.5, stop = 1.5, step = 0.5 }\n", 2,
               "grid.risk_per_trade",
               "range stop: risk_per_trade = 1.5 is outside double in (0,1]");
  expect_error("[grid]\nbb_period = { start = 1, stop = 5, step = 1 }\n", 2, "grid.bb_period",
               "range start: bb_period = 1 is outside int >= 2");
  expect_error("[fixed]\ninitial_capital = 99999999999999999999\n", 2, "fixed.initial_capital",
               "out of the 64-bit range");
  expect_error("[fixed]\ninitial_capital = 1e400\n", 2, "fixed.initial_capital",
               "out of the double range");

  // Non-integers where an integer is expected.
  expect_error("[grid]\nbb_period = [20, 2.5]\n", 2, "grid.bb_period",
               "expected an integer, got 2.5");
  expect_error("[fixed]\n\nmax_hold_bars = 20.0\n", 3, "fixed.max_hold_bars",
               "expected an integer, got 20.0");
  expect_error("[grid]\nbb_period = { start = 10.5, stop = 20, step = 2 }\n", 2, "grid.bb_period",
               "range start: expected an integer, got 10.5");
  expect_error("[grid]\natr_period = { start = 10, stop = 20, step = 2.5 }\n", 2, "grid.atr_period",
               "range step: expected an integer, got 2.5");
  expect_error("[fixed]\ntrailing_stop = 0.5\n", 2, "fixed.trailing_stop",
               "expected 0/1 or true/false, got 0.5");

  // Wrong types.
  expect_error("[grid]\nbb_std = \"2\"\n", 2, "grid.bb_std",
               "expected a list or a range {start, stop, step}, got a string");
  expect_error("[grid]\nbb_std = 2\n", 2, "grid.bb_std",
               "expected a list or a range {start, stop, step}, got an integer");
  expect_error("[grid]\nbb_std = [\"2\"]\n", 2, "grid.bb_std", "expected a number, got a string");
  expect_error("[grid]\nbb_std = [[2]]\n", 2, "grid.bb_std", "expected a number, got a list");
  expect_error("[grid]\nbb_std = [{ x = 2 }]\n", 2, "grid.bb_std",
               "expected a number, got a table");
  expect_error("[grid]\nbb_std = { start = 1, stop = 2, step = { x = 1 } }\n", 2, "grid.bb_std",
               "range step: expected a number, got a table");
  expect_error("[fixed]\nbb_std = [2]\n", 2, "fixed.bb_std", "expected a number, got a list");
  expect_error("[fixed]\nbb_std = { start = 1, stop = 2, step = 1 }\n", 2, "fixed.bb_std",
               "expected a number, got a table");
  expect_error("[fixed]\nleverage = true\n", 2, "fixed.leverage",
               "expected a number, got a boolean");
  expect_error("[fixed]\nbb_period = true\n", 2, "fixed.bb_period",
               "expected an integer, got a boolean");
  expect_error("[fixed]\nfee_bps = 1979-05-27\n", 2, "fixed.fee_bps", "got a date or time");
  expect_error("strategy = 1\n", 1, "strategy", "expected a string, got an integer");
  expect_error("grid = [1]\n", 1, "grid", "expected a table [grid], got a list");
  expect_error("strategy = \"bb_atr\"\n\n[[fixed]]\nfee_bps = 1\n", 3, "fixed",
               "expected a table [fixed], got a list");

  // Unknown keys, tables, parameters, strategies.
  expect_error("[grid]\nbb_std = [2]\nbb_periods = [20]\n", 3, "grid.bb_periods",
               "unknown parameter");
  expect_error("[fixed]\nfee = 1\n", 2, "fixed.fee", "unknown parameter");
  expect_error("[grid]\nstrategy = \"bb_atr\"\n", 2, "grid.strategy",
               "goes at the top of the file");
  expect_error("strategy = \"bb_atr\"\nthreads = 4\n", 2, "threads", "unknown key");
  expect_error("strategy = \"bb_atr\"\n\n[sweep]\nthreads = 4\n", 3, "sweep",
               "unknown table [sweep]");
  expect_error("# c\nstrategy = \"macd\"\n", 2, "strategy", "unknown strategy 'macd'");
  expect_error("[grid]\nbb_std = { start = 1, stop = 2, step = 1, stp = 3 }\n", 2, "grid.bb_std",
               "unknown range field 'stp'");

  // Lists and ranges.
  expect_error("[grid]\n# none yet\nbb_std = []\n", 3, "grid.bb_std", "empty list");
  expect_error("[grid]\nbb_std = [\n  2.0,\n  2.5,\n  2.0,\n]\n", 5, "grid.bb_std",
               "duplicate value 2");
  expect_error("[grid]\nbb_std = [2, 2.0]\n", 2, "grid.bb_std", "duplicate value 2");
  expect_error("[grid]\ntrailing_stop = [true, 1]\n", 2, "grid.trailing_stop", "duplicate value 1");
  expect_error("[grid]\nbb_std = { start = 1, stop = 2, step = 0 }\n", 2, "grid.bb_std",
               "step must be > 0, got 0");
  expect_error("[grid]\nbb_std = { start = 1, stop = 2, step = -0.5 }\n", 2, "grid.bb_std",
               "step must be > 0, got -0.5");
  expect_error("[grid]\nbb_period = { start = 10, stop = 20, step = -1 }\n", 2, "grid.bb_period",
               "step must be > 0, got -1");
  expect_error("[grid]\nbb_std = { start = 3, stop = 2, step = 1 }\n", 2, "grid.bb_std",
               "empty range: stop 2 < start 3");
  expect_error("[grid]\nbb_std = { start = 1, stop = 2 }\n", 2, "grid.bb_std",
               "range needs 'step'");
  expect_error("[grid]\nfee_bps = { start = 0, stop = 1, step = 1e-9 }\n", 2, "grid.fee_bps",
               "more than 100000000 values");

  // A parameter in both [fixed] and [grid]: reported at the [grid] entry.
  expect_error("strategy = \"bb_atr\"\n[fixed]\nbb_std = 2\n[grid]\nbb_std = [2]\n", 5,
               "grid.bb_std", "also listed in [fixed] (line 3)");
  expect_error("[grid]\nbb_std = [2]\n[fixed]\nbb_std = 2\n", 2, "grid.bb_std",
               "also listed in [fixed] (line 4)");

  // Control characters from the file stay on one line.
  expect_error("[grid]\n\"bb\\nperiod\" = [20]\n", 2, "grid.bb\\nperiod", "unknown parameter");
  expect_error("strategy = \"bb\\natr\"\n", 1, "strategy", "unknown strategy 'bb\\natr'");
}

// TOML syntax errors: "<file>:<line>: <toml11's first message line>", one line.
TEST(Grid, TomlSyntaxErrorsNameFileAndLine) {
  struct Case {
    std::string text;
    unsigned line;
  };
  for (const Case& c : std::vector<Case>{
           {"strategy = \"bb_atr\"\n[grid]\nbb_std = = 2\n", 3},
           {"[grid]\nbb_std = [2]\nbb_std = [3]\n", 3},  // duplicate key
           {"[grid]\nbb_std = [2]\n\n[grid]\n", 4},      // duplicate table
           {"strategy = \"bb_atr\n", 1},                 // unterminated string
           {"[grid]\nbb_std = [2,\n", 3},                // unterminated list
           {"[fixed]\nfee_bps =\n", 2},
       }) {
    SCOPED_TRACE(c.text);
    const std::string m = error_of(c.text);
    const std::string prefix = "g.toml:" + std::to_string(c.line) + ": ";
    EXPECT_EQ(m.rfind(prefix, 0), 0u) << m;
    EXPECT_GT(m.size(), prefix.size() + 5) << m;  // toml11's message follows
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    EXPECT_EQ(m.find("[error]"), std::string::npos) << m;
  }
}

TEST(Grid, CombinationCountMustFit64Bits) {
  // 12 parameters of 40 values: 40^12 = 1.68e19 < 2^64 = 1.84e19, accepted. trailing_stop's 2
  // values on top give 3.4e19: an error at the key that crosses 2^64 (file order), line 14.
  std::string fits;
  for (const char* p : {"bb_std", "atr_multiplier", "risk_per_trade", "leverage", "fee_bps",
                        "slippage_bps", "initial_capital"})
    fits += std::string(p) + " = { start = 0.01, stop = 0.4, step = 0.01 }\n";
  for (const char* p : {"bb_period", "atr_period", "max_hold_bars", "spacing_bars", "trend_period"})
    fits += std::string(p) + " = { start = 2, stop = 41, step = 1 }\n";
  const Grid g = parse_grid_text("[grid]\n" + fits, "fits.toml");
  ComboId want = 1;
  for (int i = 0; i < 12; ++i) want *= 40;
  EXPECT_EQ(g.size(), want);
  EXPECT_EQ(g.group_count(), 40u * 40u * 40u);
  EXPECT_EQ(g.id_of(g.indices_of(g.size() - 1)), g.size() - 1);
  EXPECT_EQ(decode(g.values_of(g.size() - 1)).trend_period, 41);

  expect_error("[grid]\ntrailing_stop = [0, 1]\n" + fits, 14, "grid.trend_period",
               "the grid has more than 2^64-1 combinations");
  // A list crossing the limit.
  expect_error("[grid]\n" + fits + "trailing_stop = [0, 1]\n", 14, "grid.trailing_stop",
               "more than 2^64-1 combinations");
  // A range crossing the limit is refused before its values are generated.
  std::string eleven = fits.substr(0, fits.rfind("trend_period"));
  expect_error("[grid]\n" + eleven + "trend_period = { start = 0, stop = 1000000000, step = 1 }\n",
               13, "grid.trend_period", "more than 2^64-1 combinations");
}

// toml11 3.7 reads past its buffer on a literal string holding an invalid UTF-8 byte (found by
// fuzzing, tests/fuzz/regressions/); text that is not UTF-8 is refused before it parses.
TEST(Grid, TextMustBeUtf8) {
  EXPECT_EQ(error_of("strategy = \"bb_atr\"\na = 'abc\xff'\n"),
            "g.toml:2: not UTF-8 text (byte 0xff); a grid file is TOML, which is UTF-8");
  for (const std::string bad : {"\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                                "\xE2\x82", "\x80", "\xF8\x88\x80\x80\x80"}) {
    const std::string m = error_of("# comment " + bad + "\n");
    EXPECT_EQ(m.rfind("g.toml:1: not UTF-8 text (byte 0x", 0), 0u) << m;
  }
  std::ifstream in(
      std::string(THREADX_SOURCE_DIR) + "/tests/fuzz/regressions/grid-toml11-literal-string-0xff",
      std::ios::binary);
  const std::string crash((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(crash.empty());
  EXPECT_EQ(error_of(crash).rfind("g.toml:1: not UTF-8 text", 0), 0u);
  // UTF-8 in comments and (unknown) strategy names is fine: 2-, 3- and 4-byte sequences.
  const Grid g = parse_grid_text("# prix en € — ∑ 𝄞 é\n[grid]\nbb_std = [2, 3] # ok\n", "g.toml");
  EXPECT_EQ(g.size(), 2u);
  EXPECT_EQ(error_of("strategy = \"bb_atré\"\n").rfind("g.toml:1: key 'strategy': unknown", 0), 0u);
}

// toml11 recurses once per nesting level and overflows the stack around 10^5 levels (found with
// the hostile-input corpus); deeper than 100 levels is refused before it parses.
TEST(Grid, NestingIsBounded) {
  auto nested = [](std::size_t n, const std::string& open, const std::string& inner,
                   const std::string& close) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += open;
    s += inner;
    for (std::size_t i = 0; i < n; ++i) s += close;
    return s;
  };
  EXPECT_EQ(error_of("strategy = \"bb_atr\"\n[grid]\nbb_std = " + nested(200000, "[", "", "]")),
            "g.toml:3: lists or inline tables nested too deep (more than 100 levels)");
  EXPECT_EQ(error_of("a = " + nested(101, "{b=", "1", "}")),
            "g.toml:1: lists or inline tables nested too deep (more than 100 levels)");
  EXPECT_EQ(error_of("x.y = [\n" + nested(101, "[", "", "]") + "]\n"),
            "g.toml:2: lists or inline tables nested too deep (more than 100 levels)");
  std::string dotted = "a";
  for (int i = 0; i < 101; ++i) dotted += ".a";
  EXPECT_EQ(error_of(dotted + " = 1\n"),
            "g.toml:1: key with too many dotted parts (more than 100 levels)");
  EXPECT_EQ(error_of("\n[" + dotted + "]\n"),
            "g.toml:2: key with too many dotted parts (more than 100 levels)");
  EXPECT_EQ(error_of("a = { " + dotted + " = 1 }\n"),
            "g.toml:1: key with too many dotted parts (more than 100 levels)");

  // 100 levels reach toml11 and the grid checks; brackets and dots in strings and comments, and
  // dots in numbers, do not count.
  expect_error("[grid]\nbb_std = " + nested(99, "[", "2", "]") + "\n", 2, "grid.bb_std",
               "expected a number, got a list");
  const std::string many = nested(500, "[{.", "", "]}.");
  std::string values;
  for (int i = 1; i <= 2000; ++i) values += (i > 1 ? ", " : "") + std::to_string(i) + ".5";
  const Grid g = parse_grid_text(
      "# " + many + "\nstrategy = \"bb_atr\" # " + many + "\n[grid]\nbb_std = [" + values + "]\n",
      "g.toml");
  EXPECT_EQ(g.size(), 2000u);
  EXPECT_EQ(error_of("strategy = \"" + many + "\"\n").rfind("g.toml:1: key 'strategy': unknown", 0),
            0u);
  EXPECT_EQ(error_of("strategy = '''\n" + many + "'''\n").rfind("g.toml:1: key 'strategy'", 0), 0u);
}

TEST(Grid, Files) {
  // path and the exact text (comments, CRLF, no final newline) are kept.
  const std::string text =
      "# my sweep\r\nstrategy = \"bb_atr\"\r\n[grid]\r\nbb_period = [20, 30] # two\r\nbb_std = [2]";
  TempFile f("ok.toml", text);
  const Grid g = parse_grid_file(f.path);
  EXPECT_EQ(g.path, f.path);
  EXPECT_EQ(g.source_text, text);
  EXPECT_EQ(g.size(), 2u);

  // Errors carry the path.
  TempFile bad("bad.toml", "strategy = \"bb_atr\"\n[grid]\nbb_period = [1]\n");
  try {
    parse_grid_file(bad.path);
    ADD_FAILURE() << "accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(bad.path + ":3: key 'grid.bb_period': ", 0), 0u)
        << e.what();
  }

  // Unreadable: "<path>: cannot read grid file: <strerror>".
  try {
    parse_grid_file("/no/such/grid.toml");
    ADD_FAILURE() << "accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "/no/such/grid.toml: cannot read grid file: " + std::string(std::strerror(ENOENT)));
  }
  // Over 1 MiB: refused without parsing (a 1 MiB file of comments is still a grid).
  const std::string comments(1 << 20, '#');
  TempFile big("big.toml", comments + "\n");
  try {
    parse_grid_file(big.path);
    ADD_FAILURE() << "accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              big.path + ": grid file is larger than 1 MiB: not a grid file");
  }
  TempFile limit("limit.toml", "[grid]\nbb_std = [2, 3] " + comments.substr(23));
  EXPECT_EQ(parse_grid_file(limit.path).size(), 2u);

  // A directory opens but cannot be read; it must not pass for an empty (default) grid.
  const std::string dir = ::testing::TempDir();
  try {
    parse_grid_file(dir);
    ADD_FAILURE() << "accepted a directory";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              dir + ": cannot read grid file: " + std::string(std::strerror(EISDIR)));
  }
}

}  // namespace
}  // namespace threadx
