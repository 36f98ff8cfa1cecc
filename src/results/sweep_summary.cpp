// A sweep's summary (see sweep_summary.hpp).
#include "results/sweep_summary.hpp"

#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "common/bytes.hpp"

namespace threadx {
namespace {

constexpr std::uint64_t kMagic = 0x5458534d52593031;  // "TXSMRY01"

}  // namespace

SweepSummary::SweepSummary(const Grid& grid, const AggregateLayout& layout, const KeepSpec& keep,
                           Role role)
    : grid_(grid),
      layout_(layout),
      keep_(keep),
      role_(role),
      builder_(grid, layout),
      keeper_(keep.mode == KeepSpec::Mode::Top ? std::make_unique<TopKeeper>(grid, keep)
                                               : nullptr) {}

void SweepSummary::add(const WorkUnit& unit, std::span<const Metrics> rows) {
  if (rows.size() != unit.size())
    throw std::logic_error("summary: a unit's rows do not match its size");
  std::shared_lock state(state_);
  {
    // The ids first: ids given twice are refused before their rows are counted.
    std::lock_guard lock(mutex_);
    covered_.add(unit.begin, unit.end);
    if (role_ == Role::Rank) delta_covered_.add(unit.begin, unit.end);
  }
  builder_.add(unit.begin, rows);
  if (keeper_) {
    std::lock_guard lock(mutex_);
    keeper_->offer(unit.begin, rows);
  }
}

std::vector<std::byte> SweepSummary::encode(const SweepAggregates& a,
                                            const std::vector<BlockPart>& parts,
                                            const IdRanges& covered) const {
  Writer w;
  w.put(kMagic).put<std::uint64_t>(covered.ranges().size());
  for (const auto& [b, e] : covered.ranges()) w.put(b).put(e);
  const std::vector<std::int64_t> agg = a.encode();
  w.put_array(agg.data(), agg.size());
  w.put<std::uint64_t>(parts.size());
  for (const BlockPart& p : parts) w.put(p.begin).put_array(p.rows.data(), p.rows.size());
  if (keeper_) {
    const std::vector<std::byte> top = keeper_->encode();
    w.put_array(top.data(), top.size());
  } else {
    w.put<std::uint64_t>(0);
  }
  return w.take();
}

std::vector<std::byte> SweepSummary::take_delta() {
  std::unique_lock state(state_);
  if (delta_covered_.empty()) return {};
  const SweepAggregates a = builder_.take_aggregates();
  // Blocks still open go to the root: the rest of their rows may be on other ranks.
  const std::vector<BlockPart> parts = builder_.take_open_parts();
  std::vector<std::byte> out = encode(a, parts, delta_covered_);
  delta_covered_ = IdRanges{};
  // The kept rows of the units in this delta go with it (at most K per metric); the root keeps
  // the best of all.
  if (keeper_) keeper_ = std::make_unique<TopKeeper>(grid_, keep_);
  return out;
}

void SweepSummary::merge(std::span<const std::byte> delta) {
  Reader in(delta, "sweep summary");
  if (in.get<std::uint64_t>() != kMagic) in.fail();
  IdRanges covered;
  const auto n_ranges = in.get<std::uint64_t>();
  for (std::uint64_t k = 0; k < n_ranges; ++k) {
    const auto b = in.get<ComboId>();
    const auto e = in.get<ComboId>();
    if (b >= e || e > grid_.size()) in.fail();
    covered.add(b, e);
  }
  const std::vector<std::int64_t> agg = in.get_array<std::int64_t>();
  SweepAggregates a(layout_);
  try {
    a = SweepAggregates::decode(layout_, agg);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(std::string("sweep summary: ") + e.what());
  }
  std::vector<BlockPart> parts(in.get<std::uint64_t>());
  for (BlockPart& p : parts) {
    p.begin = in.get<ComboId>();
    p.rows = in.get_array<Metrics>();
  }
  const std::vector<std::byte> top = in.get_array<std::byte>();
  if (!in.done()) in.fail();
  if (!top.empty() && !keeper_) in.fail();
  // Every id covered is in exactly one place: a whole block summarised, or a part of one.
  std::uint64_t in_parts = 0;
  for (const BlockPart& p : parts) {
    in_parts += p.rows.size();
    const auto r = covered.ranges().upper_bound(p.begin);
    if (r == covered.ranges().begin() || std::prev(r)->second < p.begin + p.rows.size())
      throw std::runtime_error("sweep summary: a part of a block outside the ids it covers");
  }
  if (a.combinations() + in_parts != covered.count())
    throw std::runtime_error("sweep summary: " + std::to_string(covered.count()) +
                             " ids covered but " + std::to_string(a.combinations() + in_parts) +
                             " summarised");
  std::unique_ptr<TopKeeper> kept;
  if (!top.empty()) {
    kept = std::make_unique<TopKeeper>(grid_, keep_);
    kept->decode_merge(top);
  }

  std::unique_lock state(state_);
  IdRanges next = covered_;
  next.add(covered);  // std::logic_error on ids covered twice, before anything is merged
  covered_ = std::move(next);
  builder_.merge(a);
  for (const BlockPart& p : parts) builder_.add(p.begin, p.rows);
  if (kept) keeper_->merge(*kept);
}

std::vector<std::byte> SweepSummary::checkpoint() const {
  std::unique_lock state(state_);
  return encode(builder_.finish(/*allow_open=*/true), builder_.open_parts(), covered_);
}

IdRanges SweepSummary::covered() const {
  std::unique_lock state(state_);
  return covered_;
}

SweepAggregates SweepSummary::aggregates(bool allow_open) const {
  std::unique_lock state(state_);
  return builder_.finish(allow_open);
}

}  // namespace threadx
