// bb_atr's SIMD block kernel: CMake compiles this file once per instruction-set path
// (engine/lanes/lane_block.hpp).
#include "engine/lanes/lane_block.hpp"
#include "strategies/bb_atr/policy.hpp"

THREADX_LANE_KERNEL(threadx::bb_atr::Policy);
