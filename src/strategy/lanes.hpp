// Lane operations used by the bb_atr kernel: select, min, max and uniform-mask "and", for one
// combination (double, bool masks: CPU reference and CUDA threads) and, on the host, for SIMD
// vectors of kLanes combinations (GCC/Clang vector extensions, mapped to AVX-512, AVX2 or SSE2).
// They must be declared before the kernel templates so that the templates find them.
#pragma once

#include <cstddef>

#include "common/hd.hpp"

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
// A per-lane mask combined with a condition that is the same for every lane.
THREADX_HD THREADX_FORCEINLINE bool mask_and(bool m, bool uniform) {
  return m && uniform;
}

#if !defined(__CUDACC__)
#if defined(__AVX512F__)
inline constexpr std::size_t kLanes = 8;
#else
inline constexpr std::size_t kLanes = 4;
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
inline VecM mask_and(VecM m, bool uniform) {
  return uniform ? m : VecM{};
}
#endif

}  // namespace threadx::bb_atr
