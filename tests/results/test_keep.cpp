// --keep: the spec's parsing and errors, and TopKeeper on real rows against a direct sort (ties to
// the smaller id, NaN last, lower-is-better metrics), the same kept set and rows for any split,
// order and merge, and its encoding.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

#include "common/error.hpp"
#include "results/keep.hpp"
#include "support/real_rows.hpp"

namespace threadx {
namespace {

TEST(Keep, ParsesTheThreeForms) {
  EXPECT_TRUE(parse_keep("all").all());
  EXPECT_EQ(parse_keep("none").mode, KeepSpec::Mode::None);
  const KeepSpec k = parse_keep("top:1000:sharpe,top:5:max_drawdown");
  ASSERT_EQ(k.mode, KeepSpec::Mode::Top);
  ASSERT_EQ(k.tops.size(), 2u);
  EXPECT_EQ(k.tops[0].k, 1000u);
  EXPECT_EQ(k.tops[0].metric, metric_index("sharpe"));
  EXPECT_FALSE(k.tops[0].ascending);
  EXPECT_TRUE(k.tops[1].ascending);  // a smaller drawdown is better
  EXPECT_EQ(k.text(), "top:1000:sharpe,top:5:max_drawdown");
  EXPECT_EQ(parse_keep(k.text()), k);
}

TEST(Keep, BadSpecsAreOneLineErrors) {
  for (const char* bad : {"", "some", "top", "top:10", "top:0:sharpe", "top:-3:sharpe",
                          "top:1e3:sharpe", "top:1000001:sharpe", "top:10:sharp", "top:10:sharpe,",
                          "top:10:sharpe,top:3:sharpe", "bottom:10:sharpe"}) {
    try {
      (void)parse_keep(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const InputError& e) {
      const std::string m = e.what();
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
      EXPECT_EQ(m.rfind(std::string("--keep '") + bad + "'", 0), 0u) << m;
    }
  }
}

// The ids a direct sort keeps for spec t: best first, NaN last, ties to the smaller id.
std::vector<ComboId> direct(const std::vector<Metrics>& rows, const TopSpec& t) {
  std::vector<ComboId> ids(rows.size());
  std::iota(ids.begin(), ids.end(), ComboId{0});
  auto key = [&](ComboId id) { return metric_value(rows[id], t.metric); };
  std::stable_sort(ids.begin(), ids.end(), [&](ComboId a, ComboId b) {
    const double x = key(a), y = key(b);
    if (std::isnan(x) != std::isnan(y)) return std::isnan(y);
    if (std::isnan(x)) return false;
    return t.ascending ? x < y : x > y;
  });
  ids.resize(std::min<std::size_t>(t.k, ids.size()));
  return ids;
}

TEST(TopKeeper, KeepsWhatADirectSortKeepsOnRealRows) {
  const testing::RealRows& r = testing::real_rows();
  // trades has many ties (whole numbers); profit_factor has +inf (no loss) and NaN (no trade).
  const KeepSpec spec =
      parse_keep("top:50:sharpe,top:40:trades,top:30:max_drawdown,top:20:profit_factor");
  TopKeeper keeper(r.grid, spec);
  keeper.offer(0, r.rows);
  std::vector<ComboId> all;
  for (std::size_t s = 0; s < spec.tops.size(); ++s) {
    const std::vector<ComboId> want = direct(r.rows, spec.tops[s]);
    EXPECT_EQ(keeper.ranking(s), want)
        << spec.tops[s].k << " by " << kMetrics[spec.tops[s].metric].name;
    all.insert(all.end(), want.begin(), want.end());
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  EXPECT_EQ(keeper.ids(), all);
  // The kept rows are the packed rows of their ids.
  const RowLayout layout(r.grid, 0);
  const std::vector<unsigned char> rows = keeper.rows();
  ASSERT_EQ(rows.size(), all.size() * layout.row_size());
  std::vector<unsigned char> one(layout.row_size());
  for (std::size_t k = 0; k < all.size(); ++k) {
    layout.pack_run(r.grid, all[k], RowsView{std::span(r.rows).subspan(all[k], 1), {}, 0},
                    one.data());
    ASSERT_TRUE(std::equal(one.begin(), one.end(),
                           rows.begin() + static_cast<std::ptrdiff_t>(k * one.size())))
        << "id " << all[k];
  }
}

TEST(TopKeeper, SameKeptRowsForAnySplitOrderAndMerge) {
  const testing::RealRows& r = testing::real_rows();
  const KeepSpec spec = parse_keep("top:100:sharpe,top:25:trades");
  TopKeeper whole(r.grid, spec);
  whole.offer(0, r.rows);
  std::mt19937_64 rng(9);
  for (int trial = 0; trial < 3; ++trial) {
    std::vector<std::pair<ComboId, ComboId>> runs;
    for (ComboId at = 0; at < r.n;) {
      const ComboId end = std::min<ComboId>(r.n, at + 1 + rng() % 2500);
      runs.emplace_back(at, end);
      at = end;
    }
    std::shuffle(runs.begin(), runs.end(), rng);
    // Three "ranks", merged through their encodings in a random order.
    std::vector<TopKeeper> ranks(3, TopKeeper(r.grid, spec));
    for (std::size_t k = 0; k < runs.size(); ++k)
      ranks[k % 3].offer(runs[k].first,
                         std::span(r.rows).subspan(runs[k].first, runs[k].second - runs[k].first));
    TopKeeper merged(r.grid, spec);
    std::vector<std::size_t> order{0, 1, 2};
    std::shuffle(order.begin(), order.end(), rng);
    for (const std::size_t k : order) merged.decode_merge(ranks[k].encode());
    EXPECT_EQ(merged.ids(), whole.ids()) << "trial " << trial;
    EXPECT_EQ(merged.rows(), whole.rows()) << "trial " << trial;
    EXPECT_EQ(merged.ranking(0), whole.ranking(0));
  }
  std::vector<std::byte> bad = whole.encode();
  bad.pop_back();
  TopKeeper x(r.grid, spec);
  EXPECT_THROW(x.decode_merge(bad), std::runtime_error);
  TopKeeper other(r.grid, parse_keep("top:5:sharpe"));
  EXPECT_THROW(other.decode_merge(whole.encode()), std::runtime_error);
}

}  // namespace
}  // namespace threadx
