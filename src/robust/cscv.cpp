// CSCV over tiles of distinct streams. For each tile (kTile streams, structure of arrays) a
// depth-first walk over blocks 0..S-1 reaches the C splits in their numbering order; level k of
// the walk holds, per stream, the sums over the first k blocks of J, each level one column add
// from its parent, so splits sharing a prefix of J share its partial sums and every sum is still
// taken from +0 in increasing block order (the bits SR_J requires). The out-of-sample set J' of
// split j is the J of split C-1-j, so the one walk gives R' as well: pass 1 reads it as R of
// split j, pass 2 as R' of split C-1-j.
#include "robust/cscv.hpp"

#include <cmath>

#include <fmt/format.h>

#include "common/error.hpp"
#include "robust/cscv_kernel.hpp"
#include "robust/parallel.hpp"
#include "robust/sharpe.hpp"
#include "robust/splits.hpp"

namespace threadx::robust {
namespace {

constexpr std::size_t kTile = 512;  // streams per tile: ~200 KB of sums at S = 16 (L2)
static_assert(kTile % kStreamPad == 0);

// Walks the splits for one tile of streams [begin, begin + len), calling
// leaf(split, begin, len, p1, p2, c1, c2, n_J): the tile's sums over J are p1 + c1 and p2 + c2
// (the first S/2 - 1 blocks of J, then the column of its last block), n_J the returns in J. The
// arrays hold len rounded up to even entries (the stream columns are padded with zeros).
class TileWalker {
 public:
  explicit TileWalker(const StreamSet& streams)
      : streams_(streams),
        blocks_(streams.blocks()),
        half_(streams.blocks() / 2),
        s1_(static_cast<std::size_t>(half_) * kTile, 0.0),
        s2_(static_cast<std::size_t>(half_) * kTile, 0.0) {}

  template <class Leaf>
  void run(std::size_t begin, std::size_t len, Leaf& leaf) {
    begin_ = begin;
    len_ = len;
    even_ = (len + 1) / 2 * 2;
    split_ = 0;
    for (std::size_t t = 0; t < even_; ++t) s1_[t] = s2_[t] = 0.0;  // level 0: +0
    walk(0, 0, 0, leaf);
  }

 private:
  double* level(std::vector<double>& v, int k) {
    return v.data() + static_cast<std::size_t>(k) * kTile;
  }
  std::int64_t returns_in(int block) const {
    return streams_.returns_per_block()[static_cast<std::size_t>(block)];
  }

  // Blocks before `block` are decided, `in_j` of them in J, with `n` returns.
  template <class Leaf>
  void walk(int block, int in_j, std::int64_t n, Leaf& leaf) {
    if (in_j == half_ - 1) {  // the last block of J: any of block..S-1, in increasing order
      for (int last = block; last < blocks_; ++last)
        leaf(split_++, begin_, len_, level(s1_, in_j), level(s2_, in_j),
             streams_.sum_r(last) + begin_, streams_.sum_r2(last) + begin_, n + returns_in(last));
      return;
    }
    detail::add_columns(level(s1_, in_j), streams_.sum_r(block) + begin_, even_,
                        level(s1_, in_j + 1));
    detail::add_columns(level(s2_, in_j), streams_.sum_r2(block) + begin_, even_,
                        level(s2_, in_j + 1));
    walk(block + 1, in_j + 1, n + returns_in(block), leaf);                   // block in J
    if (blocks_ - block - 1 >= half_ - in_j) walk(block + 1, in_j, n, leaf);  // block in J'
  }

  const StreamSet& streams_;
  int blocks_, half_;
  std::vector<double> s1_, s2_;  // levels 0 .. S/2 - 1 of kTile
  std::size_t begin_ = 0, len_ = 0, even_ = 0;
  std::size_t split_ = 0;
};

std::size_t tile_count(const StreamSet& streams) {
  return (streams.size() + kTile - 1) / kTile;
}

// The streams of part p: whole tiles, contiguous.
struct StreamRange {
  std::size_t begin, end;
};
StreamRange part_streams(const StreamSet& streams, unsigned parts, unsigned p) {
  const std::size_t tiles = tile_count(streams);
  const std::size_t first = static_cast<std::size_t>(detail::part_begin(tiles, parts, p));
  const std::size_t last = static_cast<std::size_t>(detail::part_begin(tiles, parts, p + 1));
  return {std::min(first * kTile, streams.size()), std::min(last * kTile, streams.size())};
}

template <class Leaf>
std::int64_t walk_range(const StreamSet& streams, StreamRange range, Leaf& leaf) {
  TileWalker walker(streams);
  std::int64_t rows = 0;
  for (std::size_t begin = range.begin; begin < range.end; begin += kTile) {
    walker.run(begin, std::min(kTile, range.end - begin), leaf);
  }
  for (std::size_t i = range.begin; i < range.end; ++i) rows += streams.multiplicity(i);
  return rows;
}

bool better(const CscvPick& a, const CscvPick& b) {  // a replaces b
  if (a.chosen == kNoCombination) return false;
  if (b.chosen == kNoCombination) return true;
  return a.is_sharpe > b.is_sharpe || (a.is_sharpe == b.is_sharpe && a.chosen < b.chosen);
}

std::uint64_t all_blocks(int blocks) {
  return blocks == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << blocks) - 1;
}

CscvSelection select_range(const StreamSet& streams, const std::vector<std::uint64_t>& masks,
                           StreamRange range) {
  const std::size_t splits = masks.size();
  std::vector<double> best_value(splits, 0.0);
  std::vector<std::int64_t> best_stream(splits, -1);  // index into `streams`
  auto leaf = [&](std::size_t split, std::size_t begin, std::size_t len, const double* p1,
                  const double* p2, const double* c1, const double* c2, std::int64_t n) {
    // Streams come in increasing id order: an equal value later never replaces an earlier one.
    detail::select_leaf(p1, p2, c1, c2, len, n, static_cast<std::int64_t>(begin), best_value[split],
                        best_stream[split]);
  };
  CscvSelection out;
  out.blocks = streams.blocks();
  out.candidates = walk_range(streams, range, leaf);
  out.splits.resize(splits);
  const std::uint64_t all = all_blocks(streams.blocks());
  for (std::size_t j = 0; j < splits; ++j) {
    if (best_stream[j] < 0) continue;
    const auto s = static_cast<std::size_t>(best_stream[j]);
    out.splits[j].chosen = streams.id(s);
    out.splits[j].is_sharpe = best_value[j];
    out.splits[j].oos_sharpe = streams.sharpe_of_blocks(s, all & ~masks[j]);
  }
  return out;
}

void require_same_blocks(int a, int b, const char* what) {
  if (a != b) throw InputError(fmt::format("cscv: {} over S = {} and S = {} blocks", what, a, b));
}

}  // namespace

CscvSelection cscv_select(const StreamSet& streams, unsigned threads) {
  const std::vector<std::uint64_t> masks = cscv_split_masks(streams.blocks());
  const unsigned parts = detail::resolve_threads(threads, tile_count(streams));
  std::vector<CscvSelection> partial(parts);
  detail::run_parts(parts, [&](unsigned p) {
    partial[p] = select_range(streams, masks, part_streams(streams, parts, p));
  });
  CscvSelection out = std::move(partial[0]);
  for (unsigned p = 1; p < parts; ++p) merge_into(out, partial[p]);
  return out;
}

void merge_into(CscvSelection& into, const CscvSelection& from) {
  require_same_blocks(into.blocks, from.blocks, "cannot merge selections");
  if (into.splits.size() != from.splits.size())
    throw InputError("cscv: cannot merge selections with different split counts");
  for (std::size_t j = 0; j < into.splits.size(); ++j)
    if (better(from.splits[j], into.splits[j])) into.splits[j] = from.splits[j];
  into.candidates += from.candidates;
}

CscvRanks cscv_rank(const StreamSet& streams, const CscvSelection& selection, unsigned threads) {
  const auto splits = static_cast<std::size_t>(cscv_split_count(streams.blocks()));
  require_same_blocks(streams.blocks(), selection.blocks, "streams and selection");
  if (selection.splits.size() != splits)
    throw InputError(fmt::format("cscv: the selection holds {} splits, S = {} has {}",
                                 selection.splits.size(), streams.blocks(), splits));
  const unsigned parts = detail::resolve_threads(threads, tile_count(streams));
  std::vector<CscvRanks> partial(parts);
  detail::run_parts(parts, [&](unsigned p) {
    CscvRanks& r = partial[p];
    r.blocks = streams.blocks();
    r.below.assign(splits, 0);
    r.equal.assign(splits, 0);
    auto leaf = [&](std::size_t split, std::size_t begin, std::size_t len, const double* p1,
                    const double* p2, const double* c1, const double* c2, std::int64_t n) {
      const std::size_t j = splits - 1 - split;  // this J is the J' of split C-1-split
      detail::rank_leaf(p1, p2, c1, c2, streams.multiplicities() + begin, len, n,
                        selection.splits[j].oos_sharpe, r.below[j], r.equal[j]);
    };
    r.candidates = walk_range(streams, part_streams(streams, parts, p), leaf);
  });
  CscvRanks out = std::move(partial[0]);
  for (unsigned p = 1; p < parts; ++p) merge_into(out, partial[p]);
  return out;
}

void merge_into(CscvRanks& into, const CscvRanks& from) {
  require_same_blocks(into.blocks, from.blocks, "cannot merge ranks");
  if (into.below.size() != from.below.size() || into.equal.size() != from.equal.size())
    throw InputError("cscv: cannot merge ranks with different split counts");
  for (std::size_t j = 0; j < into.below.size(); ++j) {
    into.below[j] += from.below[j];
    into.equal[j] += from.equal[j];
  }
  into.candidates += from.candidates;
}

CscvResult cscv_result(const CscvSelection& selection, const CscvRanks& ranks) {
  const std::int64_t count = cscv_split_count(selection.blocks);
  const auto splits = static_cast<std::size_t>(count);
  require_same_blocks(selection.blocks, ranks.blocks, "selection and ranks");
  if (selection.splits.size() != splits || ranks.below.size() != splits ||
      ranks.equal.size() != splits)
    throw InputError("cscv: selection or ranks do not hold one entry per split");
  if (selection.candidates < 1) throw InputError("cscv: no combinations to rank");
  if (selection.candidates != ranks.candidates)
    throw InputError(fmt::format("cscv: the selection covers {} combinations, the ranks {}",
                                 selection.candidates, ranks.candidates));
  CscvResult out;
  out.blocks = selection.blocks;
  out.splits = count;
  out.candidates = selection.candidates;
  out.per_split.resize(splits);
  const double rank_scale = static_cast<double>(out.candidates + 1);
  std::int64_t overfit = 0, losses = 0;
  for (std::size_t j = 0; j < splits; ++j) {
    const CscvPick& pick = selection.splits[j];
    if (pick.chosen == kNoCombination) throw InputError("cscv: a split has no chosen combination");
    // w = (L + (Q + 1)/2) / (N_c + 1): the mid-rank of R'_n* among the candidates, in (0, 1).
    const double w =
        (static_cast<double>(ranks.below[j]) + static_cast<double>(ranks.equal[j] + 1) / 2.0) /
        rank_scale;
    CscvSplit& s = out.per_split[j];
    s.lambda = std::log(w / (1.0 - w));
    s.chosen = pick.chosen;
    s.is_sharpe = pick.is_sharpe;
    s.oos_sharpe = pick.oos_sharpe;
    if (s.lambda <= 0) ++overfit;
    if (s.oos_sharpe < 0) ++losses;
  }
  const auto c = static_cast<double>(count);
  out.pbo = static_cast<double>(overfit) / c;
  out.prob_oos_loss = static_cast<double>(losses) / c;

  // Least squares R' = intercept + slope * R over the splits, in split order: means first, then
  // the centred sums (two passes).
  double sx = 0.0, sy = 0.0;
  for (const CscvSplit& s : out.per_split) {
    sx += s.is_sharpe;
    sy += s.oos_sharpe;
  }
  const double mx = sx / c, my = sy / c;
  double sxx = 0.0, sxy = 0.0;
  for (const CscvSplit& s : out.per_split) {
    const double dx = s.is_sharpe - mx;
    sxx += dx * dx;
    sxy += dx * (s.oos_sharpe - my);
  }
  if (sxx > 0) {
    out.slope = sxy / sxx;
    out.intercept = my - out.slope * mx;
  } else {
    out.slope = out.intercept = std::numeric_limits<double>::quiet_NaN();
  }
  return out;
}

CscvResult cscv(const StreamSet& streams, unsigned threads) {
  const CscvSelection selection = cscv_select(streams, threads);
  return cscv_result(selection, cscv_rank(streams, selection, threads));
}

}  // namespace threadx::robust
