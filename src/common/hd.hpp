// THREADX_HD marks code that must compile unchanged for the host and for CUDA devices: the
// per-combination backtest is written once and called by the CPU driver and the CUDA kernel.
#pragma once

#if defined(__CUDACC__)
#define THREADX_HD __host__ __device__
#define THREADX_FORCEINLINE __forceinline__
#else
#define THREADX_HD
#define THREADX_FORCEINLINE inline __attribute__((always_inline))
#endif
