// Shared by the robust tests: an owning block matrix, random matrices with many identical
// streams, bitwise comparison of doubles, and a naive CSCV written straight from the contract
// (no deduplication, no tiles, no shared partial sums) to hold the fast one against.
#pragma once

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "robust/block_matrix.hpp"
#include "robust/sharpe.hpp"
#include "robust/splits.hpp"

namespace threadx::robust::testing {

inline bool same_bits(double a, double b) {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

// Owns what a BlockMatrix views.
struct OwnedMatrix {
  int blocks = 0;
  std::vector<std::int64_t> n_b;
  std::int64_t first_id = 0;
  std::vector<BlockStats> cells;
  std::vector<double> capital;

  [[nodiscard]] BlockMatrix view() const {
    BlockMatrix m;
    m.blocks = blocks;
    m.returns_per_block = n_b;
    m.first_id = first_id;
    m.cells = cells;
    m.initial_capital = capital;
    return m;
  }
  void add_row(const std::vector<BlockStats>& row) {
    for (const BlockStats& c : row) cells.push_back(c);
  }
};

// One block with the given returns: sums from +0 in order, as the engine accumulates them.
inline BlockStats block_of(std::initializer_list<double> returns, double equity = 0,
                           std::int32_t trades = 0) {
  BlockStats b;
  for (const double r : returns) {
    b.sum_r += r;
    b.sum_r2 += r * r;
  }
  b.equity = equity;
  b.trades = trades;
  return b;
}

// `rows` rows over `distinct` random streams (row r copies stream pattern[r]), so identical
// streams are scattered over the ids; a few streams never trade (all sums +0). Sums are drawn
// per block as a real strategy's would look (small mean, per-bar volatility ~0.3-1%), and some
// streams are rounded to few significant bits so that different streams tie on some splits.
inline OwnedMatrix random_matrix(std::int64_t rows, int blocks, std::int64_t distinct,
                                 std::uint64_t seed, std::int64_t first_id = 0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z(0.0, 1.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  OwnedMatrix m;
  m.blocks = blocks;
  m.first_id = first_id;
  for (int b = 0; b < blocks; ++b) m.n_b.push_back(20 + (b % 3 == 0 ? 1 : 0));
  std::vector<std::vector<BlockStats>> streams(static_cast<std::size_t>(distinct));
  for (std::int64_t s = 0; s < distinct; ++s) {
    auto& row = streams[static_cast<std::size_t>(s)];
    row.resize(static_cast<std::size_t>(blocks));
    const bool flat = s % 17 == 3;
    const bool coarse = s % 5 == 1;  // quantised: ties between different streams
    double equity = 10000;
    for (int b = 0; b < blocks; ++b) {
      BlockStats& c = row[static_cast<std::size_t>(b)];
      const auto n = static_cast<double>(m.n_b[static_cast<std::size_t>(b)]);
      if (!flat) {
        const double sigma = 0.003 + 0.007 * u(rng);
        const double mu = 0.0004 * z(rng) - 0.0001;
        c.sum_r = n * mu + std::sqrt(n) * sigma * z(rng);
        c.sum_r2 = n * (sigma * sigma + mu * mu) * (0.5 + u(rng));
        if (coarse) {
          c.sum_r = std::round(c.sum_r * 256.0) / 256.0;
          c.sum_r2 = std::round(c.sum_r2 * 4096.0 + 1.0) / 4096.0;
        }
        c.trades = static_cast<std::int32_t>(u(rng) * 4.0);
      }
      equity *= 1.0 + c.sum_r;
      c.equity = equity;
    }
  }
  std::uniform_int_distribution<std::int64_t> pick(0, distinct - 1);
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t s = r < distinct ? r : pick(rng);
    m.add_row(streams[static_cast<std::size_t>(s)]);
  }
  // Shuffle rows so that the first occurrence of a stream is not always its lowest id.
  for (std::int64_t r = rows - 1; r > 0; --r) {
    std::uniform_int_distribution<std::int64_t> other(0, r);
    const std::int64_t o = other(rng);
    for (int b = 0; b < blocks; ++b)
      std::swap(m.cells[static_cast<std::size_t>(r * blocks + b)],
                m.cells[static_cast<std::size_t>(o * blocks + b)]);
  }
  m.capital.assign(static_cast<std::size_t>(rows), 10000.0);
  return m;
}

// CSCV straight from the contract, over every row.
struct NaiveSplit {
  std::int64_t chosen = -1;
  double is_sharpe = 0, oos_sharpe = 0;
  std::int64_t below = 0, equal = 0;
};

inline std::vector<NaiveSplit> naive_cscv(const BlockMatrix& m) {
  const std::vector<std::uint64_t> masks = cscv_split_masks(m.blocks);
  const std::uint64_t all = (std::uint64_t{1} << m.blocks) - 1;
  std::vector<NaiveSplit> out(masks.size());
  for (std::size_t j = 0; j < masks.size(); ++j) {
    NaiveSplit& s = out[j];
    std::vector<double> oos(static_cast<std::size_t>(m.rows()));
    for (std::int64_t r = 0; r < m.rows(); ++r) {
      const double is = sharpe_of_blocks(m.row(r), m.returns_per_block, masks[j]);
      oos[static_cast<std::size_t>(r)] =
          sharpe_of_blocks(m.row(r), m.returns_per_block, all & ~masks[j]);
      if (s.chosen < 0 || is > s.is_sharpe) {  // rows in increasing id order: ties keep the first
        s.chosen = m.id(r);
        s.is_sharpe = is;
        s.oos_sharpe = oos[static_cast<std::size_t>(r)];
      }
    }
    for (const double v : oos) {
      s.below += v < s.oos_sharpe ? 1 : 0;
      s.equal += v == s.oos_sharpe ? 1 : 0;
    }
  }
  return out;
}

}  // namespace threadx::robust::testing
