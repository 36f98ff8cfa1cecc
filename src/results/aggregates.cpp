// A sweep's aggregates (see aggregates.hpp).
#include "results/aggregates.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

namespace threadx {
namespace {

constexpr std::int64_t kMagic = 0x5458414747523031;  // "TXAGGR01"

// a takes b's extreme when b's is beyond it, or equal with a smaller id.

}  // namespace

AggregateLayout::AggregateLayout(const Grid& grid, const AggregateSpec& spec)
    : spec_(spec),
      rows_(grid.size()),
      group_(grid.group_size()),
      ids_begin_(spec.ids_begin),
      ids_end_(spec.ids_end == 0 ? grid.size() : spec.ids_end) {
  if (ids_begin_ >= ids_end_ || ids_end_ > rows_)
    throw std::invalid_argument("aggregates: ids outside the grid");
  if (spec.block_rows == 0) throw std::invalid_argument("aggregates: block_rows must be > 0");
  if (spec.histogram_metric >= kAggMetrics || spec.histogram_bins == 0 ||
      !(spec.histogram_lo < spec.histogram_hi))
    throw std::invalid_argument("aggregates: bad histogram");
  for (std::size_t p = 0; p < grid.param_count(); ++p)
    if (grid.values[p].size() > 1) {
      axes_.push_back(p);
      values_.push_back(grid.values[p].size());
    }
  const std::size_t n = axes_.size();
  single_.resize(n);
  for (std::size_t a = 0; a < n; ++a) {
    single_[a] = cells_;
    cells_ += values_[a];
  }
  pair_.assign(n * n, 0);
  for (std::size_t a = 0; a < n; ++a)
    for (std::size_t b = a + 1; b < n; ++b) {
      pair_[a * n + b] = cells_;
      cells_ += values_[a] * values_[b];
    }
}

std::pair<ComboId, ComboId> AggregateLayout::block_of(ComboId id) const {
  const ComboId group_first = id / group_ * group_;
  const ComboId first = group_first + (id - group_first) / spec_.block_rows * spec_.block_rows;
  return {std::max(first, ids_begin_),
          std::min({first + spec_.block_rows, group_first + group_, ids_end_})};
}

void MetricStats::merge(const MetricStats& o) {
  overflow = overflow || o.overflow;
  if (o.count == 0) return;
  if (count == 0) {
    max = o.max;
    max_id = o.max_id;
    min = o.min;
    min_id = o.min_id;
  } else {
    keep_max(max, max_id, o.max, o.max_id);
    keep_min(min, min_id, o.min, o.min_id);
  }
  count += o.count;
  sum.merge(o.sum);
  sumsq.merge(o.sumsq);
}

SweepAggregates::SweepAggregates(const AggregateLayout& layout)
    : layout_(&layout),
      stats_(layout.cell_count() * kAggMetrics),
      histogram_(layout.spec().histogram_bins + 3, 0) {}

void SweepAggregates::merge(const SweepAggregates& o) {
  if (o.stats_.size() != stats_.size() || o.histogram_.size() != histogram_.size())
    throw std::invalid_argument("aggregates: merging aggregates of different layouts");
  for (std::size_t k = 0; k < stats_.size(); ++k) stats_[k].merge(o.stats_[k]);
  for (std::size_t k = 0; k < histogram_.size(); ++k) histogram_[k] += o.histogram_[k];
  combinations_ += o.combinations_;
}

bool operator==(const SweepAggregates& a, const SweepAggregates& b) {
  return a.stats_ == b.stats_ && a.histogram_ == b.histogram_ && a.combinations_ == b.combinations_;
}

std::vector<std::int64_t> SweepAggregates::encode() const {
  std::vector<std::int64_t> out{kMagic, static_cast<std::int64_t>(layout_->cell_count()),
                                static_cast<std::int64_t>(kAggMetrics),
                                static_cast<std::int64_t>(histogram_.size()),
                                static_cast<std::int64_t>(combinations_)};
  for (const std::uint64_t h : histogram_) out.push_back(static_cast<std::int64_t>(h));
  auto put_sum = [&](const ExactSum& s) {
    const std::vector<std::int64_t> c = s.to_compact();
    out.push_back(static_cast<std::int64_t>(c.size()));
    out.insert(out.end(), c.begin(), c.end());
  };
  for (const MetricStats& s : stats_) {
    out.push_back(static_cast<std::int64_t>(s.count));
    if (s.count == 0) continue;  // nothing else: no value, no sum, no overflow
    out.push_back(std::bit_cast<std::int64_t>(s.max));
    out.push_back(static_cast<std::int64_t>(s.max_id));
    out.push_back(std::bit_cast<std::int64_t>(s.min));
    out.push_back(static_cast<std::int64_t>(s.min_id));
    out.push_back(s.overflow ? 1 : 0);
    put_sum(s.sum);
    put_sum(s.sumsq);
  }
  return out;
}

SweepAggregates SweepAggregates::decode(const AggregateLayout& layout,
                                        std::span<const std::int64_t> data) {
  SweepAggregates a(layout);
  std::size_t at = 0;
  auto take = [&]() -> std::int64_t {
    if (at >= data.size()) throw std::invalid_argument("aggregates: encoding ends early");
    return data[at++];
  };
  if (take() != kMagic) throw std::invalid_argument("aggregates: not an aggregates encoding");
  if (take() != static_cast<std::int64_t>(layout.cell_count()) ||
      take() != static_cast<std::int64_t>(kAggMetrics) ||
      take() != static_cast<std::int64_t>(a.histogram_.size()))
    throw std::invalid_argument("aggregates: encoded for another grid or histogram");
  a.combinations_ = static_cast<std::uint64_t>(take());
  for (std::uint64_t& h : a.histogram_) h = static_cast<std::uint64_t>(take());
  auto get_sum = [&]() {
    const std::int64_t n = take();
    if (n < 0 || static_cast<std::size_t>(n) > data.size() - at)
      throw std::invalid_argument("aggregates: bad sum length");
    const ExactSum s = ExactSum::from_compact(data.subspan(at, static_cast<std::size_t>(n)));
    at += static_cast<std::size_t>(n);
    return s;
  };
  for (MetricStats& s : a.stats_) {
    s.count = static_cast<std::uint64_t>(take());
    if (s.count == 0) continue;
    s.max = std::bit_cast<double>(take());
    s.max_id = static_cast<ComboId>(take());
    s.min = std::bit_cast<double>(take());
    s.min_id = static_cast<ComboId>(take());
    s.overflow = take() != 0;
    s.sum = get_sum();
    s.sumsq = get_sum();
  }
  if (at != data.size()) throw std::invalid_argument("aggregates: trailing data in encoding");
  return a;
}

BlockSummarizer::BlockSummarizer(const AggregateLayout& layout)
    : layout_(layout), partial_(layout.cell_count() + 1), stamp_(layout.cell_count() + 1, 0) {}

void BlockSummarizer::Partial::clear() {
  constexpr double inf = std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < kVectors; ++k) {
    sum[k] = sumsq[k] = V2{};
    max[k] = V2{-inf, -inf};
    min[k] = V2{inf, inf};
    count[k] = max_id[k] = min_id[k] = M2{};
  }
}

void BlockSummarizer::Partial::add_row(const V2* v, ComboId id) {
  // A value that is not finite changes nothing. Ids ascend, so a strictly larger value is needed
  // to replace the maximum: equals keep the smaller id. Selections are masks (and, or), which
  // the compiler keeps in vector registers.
  const auto ids = static_cast<std::int64_t>(id);
  const M2 idv{ids, ids};
  for (std::size_t k = 0; k < kVectors; ++k) {
    const V2 x = v[k];
    const M2 xb = std::bit_cast<M2>(x);
    const M2 finite = (x - x) == 0;  // all ones where finite: not NaN, not infinite
    const V2 xs = std::bit_cast<V2>(xb & finite);
    count[k] -= finite;
    sum[k] += xs;
    sumsq[k] += xs * xs;
    const M2 above = finite & (x > max[k]);
    max[k] = std::bit_cast<V2>((xb & above) | (std::bit_cast<M2>(max[k]) & ~above));
    max_id[k] = (idv & above) | (max_id[k] & ~above);
    const M2 below = finite & (x < min[k]);
    min[k] = std::bit_cast<V2>((xb & below) | (std::bit_cast<M2>(min[k]) & ~below));
    min_id[k] = (idv & below) | (min_id[k] & ~below);
  }
}

void BlockSummarizer::Partial::combine(const Partial& o) {
  for (std::size_t m = 0; m < kAggMetrics; ++m) {
    const std::size_t k = m / 2, l = m % 2;
    if (o.count[k][l] == 0) continue;
    double mx = max[k][l], mn = min[k][l];
    auto mx_id = static_cast<ComboId>(max_id[k][l]), mn_id = static_cast<ComboId>(min_id[k][l]);
    if (count[k][l] == 0) {
      mx = o.max[k][l];
      mx_id = static_cast<ComboId>(o.max_id[k][l]);
      mn = o.min[k][l];
      mn_id = static_cast<ComboId>(o.min_id[k][l]);
    } else {
      keep_max(mx, mx_id, o.max[k][l], static_cast<ComboId>(o.max_id[k][l]));
      keep_min(mn, mn_id, o.min[k][l], static_cast<ComboId>(o.min_id[k][l]));
    }
    max[k][l] = mx;
    max_id[k][l] = static_cast<std::int64_t>(mx_id);
    min[k][l] = mn;
    min_id[k][l] = static_cast<std::int64_t>(mn_id);
    count[k][l] += o.count[k][l];
    sum[k][l] += o.sum[k][l];
    sumsq[k][l] += o.sumsq[k][l];
  }
}

BlockSummarizer::Partial& BlockSummarizer::cell(std::size_t c) {
  Partial& p = partial_[c];
  if (stamp_[c] != block_) {
    stamp_[c] = block_;
    touched_.push_back(static_cast<std::uint32_t>(c));
    p.clear();
  }
  return p;
}

void BlockSummarizer::fold(SweepAggregates& into) const {
  for (const std::uint32_t c : touched_) {
    if (c == layout_.cell_count()) continue;  // the block total's scratch cell
    const Partial& q = partial_[c];
    for (std::size_t m = 0; m < kAggMetrics; ++m) {
      const std::size_t k = m / 2, l = m % 2;
      if (q.count[k][l] == 0) continue;
      MetricStats& s = into.stats(c, m);
      const auto max_id = static_cast<ComboId>(q.max_id[k][l]);
      const auto min_id = static_cast<ComboId>(q.min_id[k][l]);
      if (s.count == 0) {
        s.max = q.max[k][l];
        s.max_id = max_id;
        s.min = q.min[k][l];
        s.min_id = min_id;
      } else {
        keep_max(s.max, s.max_id, q.max[k][l], max_id);
        keep_min(s.min, s.min_id, q.min[k][l], min_id);
      }
      s.count += static_cast<std::uint64_t>(q.count[k][l]);
      if (std::isfinite(q.sum[k][l]) && std::isfinite(q.sumsq[k][l])) {
        s.sum.add(q.sum[k][l]);
        s.sumsq.add(q.sumsq[k][l]);
      } else {
        s.overflow = true;
      }
    }
  }
}

void BlockSummarizer::add_block(const Grid& grid, ComboId first, std::span<const Metrics> rows,
                                SweepAggregates& into) {
  if (rows.empty()) return;
  const auto [b0, b1] = layout_.block_of(first);
  if (b0 != first || b1 - b0 != rows.size())
    throw std::logic_error("aggregates: a block summary of ids that are not one whole block");
  if (++block_ == 0) {  // the stamps wrapped: forget them all
    std::fill(stamp_.begin(), stamp_.end(), 0);
    block_ = 1;
  }
  touched_.clear();
  const std::vector<std::size_t>& axes = layout_.axes();
  const std::size_t n_axes = axes.size();
  const ParamIndex first_idx = grid.indices_of(b0);
  // Axis a is constant over [b0, b1) iff b0 / stride(a) == (b1 - 1) / stride(a): its digit is
  // (id / stride) mod values, and it changes whenever the quotient does.
  std::vector<std::size_t> varying, constant;
  {
    std::array<ComboId, kMaxParams> stride{};
    ComboId s = 1;
    for (std::size_t k = grid.strategy->id_order.size(); k-- > 0;) {
      const std::size_t p = grid.strategy->id_order[k];
      stride[p] = s;
      s *= grid.values[p].size();
    }
    for (std::size_t a = 0; a < n_axes; ++a)
      (b0 / stride[axes[a]] == (b1 - 1) / stride[axes[a]] ? constant : varying).push_back(a);
  }

  // The rows, in id order, into the cells of every pair of varying axes (or the one varying
  // axis, or the total).
  const std::size_t total_cell = layout_.cell_count();
  ParamIndex idx = first_idx;
  V2 v[kVectors] = {};
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (r > 0) grid.advance(idx);
    const Metrics& row = rows[r];
    v[0] = V2{row.total_return, row.sharpe};
    v[1] = V2{row.sortino, row.max_drawdown};
    v[2] = V2{static_cast<double>(row.trades), row.win_rate};
    v[3] = V2{row.profit_factor, row.expectancy};
    v[4] = V2{row.exposure, row.fees};
    v[5] = V2{row.final_equity, 0.0};
    const ComboId id = b0 + r;
    if (varying.size() >= 2) {
      for (std::size_t x = 0; x < varying.size(); ++x)
        for (std::size_t y = x + 1; y < varying.size(); ++y) {
          const std::size_t a = varying[x], b = varying[y];
          cell(layout_.pair(a, b, idx[axes[a]], idx[axes[b]])).add_row(v, id);
        }
    } else if (varying.size() == 1) {
      cell(layout_.single(varying[0], idx[axes[varying[0]]])).add_row(v, id);
    } else {
      cell(total_cell).add_row(v, id);
    }
    ++into.histogram()[histogram_bin(metric_value(row, layout_.spec().histogram_metric))];
  }
  into.count_combinations(rows.size());

  // Derived cells, in a fixed order.
  if (varying.size() >= 2) {
    // A varying axis's values from its pairs with the first other varying axis.
    for (const std::size_t b : varying) {
      const std::size_t c = b == varying[0] ? varying[1] : varying[0];
      for (std::size_t j = 0; j < layout_.values(b); ++j) {
        Partial* out = nullptr;
        for (std::size_t i = 0; i < layout_.values(c); ++i) {
          const std::size_t pc = b < c ? layout_.pair(b, c, j, i) : layout_.pair(c, b, i, j);
          if (stamp_[pc] != block_) continue;
          if (out == nullptr) out = &cell(layout_.single(b, j));
          out->combine(partial_[pc]);
        }
      }
    }
  }
  if (!varying.empty()) {
    const std::size_t b = varying[0];
    for (std::size_t j = 0; j < layout_.values(b); ++j) {
      const std::size_t sc = layout_.single(b, j);
      if (stamp_[sc] == block_) cell(total_cell).combine(partial_[sc]);
    }
  }
  // Cells with a constant axis: the varying axis's cell, or the total.
  const Partial& total = partial_[total_cell];
  for (const std::size_t a : constant) {
    const std::size_t i = first_idx[axes[a]];
    cell(layout_.single(a, i)) = total;
    for (const std::size_t b : constant)
      if (a < b) cell(layout_.pair(a, b, i, first_idx[axes[b]])) = total;
    for (const std::size_t b : varying)
      for (std::size_t j = 0; j < layout_.values(b); ++j) {
        const std::size_t sc = layout_.single(b, j);
        if (stamp_[sc] != block_) continue;
        cell(a < b ? layout_.pair(a, b, i, j) : layout_.pair(b, a, j, i)) = partial_[sc];
      }
  }
  fold(into);
}

std::size_t BlockSummarizer::histogram_bin(double h) const {
  const AggregateSpec& spec = layout_.spec();
  if (std::isnan(h)) return spec.histogram_bins + 2;
  if (h < spec.histogram_lo) return spec.histogram_bins;
  if (h >= spec.histogram_hi) return spec.histogram_bins + 1;
  const double scale =
      static_cast<double>(spec.histogram_bins) / (spec.histogram_hi - spec.histogram_lo);
  return std::min(spec.histogram_bins - 1,
                  static_cast<std::size_t>((h - spec.histogram_lo) * scale));
}

AggregateBuilder::AggregateBuilder(const Grid& grid, const AggregateLayout& layout)
    : grid_(grid), layout_(layout), merged_(layout) {}

AggregateBuilder::Slot& AggregateBuilder::acquire() {
  std::lock_guard lock(mutex_);
  if (free_.empty()) {
    slots_.push_back(
        std::make_unique<Slot>(Slot{BlockSummarizer(layout_), SweepAggregates(layout_)}));
    return *slots_.back();
  }
  Slot* s = free_.back();
  free_.pop_back();
  return *s;
}

void AggregateBuilder::release(Slot& slot) {
  std::lock_guard lock(mutex_);
  free_.push_back(&slot);
}

void AggregateBuilder::add(ComboId begin, std::span<const Metrics> rows) {
  const ComboId end = begin + rows.size();
  if (end > layout_.rows()) throw std::logic_error("aggregates: rows past the end of the grid");
  Slot& slot = acquire();
  try {
    for (ComboId at = begin; at < end;) {
      const auto [b0, b1] = layout_.block_of(at);
      const ComboId stop = std::min(end, b1);
      const std::span<const Metrics> part = rows.subspan(at - begin, stop - at);
      if (at == b0 && stop == b1) {
        slot.summarizer.add_block(grid_, b0, part, slot.aggregates);
      } else {
        std::vector<Metrics> whole;
        {
          std::lock_guard lock(mutex_);
          Open& o = open_[b0];
          if (o.rows.empty()) {
            o.rows.resize(b1 - b0);
            o.have.assign(b1 - b0, false);
          }
          for (ComboId id = at; id < stop; ++id) {
            if (o.have[id - b0]) throw std::logic_error("aggregates: a row added twice");
            o.have[id - b0] = true;
            o.rows[id - b0] = part[id - at];
          }
          o.filled += stop - at;
          if (o.filled == b1 - b0) {
            whole = std::move(o.rows);
            open_.erase(b0);
          }
        }
        if (!whole.empty()) slot.summarizer.add_block(grid_, b0, whole, slot.aggregates);
      }
      at = stop;
    }
  } catch (...) {
    release(slot);
    throw;
  }
  release(slot);
}

void AggregateBuilder::merge(const SweepAggregates& a) {
  std::lock_guard lock(mutex_);
  merged_.merge(a);
}

std::size_t AggregateBuilder::open_blocks() const {
  std::lock_guard lock(mutex_);
  return open_.size();
}

SweepAggregates AggregateBuilder::finish(bool allow_open) const {
  std::lock_guard lock(mutex_);
  if (!open_.empty() && !allow_open)
    throw std::logic_error("aggregates: " + std::to_string(open_.size()) +
                           " block(s) still miss rows, the first at id " +
                           std::to_string(open_.begin()->first));
  SweepAggregates out = merged_;
  for (const std::unique_ptr<Slot>& s : slots_) out.merge(s->aggregates);
  return out;
}

SweepAggregates AggregateBuilder::take_aggregates() {
  std::lock_guard lock(mutex_);
  if (free_.size() != slots_.size())
    throw std::logic_error("aggregates: take_aggregates while rows are being added");
  SweepAggregates out = std::exchange(merged_, SweepAggregates(layout_));
  for (Slot* s : free_) out.merge(std::exchange(s->aggregates, SweepAggregates(layout_)));
  return out;
}

std::vector<BlockPart> AggregateBuilder::take_open_parts() {
  std::vector<BlockPart> out = open_parts();
  std::lock_guard lock(mutex_);
  open_.clear();
  return out;
}

std::vector<BlockPart> AggregateBuilder::open_parts() const {
  std::lock_guard lock(mutex_);
  std::vector<BlockPart> out;
  for (const auto& [b0, o] : open_)
    for (std::size_t k = 0; k < o.rows.size();) {
      if (!o.have[k]) {
        ++k;
        continue;
      }
      BlockPart p{b0 + k, {}};
      while (k < o.rows.size() && o.have[k]) p.rows.push_back(o.rows[k++]);
      out.push_back(std::move(p));
    }
  return out;
}

}  // namespace threadx
