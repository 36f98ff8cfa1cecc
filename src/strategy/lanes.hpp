// Lane operations used by the bb_atr kernel: select, min, max and uniform-mask "and", for one
// combination (double, bool masks: CPU reference and CUDA threads) and, on the host, for SIMD
// vectors of kLanes combinations (GCC/Clang vector extensions, mapped to AVX-512, AVX2 or SSE2).
// They must be declared before the kernel templates so that the templates find them.
#pragma once

#include <cstddef>

#include "common/hd.hpp"

#if !defined(__CUDACC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#endif

namespace threadx::bb_atr {

THREADX_HD THREADX_FORCEINLINE double select(bool m, double a, double b) {
  return m ? a : b;
}
THREADX_HD THREADX_FORCEINLINE double lane_min(double a, double b) {
  return b < a ? b : a;
}
THREADX_HD THREADX_FORCEINLINE double lane_max(double a, double b) {
  return a < b ? b : a;
}
// True when the mask is set in any lane: lets the kernel skip work that would change no lane.
THREADX_HD THREADX_FORCEINLINE bool any(bool m) {
  return m;
}

// A per-lane mask combined with a condition that is the same for every lane.
THREADX_HD THREADX_FORCEINLINE bool mask_and(bool m, bool uniform) {
  return m && uniform;
}

#if !defined(__CUDACC__)
// One native vector register of doubles (a wider GCC vector would be split into several, and
// passing it would change the ABI).
#if defined(__AVX512F__)
inline constexpr std::size_t kLanes = 8;
#elif defined(__AVX__)
inline constexpr std::size_t kLanes = 4;
#else
inline constexpr std::size_t kLanes = 2;
#endif
using VecD = double __attribute__((vector_size(kLanes * sizeof(double))));
using VecM = long __attribute__((vector_size(kLanes * sizeof(double))));

inline VecD select(VecM m, VecD a, VecD b) {
  return m ? a : b;
}
inline VecD lane_min(VecD a, VecD b) {
  return b < a ? b : a;
}
inline VecD lane_max(VecD a, VecD b) {
  return a < b ? b : a;
}
inline bool any(VecM m) {
#if defined(__AVX512F__) && defined(__x86_64__)
  return _mm512_test_epi64_mask(reinterpret_cast<__m512i>(m), reinterpret_cast<__m512i>(m)) != 0;
#elif defined(__AVX__) && defined(__x86_64__)
  return _mm256_testz_si256(reinterpret_cast<__m256i>(m), reinterpret_cast<__m256i>(m)) == 0;
#else
  long acc = 0;
  for (std::size_t j = 0; j < kLanes; ++j) acc |= m[j];
  return acc != 0;
#endif
}
inline VecM mask_and(VecM m, bool uniform) {
  return uniform ? m : VecM{};
}
#endif

}  // namespace threadx::bb_atr
