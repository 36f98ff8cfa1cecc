// Lane operations of the strategy kernels (strategies/bb_atr/bb_atr.hpp, strategies/*/, the shared
// bookkeeping of strategy/account.hpp): select, min, max and uniform-mask "and", for one
// combination (double, bool masks: CPU reference and CUDA threads) and, on the host, for SIMD
// vectors of kLanes combinations (GCC/Clang vector extensions, mapped to AVX-512, AVX2 or SSE2).
// They must be declared before the kernel templates so that the templates find them (vector
// types have no namespace for argument-dependent lookup).
#pragma once

#include <cstddef>

#include "common/hd.hpp"

#if defined(THREADX_LANES) && !defined(__CUDACC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#endif

namespace threadx {

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

#if defined(THREADX_LANES) && !defined(__CUDACC__)
// The vector of one instruction-set path: THREADX_LANES doubles in one native register (a wider
// GCC vector would be split into several). Defined only in the per-path kernel objects
// (src/strategies/<name>/lanes.cpp, engine/lanes/lane_block.hpp); everything here is inlined
// into them.
static constexpr std::size_t kLanes = THREADX_LANES;  // per object: internal linkage
static_assert(kLanes == 2 || kLanes == 4 || kLanes == 8, "THREADX_LANES must be 2, 4 or 8");
using VecD = double __attribute__((vector_size(kLanes * sizeof(double))));
// The type a comparison of two VecD gives (a vector of 64-bit integers: long with GCC, long long
// with Clang), so that masks from comparisons and from mask_and are one type.
using VecM = decltype(VecD{} < VecD{});

THREADX_FORCEINLINE VecD select(VecM m, VecD a, VecD b) {
  return m ? a : b;
}
THREADX_FORCEINLINE VecD lane_min(VecD a, VecD b) {
  return b < a ? b : a;
}
THREADX_FORCEINLINE VecD lane_max(VecD a, VecD b) {
  return a < b ? b : a;
}
// Mask lanes are all ones (true) or all zeros (false).
THREADX_FORCEINLINE bool any(VecM m) {
#if THREADX_LANES == 8 && defined(__AVX512F__)
  return _mm512_test_epi64_mask(reinterpret_cast<__m512i>(m), reinterpret_cast<__m512i>(m)) != 0;
#elif THREADX_LANES == 4 && defined(__AVX__)
  return _mm256_testz_si256(reinterpret_cast<__m256i>(m), reinterpret_cast<__m256i>(m)) == 0;
#elif THREADX_LANES == 2 && defined(__SSE2__)
  return _mm_movemask_pd(reinterpret_cast<__m128d>(m)) != 0;
#else
  long acc = 0;
  for (std::size_t j = 0; j < kLanes; ++j) acc |= m[j];
  return acc != 0;
#endif
}
THREADX_FORCEINLINE VecM mask_and(VecM m, bool uniform) {
  return uniform ? m : VecM{};
}
#endif

}  // namespace threadx
