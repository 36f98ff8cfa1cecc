// CSCV and the probability of backtest overfitting (docs/ROBUST.md, "CSCV and PBO").
//
// Two passes over the distinct streams of any range of rows, each with a partial result that
// merges exactly, so rows can be split across threads and ranks (each part deduplicated on its
// own) and reduced in any grouping with bit-identical output:
//   1. cscv_select: per split, the candidate with the largest in-sample R (ties: smallest id),
//      with its R and out-of-sample R'. Merge: larger R, then smaller id.
//   2. cscv_rank, given the merged selection: per split, how many candidates have
//      R' < R'_n* and R' == R'_n* (multiplicity-weighted integer counts). Merge: add.
// cscv_result turns the two merged partials into lambda, PBO and the regression line.
#pragma once

#include <cstdint>
#include <vector>

#include "robust/block_matrix.hpp"
#include "robust/streams.hpp"

namespace threadx::robust {

struct CscvPick {
  double is_sharpe = 0;                  // R_n* (SR over J)
  double oos_sharpe = 0;                 // R'_n* (SR over the complement J')
  std::int64_t chosen = kNoCombination;  // n*, -1 until a candidate is seen
};

struct CscvSelection {
  int blocks = 0;
  std::int64_t candidates = 0;   // rows covered (multiplicities included)
  std::vector<CscvPick> splits;  // C entries, split order
};

struct CscvRanks {
  int blocks = 0;
  std::int64_t candidates = 0;
  std::vector<std::int64_t> below;  // L per split: candidates with R' < R'_n*
  std::vector<std::int64_t> equal;  // Q per split: candidates with R' == R'_n* (n* included)
};

struct CscvSplit {
  double lambda = 0;  // ln(w / (1 - w))
  std::int64_t chosen = kNoCombination;
  double is_sharpe = 0;
  double oos_sharpe = 0;
};

struct CscvResult {
  int blocks = 0;
  std::int64_t splits = 0;      // C
  std::int64_t candidates = 0;  // N_c
  double pbo = 0;               // splits with lambda <= 0, over C
  double prob_oos_loss = 0;     // splits with R'_n* < 0, over C
  double slope = 0;             // least squares R'_n* = intercept + slope * R_n*
  double intercept = 0;         // (both NaN when every R_n* is the same)
  std::vector<CscvSplit> per_split;
};

// Pass 1 over one set of distinct streams. `threads` (0: all cores) never changes the result.
// InputError for an odd S or S > kMaxCscvBlocks.
CscvSelection cscv_select(const StreamSet& streams, unsigned threads = 1);
void merge_into(CscvSelection& into, const CscvSelection& from);

// Pass 2, against the selection merged over all rows.
CscvRanks cscv_rank(const StreamSet& streams, const CscvSelection& selection, unsigned threads = 1);
void merge_into(CscvRanks& into, const CscvRanks& from);

// From the partials merged over all rows. InputError when there is no candidate or the two
// partials do not cover the same rows.
CscvResult cscv_result(const CscvSelection& selection, const CscvRanks& ranks);

// Both passes over one set (all rows in one process).
CscvResult cscv(const StreamSet& streams, unsigned threads = 1);

}  // namespace threadx::robust
