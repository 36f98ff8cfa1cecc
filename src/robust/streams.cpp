#include "robust/streams.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

#include "common/error.hpp"
#include "robust/sharpe.hpp"

namespace threadx::robust {
namespace {

std::uint64_t mix(std::uint64_t x) {  // splitmix64 finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

std::uint64_t hash_key(const std::uint64_t* key, std::size_t words) {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (std::size_t w = 0; w < words; ++w) h = mix(h ^ key[w]) + 0x9e3779b97f4a7c15ULL;
  return h;
}

}  // namespace

double StreamSet::whole_run_sharpe(std::size_t i) const {
  double s1 = 0.0, s2 = 0.0;
  std::int64_t n = 0;
  for (int b = 0; b < blocks_; ++b) {
    s1 += sum_r(b)[i];
    s2 += sum_r2(b)[i];
    n += n_b_[static_cast<std::size_t>(b)];
  }
  return sharpe_from_sums(s1, s2, n);
}

double StreamSet::sharpe_of_blocks(std::size_t i, std::uint64_t mask) const {
  double s1 = 0.0, s2 = 0.0;
  std::int64_t n = 0;
  for (int b = 0; b < blocks_; ++b) {
    if (((mask >> b) & 1U) == 0) continue;
    s1 += sum_r(b)[i];
    s2 += sum_r2(b)[i];
    n += n_b_[static_cast<std::size_t>(b)];
  }
  return sharpe_from_sums(s1, s2, n);
}

StreamSetBuilder::StreamSetBuilder(int blocks, std::span<const std::int64_t> returns_per_block)
    : blocks_(blocks),
      key_words_(2 * static_cast<std::size_t>(blocks)),
      n_b_(returns_per_block.begin(), returns_per_block.end()),
      table_(1024, 0) {
  BlockMatrix shape;
  shape.blocks = blocks;
  shape.returns_per_block = returns_per_block;
  validate(shape);
}

void StreamSetBuilder::grow() {
  std::vector<std::uint32_t> bigger(table_.size() * 2, 0);
  const std::size_t m = bigger.size() - 1;
  for (std::size_t s = 0; s < ids_.size(); ++s) {
    std::size_t slot = hashes_[s] & m;
    while (bigger[slot] != 0) slot = (slot + 1) & m;
    bigger[slot] = static_cast<std::uint32_t>(s + 1);
  }
  table_.swap(bigger);
}

void StreamSetBuilder::insert(const std::uint64_t* key, std::int64_t id,
                              std::int64_t multiplicity) {
  const std::uint64_t h = hash_key(key, key_words_);
  const std::size_t m = table_.size() - 1;
  std::size_t slot = h & m;
  for (;;) {
    const std::uint32_t e = table_[slot];
    if (e == 0) break;
    const std::size_t s = e - 1;
    if (hashes_[s] == h &&
        std::memcmp(keys_.data() + s * key_words_, key, key_words_ * sizeof(std::uint64_t)) == 0) {
      ids_[s] = std::min(ids_[s], id);
      mult_[s] += multiplicity;
      rows_ += multiplicity;
      return;
    }
    slot = (slot + 1) & m;
  }
  if (ids_.size() >= 0xfffffffeU) throw InputError("block statistics: too many distinct streams");
  table_[slot] = static_cast<std::uint32_t>(ids_.size() + 1);
  keys_.insert(keys_.end(), key, key + key_words_);
  ids_.push_back(id);
  mult_.push_back(multiplicity);
  hashes_.push_back(h);
  rows_ += multiplicity;
  if (2 * ids_.size() > table_.size()) grow();  // load factor <= 1/2
}

void StreamSetBuilder::add(const BlockMatrix& rows) {
  validate(rows);
  if (rows.blocks != blocks_ ||
      !std::equal(n_b_.begin(), n_b_.end(), rows.returns_per_block.begin(),
                  rows.returns_per_block.end()))
    throw InputError("block statistics: rows with a different block layout (S or n_b)");
  std::vector<std::uint64_t> key(key_words_);
  const std::int64_t n = rows.rows();
  for (std::int64_t r = 0; r < n; ++r) {
    const std::span<const BlockStats> row = rows.row(r);
    for (std::size_t b = 0; b < row.size(); ++b) {
      key[2 * b] = std::bit_cast<std::uint64_t>(row[b].sum_r);
      key[2 * b + 1] = std::bit_cast<std::uint64_t>(row[b].sum_r2);
    }
    insert(key.data(), rows.id(r), 1);
  }
}

void StreamSetBuilder::add(const StreamSet& streams) {
  if (streams.size() == 0) return;
  if (streams.blocks() != blocks_ ||
      !std::equal(n_b_.begin(), n_b_.end(), streams.returns_per_block().begin(),
                  streams.returns_per_block().end()))
    throw InputError("block statistics: streams with a different block layout (S or n_b)");
  std::vector<std::uint64_t> key(key_words_);
  for (std::size_t i = 0; i < streams.size(); ++i) {
    for (int b = 0; b < blocks_; ++b) {
      const auto w = 2 * static_cast<std::size_t>(b);
      key[w] = std::bit_cast<std::uint64_t>(streams.sum_r(b)[i]);
      key[w + 1] = std::bit_cast<std::uint64_t>(streams.sum_r2(b)[i]);
    }
    insert(key.data(), streams.id(i), streams.multiplicity(i));
  }
}

void StreamSetBuilder::add_stream(std::int64_t id, std::int64_t multiplicity,
                                  std::span<const double> sum_r, std::span<const double> sum_r2) {
  const auto s = static_cast<std::size_t>(blocks_);
  if (sum_r.size() != s || sum_r2.size() != s || id < 0 || multiplicity < 1)
    throw InputError(
        "block statistics: a stream with another block count, a negative id or no "
        "row");
  std::vector<std::uint64_t> key(key_words_);
  for (std::size_t b = 0; b < s; ++b) {
    key[2 * b] = std::bit_cast<std::uint64_t>(sum_r[b]);
    key[2 * b + 1] = std::bit_cast<std::uint64_t>(sum_r2[b]);
  }
  insert(key.data(), id, multiplicity);
}

StreamSet StreamSetBuilder::finish() && {
  const std::size_t n = ids_.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return ids_[a] < ids_[b];  // ids are unique: each row belongs to one stream
  });
  StreamSet set;
  set.blocks_ = blocks_;
  set.n_b_ = n_b_;
  set.rows_ = rows_;
  set.stride_ = (n + kStreamPad - 1) / kStreamPad * kStreamPad;
  if (set.stride_ == 0) set.stride_ = kStreamPad;
  set.ids_.resize(n);
  set.mult_.assign(set.stride_, 0);
  set.sum_r_.assign(static_cast<std::size_t>(blocks_) * set.stride_, 0.0);
  set.sum_r2_.assign(static_cast<std::size_t>(blocks_) * set.stride_, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t s = order[i];
    set.ids_[i] = ids_[s];
    set.mult_[i] = mult_[s];
    const std::uint64_t* key = keys_.data() + s * key_words_;
    for (std::size_t b = 0; b < static_cast<std::size_t>(blocks_); ++b) {
      set.sum_r_[b * set.stride_ + i] = std::bit_cast<double>(key[2 * b]);
      set.sum_r2_[b * set.stride_ + i] = std::bit_cast<double>(key[2 * b + 1]);
    }
  }
  return set;
}

StreamSet distinct_streams(const BlockMatrix& rows) {
  validate(rows);
  StreamSetBuilder builder(rows.blocks, rows.returns_per_block);
  builder.add(rows);
  return std::move(builder).finish();
}

}  // namespace threadx::robust
