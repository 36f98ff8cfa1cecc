#include "robust/cscv_kernel.hpp"

#include <cmath>
#include <limits>

#include "robust/sharpe.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#define THREADX_ROBUST_SSE2 1
#endif

namespace threadx::robust::detail {

#ifdef THREADX_ROBUST_SSE2
namespace {

// The filter, two streams per SSE2 register. It compares g(R) = R*|R|, monotone in R, with
// g(threshold), both scaled by the positive r2_den = n (n s2 - s1^2):
//   g(R) * r2_den ~= s1*|s1| * (n-1),
// below when s1*|s1|*(n-1) < lo * r2_den and above when it is > hi * r2_den, where
// lo = g(threshold) (1 - 1e-9 sign(threshold)) and hi = g(threshold) (1 + 1e-9 sign(threshold)):
// the margin leaves 1e-9 relative room where rounding (of the filter and of R) moves at most
// ~1e-15 once the region is well conditioned. A threshold of 0 gives lo = hi = 0: the sign of s1,
// which is the sign of R there, decides. A disabled filter has lo = -inf and hi = +inf.
constexpr double kMinAbsSum = 1e-50;  // |s1| >= this
constexpr double kMaxSumSq = 1e100;   // s2 <= this
constexpr double kMinAbsThr = 1e-50;  // |threshold| in range (or 0)
constexpr double kMaxAbsThr = 1e50;
constexpr double kMargin = 1e-9;

struct Filter {
  __m128d lo, hi;
};

Filter filter_for(double threshold, bool usable) {
  const double a = std::fabs(threshold);
  const double inf = std::numeric_limits<double>::infinity();
  if (!usable || !(threshold == 0.0 || (a >= kMinAbsThr && a <= kMaxAbsThr)))
    return {_mm_set1_pd(-inf), _mm_set1_pd(inf)};
  const double g = threshold * a;
  const double lo = threshold >= 0 ? g * (1.0 - kMargin) : g * (1.0 + kMargin);
  const double hi = threshold >= 0 ? g * (1.0 + kMargin) : g * (1.0 - kMargin);
  return {_mm_set1_pd(lo), _mm_set1_pd(hi)};
}

// Lanes where the filter applies (well conditioned), and the scaled g(R).
struct Scaled {
  __m128d ok, g, den;
};

inline Scaled scale(__m128d s1, __m128d s2, __m128d n, __m128d n_minus_1) {
  const __m128d sq = _mm_mul_pd(s1, s1);
  const __m128d ns2 = _mm_mul_pd(n, s2);
  const __m128d abs_s1 = _mm_andnot_pd(_mm_set1_pd(-0.0), s1);
  __m128d ok = _mm_cmple_pd(sq, _mm_mul_pd(_mm_set1_pd(0.5), ns2));
  ok = _mm_and_pd(ok, _mm_cmpge_pd(abs_s1, _mm_set1_pd(kMinAbsSum)));
  ok = _mm_and_pd(ok, _mm_cmple_pd(s2, _mm_set1_pd(kMaxSumSq)));
  return {ok, _mm_mul_pd(_mm_mul_pd(s1, abs_s1), n_minus_1), _mm_mul_pd(n, _mm_sub_pd(ns2, sq))};
}

inline __m128d surely_below(const Scaled& x, const Filter& f) {
  return _mm_and_pd(x.ok, _mm_cmplt_pd(x.g, _mm_mul_pd(f.lo, x.den)));
}
inline __m128d surely_above(const Scaled& x, const Filter& f) {
  return _mm_and_pd(x.ok, _mm_cmpgt_pd(x.g, _mm_mul_pd(f.hi, x.den)));
}

inline double lane(__m128d v, int i) {
  return i == 0 ? _mm_cvtsd_f64(v) : _mm_cvtsd_f64(_mm_unpackhi_pd(v, v));
}

}  // namespace
#endif

void add_columns(const double* a, const double* b, std::size_t len, double* out) {
#ifdef THREADX_ROBUST_SSE2
  for (std::size_t t = 0; t < len; t += 2)
    _mm_storeu_pd(out + t, _mm_add_pd(_mm_loadu_pd(a + t), _mm_loadu_pd(b + t)));
#else
  for (std::size_t t = 0; t < len; ++t) out[t] = a[t] + b[t];
#endif
}

void select_leaf(const double* p1, const double* p2, const double* c1, const double* c2,
                 std::size_t len, std::int64_t n, std::int64_t first_index, double& best_value,
                 std::int64_t& best_index) {
#ifdef THREADX_ROBUST_SSE2
  const __m128d vn = _mm_set1_pd(static_cast<double>(n));
  const __m128d vn1 = _mm_set1_pd(static_cast<double>(n - 1));
  const bool usable = n >= 2;  // with n < 2 every R is 0 whatever the sums
  Filter f = filter_for(best_value, usable && best_index >= 0);
  for (std::size_t t = 0; t < len; t += 2) {
    const __m128d s1 = _mm_add_pd(_mm_loadu_pd(p1 + t), _mm_loadu_pd(c1 + t));
    const __m128d s2 = _mm_add_pd(_mm_loadu_pd(p2 + t), _mm_loadu_pd(c2 + t));
    const int lanes = t + 1 < len ? 3 : 1;
    const int below = _mm_movemask_pd(surely_below(scale(s1, s2, vn, vn1), f)) & lanes;
    if (below == lanes) continue;
    for (int i = 0; i < 2; ++i) {
      if (((lanes >> i) & 1) == 0 || ((below >> i) & 1) != 0) continue;
      const double r = sharpe_from_sums(lane(s1, i), lane(s2, i), n);
      if (best_index < 0 || r > best_value) {
        best_value = r;
        best_index = first_index + static_cast<std::int64_t>(t) + i;
        f = filter_for(best_value, usable);
      }
    }
  }
#else
  for (std::size_t t = 0; t < len; ++t) {
    const double r = sharpe_from_sums(p1[t] + c1[t], p2[t] + c2[t], n);
    if (best_index < 0 || r > best_value) {
      best_value = r;
      best_index = first_index + static_cast<std::int64_t>(t);
    }
  }
#endif
}

void rank_leaf(const double* p1, const double* p2, const double* c1, const double* c2,
               const std::int64_t* mult, std::size_t len, std::int64_t n, double threshold,
               std::int64_t& below, std::int64_t& equal) {
#ifdef THREADX_ROBUST_SSE2
  const __m128d vn = _mm_set1_pd(static_cast<double>(n));
  const __m128d vn1 = _mm_set1_pd(static_cast<double>(n - 1));
  const Filter f = filter_for(threshold, n >= 2);
  __m128i acc = _mm_setzero_si128();
  std::int64_t exact_below = 0, exact_equal = 0;
  for (std::size_t t = 0; t < len; t += 2) {  // padding streams: multiplicity 0
    const __m128d s1 = _mm_add_pd(_mm_loadu_pd(p1 + t), _mm_loadu_pd(c1 + t));
    const __m128d s2 = _mm_add_pd(_mm_loadu_pd(p2 + t), _mm_loadu_pd(c2 + t));
    const Scaled x = scale(s1, s2, vn, vn1);
    const __m128d below_mask = surely_below(x, f);
    if (_mm_movemask_pd(_mm_or_pd(below_mask, surely_above(x, f))) == 3) {
      const __m128i m = _mm_loadu_si128(reinterpret_cast<const __m128i*>(mult + t));
      acc = _mm_add_epi64(acc, _mm_and_si128(_mm_castpd_si128(below_mask), m));
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      const double r = sharpe_from_sums(lane(s1, i), lane(s2, i), n);
      if (r < threshold) exact_below += mult[t + static_cast<std::size_t>(i)];
      if (r == threshold) exact_equal += mult[t + static_cast<std::size_t>(i)];
    }
  }
  alignas(16) std::int64_t sums[2];
  _mm_store_si128(reinterpret_cast<__m128i*>(sums), acc);
  below += sums[0] + sums[1] + exact_below;
  equal += exact_equal;
#else
  for (std::size_t t = 0; t < len; ++t) {
    const double r = sharpe_from_sums(p1[t] + c1[t], p2[t] + c2[t], n);
    if (r < threshold) below += mult[t];
    if (r == threshold) equal += mult[t];
  }
#endif
}

}  // namespace threadx::robust::detail
