// What a sweep keeps of its rows (`--keep`, docs/SWEEP.md "What a sweep keeps"): every row in
// /results (all, the default), none, or the best K combinations by a metric, for one or more
// metrics (top:K:METRIC[,top:K:METRIC...]), whose rows go to /kept. The aggregates
// (results/aggregates.hpp) are computed whatever is kept.
//
// "Best" is the largest value, or the smallest for metrics where lower is better (max_drawdown,
// fees); NaN ranks after every number and equal values rank by the smaller id, so the kept set is
// one exact function of the rows, whatever the ranks, order or split (TopKeeper merges exactly).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "grid/grid.hpp"
#include "results/row_layout.hpp"
#include "strategy/metrics.hpp"

namespace threadx {

struct TopSpec {
  std::uint64_t k = 0;
  std::size_t metric = 0;  // index in kMetrics
  bool ascending = false;  // lower is better
  friend bool operator==(const TopSpec&, const TopSpec&) = default;
};

struct KeepSpec {
  enum class Mode { All, None, Top };
  Mode mode = Mode::All;
  std::vector<TopSpec> tops;  // Mode::Top: one or more

  [[nodiscard]] bool all() const { return mode == Mode::All; }
  // The canonical text: "all", "none" or "top:K:METRIC[,...]" (what parse_keep reads back).
  [[nodiscard]] std::string text() const;
  friend bool operator==(const KeepSpec&, const KeepSpec&) = default;
};

// The largest K of a top:K:METRIC: what the kept rows of one spec may hold.
inline constexpr std::uint64_t kMaxTopK = 1'000'000;

// Parses --keep; InputError "--keep 'TEXT': WHY" (unknown form, K not a positive integer up to
// kMaxTopK, unknown metric, a metric given twice).
KeepSpec parse_keep(const std::string& text);

// The best rows of each top spec among those offered (rows packed with a RowLayout without
// blocks). Offer rows in any order and split, merge keepers in any order: the same kept set.
class TopKeeper {
 public:
  TopKeeper(const Grid& grid, const KeepSpec& spec);

  // Offers the rows of ids [begin, begin + rows.size()).
  void offer(ComboId begin, std::span<const Metrics> rows);
  // Adds another keeper's rows (ids it holds must not have been offered here).
  void merge(const TopKeeper& other);

  // Kept ids, ascending, and their packed rows (row_size() bytes each, same order).
  [[nodiscard]] std::vector<ComboId> ids() const;
  [[nodiscard]] std::vector<unsigned char> rows() const;
  [[nodiscard]] std::size_t row_size() const { return layout_.row_size(); }
  [[nodiscard]] const RowLayout& layout() const { return layout_; }
  // The kept ids of spec s, best first.
  [[nodiscard]] std::vector<ComboId> ranking(std::size_t s) const;

  // For messages and checkpoints (common/bytes.hpp); decode_merge throws std::runtime_error when
  // the bytes are malformed or do not fit this keeper's specs and row size.
  [[nodiscard]] std::vector<std::byte> encode() const;
  void decode_merge(std::span<const std::byte> bytes);

 private:
  struct Entry {
    double key;
    ComboId id;
  };
  // a ranks before b under spec s.
  [[nodiscard]] bool better(const TopSpec& s, const Entry& a, const Entry& b) const;
  void consider(std::size_t s, const Entry& e, const unsigned char* row);
  void prune();  // drops the rows no spec keeps

  const Grid& grid_;
  KeepSpec spec_;
  RowLayout layout_;
  std::vector<std::vector<Entry>> heaps_;  // per spec: a heap whose front is the worst kept
  std::map<ComboId, std::vector<unsigned char>> rows_;
};

}  // namespace threadx
