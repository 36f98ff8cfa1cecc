// The inner loops of CSCV over one tile of distinct streams (structure of arrays) for one split:
// the streams' sums over J are parent + column (the walk's partial sums over the first S/2 - 1
// blocks of J plus the last block's column), and each loop needs only where R = SR_J stands
// relative to one threshold (pass 1: the best R so far; pass 2: R'_n*).
//
// Exactness: R itself costs four divisions and a square root. A filter first compares R^2 with
// the threshold^2 by products only (R^2 = s1^2 (n-1) / (n (n s2 - s1^2))), with a relative margin
// of 1e-9, far above the ~1e-15 that rounding can move either side, and only where the
// arithmetic is well conditioned (s1^2 <= n s2 / 2, i.e. |R| below about 1, magnitudes in a safe
// range). A stream the filter cannot place for certain gets sharpe_from_sums, the scalar
// definition, so every R that decides a result has the scalar bits; tests hold the loops against
// plain scalar loops on adversarial values.
#pragma once

#include <cstddef>
#include <cstdint>

namespace threadx::robust::detail {

// out[t] = a[t] + b[t], t < len (len even; the arrays are readable to there).
void add_columns(const double* a, const double* b, std::size_t len, double* out);

// Pass 1 for streams t < len: R_t = sharpe_from_sums(p1[t] + c1[t], p2[t] + c2[t], n). Each R_t
// greater than best_value (or any, while best_index < 0) becomes the best, in increasing t, so
// among equal values the first stays. best_index is set to first_index + t. Arrays readable to
// len rounded up to even.
void select_leaf(const double* p1, const double* p2, const double* c1, const double* c2,
                 std::size_t len, std::int64_t n, std::int64_t first_index, double& best_value,
                 std::int64_t& best_index);

// Pass 2 for streams t < len (padding streams have multiplicity 0): below += mult[t] where
// R_t < threshold, equal += mult[t] where R_t == threshold.
void rank_leaf(const double* p1, const double* p2, const double* c1, const double* c2,
               const std::int64_t* mult, std::size_t len, std::int64_t n, double threshold,
               std::int64_t& below, std::int64_t& equal);

}  // namespace threadx::robust::detail
