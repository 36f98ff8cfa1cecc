#include "mpi/robust_gather.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <stdexcept>
#include <vector>

namespace threadx::dist {
namespace {

using robust::RobustPartial;
using robust::RobustPlan;

// Pieces of at most this many bytes (MPI counts are int).
constexpr std::size_t kPieceBytes = std::size_t{1} << 30;

}  // namespace

std::pair<std::uint64_t, std::uint64_t> robust_rows_of_rank(std::uint64_t rows, int ranks,
                                                            int rank) {
  const auto n = static_cast<std::uint64_t>(ranks);
  const auto r = static_cast<std::uint64_t>(rank);
  return {rows * r / n, rows * (r + 1) / n};
}

std::vector<std::byte> serialize(const RobustPartial& p) {
  Writer w;
  w.put(p.begin).put(p.end);
  const robust::StreamSet& s = p.streams;
  const std::size_t n = s.size();
  w.put<std::uint64_t>(n);
  std::vector<std::int64_t> ids(n), mult(n);
  for (std::size_t i = 0; i < n; ++i) {
    ids[i] = s.id(i);
    mult[i] = s.multiplicity(i);
  }
  w.put_array(ids.data(), n).put_array(mult.data(), n);
  for (int b = 0; b < s.blocks() && n > 0; ++b)
    w.put_array(s.sum_r(b), n).put_array(s.sum_r2(b), n);
  w.put_array(p.top.data(), p.top.size());
  w.put<std::uint8_t>(p.walk_forward ? 1 : 0);
  if (p.walk_forward) w.put_array(p.walk_forward->folds.data(), p.walk_forward->folds.size());
  return w.take();
}

RobustPartial deserialize(const std::vector<std::byte>& bytes, const RobustPlan& plan) {
  Reader r(bytes);
  RobustPartial p;
  p.begin = r.get<std::uint64_t>();
  p.end = r.get<std::uint64_t>();
  const auto n = static_cast<std::size_t>(r.get<std::uint64_t>());
  const std::vector<std::int64_t> ids = r.get_array<std::int64_t>();
  const std::vector<std::int64_t> mult = r.get_array<std::int64_t>();
  const auto s = static_cast<std::size_t>(plan.blocks);
  std::vector<std::vector<double>> sum_r(s), sum_r2(s);
  for (std::size_t b = 0; b < s && n > 0; ++b) {
    sum_r[b] = r.get_array<double>();
    sum_r2[b] = r.get_array<double>();
    if (sum_r[b].size() != n || sum_r2[b].size() != n)
      throw std::runtime_error("malformed partial from another rank");
  }
  if (ids.size() != n || mult.size() != n)
    throw std::runtime_error("malformed partial from another rank");
  robust::StreamSetBuilder builder(plan.blocks, plan.returns_per_block);
  std::vector<double> row_r(s), row_r2(s);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t b = 0; b < s; ++b) {
      row_r[b] = sum_r[b][i];
      row_r2[b] = sum_r2[b][i];
    }
    builder.add_stream(ids[i], mult[i], row_r, row_r2);
  }
  p.streams = std::move(builder).finish();
  p.top = r.get_array<robust::RankedCombination>();
  if (r.get<std::uint8_t>() != 0) {
    if (!plan.walk_forward) throw std::runtime_error("malformed partial from another rank");
    robust::WalkForwardSelection sel;
    sel.blocks = plan.blocks;
    sel.config = *plan.walk_forward;
    sel.returns_per_block = plan.returns_per_block;
    sel.folds = r.get_array<robust::FoldPick>();
    p.walk_forward = std::move(sel);
  }
  return p;
}

std::vector<std::byte> serialize(const robust::CscvSelection& selection) {
  Writer w;
  w.put(selection.blocks).put(selection.candidates);
  w.put_array(selection.splits.data(), selection.splits.size());
  return w.take();
}

robust::CscvSelection deserialize_selection(const std::vector<std::byte>& bytes) {
  Reader r(bytes);
  robust::CscvSelection s;
  s.blocks = r.get<int>();
  s.candidates = r.get<std::int64_t>();
  s.splits = r.get_array<robust::CscvPick>();
  return s;
}

std::vector<std::byte> serialize(const robust::CscvRanks& ranks) {
  Writer w;
  w.put(ranks.blocks).put(ranks.candidates);
  w.put_array(ranks.below.data(), ranks.below.size());
  w.put_array(ranks.equal.data(), ranks.equal.size());
  return w.take();
}

robust::CscvRanks deserialize_ranks(const std::vector<std::byte>& bytes) {
  Reader r(bytes);
  robust::CscvRanks k;
  k.blocks = r.get<int>();
  k.candidates = r.get<std::int64_t>();
  k.below = r.get_array<std::int64_t>();
  k.equal = r.get_array<std::int64_t>();
  return k;
}

void send_bytes(Transport& t, int dest, const std::vector<std::byte>& bytes) {
  std::size_t at = 0;
  do {  // each piece: the whole message's size, then up to kPieceBytes of it
    const std::size_t n = std::min(kPieceBytes, bytes.size() - at);
    Writer w;
    w.put<std::uint64_t>(bytes.size());
    w.put_array(bytes.data() + at, n);
    t.send(dest, Tag::RobustPartial, w.take());
    at += n;
  } while (at < bytes.size());
}

std::vector<std::byte> ByteInbox::next(int source) {
  std::deque<std::vector<std::byte>>& ready = whole_[source];
  while (ready.empty()) {
    std::optional<Message> m = t_.receive(std::chrono::microseconds(100000));
    if (!m) continue;
    if (m->tag != Tag::RobustPartial)
      throw std::runtime_error("protocol: expected a robust partial from another rank");
    Reader r(m->data);
    const auto total = r.get<std::uint64_t>();
    const std::vector<std::byte> piece = r.get_array<std::byte>();
    std::vector<std::byte>& b = building_[m->source];
    b.insert(b.end(), piece.begin(), piece.end());
    if (b.size() > total) throw std::runtime_error("protocol: a robust partial overran its size");
    if (b.size() == total) {
      whole_[m->source].push_back(std::move(b));
      building_.erase(m->source);
    }
  }
  std::vector<std::byte> out = std::move(ready.front());
  ready.pop_front();
  return out;
}

robust::RobustPartial gather_robust_partials(Transport& t, ByteInbox& inbox, RobustPartial own,
                                             const RobustPlan& plan) {
  for (int rank = 1; rank < t.size(); ++rank)
    robust::merge_partial(own, deserialize(inbox.next(rank), plan), plan);
  return own;
}

robust::CscvSelection gather_selections(Transport& t, ByteInbox& inbox, robust::CscvSelection own) {
  for (int rank = 1; rank < t.size(); ++rank)
    robust::merge_into(own, deserialize_selection(inbox.next(rank)));
  return own;
}

robust::CscvRanks gather_ranks(Transport& t, ByteInbox& inbox, robust::CscvRanks own) {
  for (int rank = 1; rank < t.size(); ++rank)
    robust::merge_into(own, deserialize_ranks(inbox.next(rank)));
  return own;
}

}  // namespace threadx::dist
