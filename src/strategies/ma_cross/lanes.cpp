// ma_cross's SIMD block kernel: CMake compiles this file once per instruction-set path
// (engine/lanes/lane_block.hpp).
#include "engine/lanes/lane_block.hpp"
#include "strategies/ma_cross/policy.hpp"

THREADX_LANE_KERNEL(threadx::ma_cross::Policy);
