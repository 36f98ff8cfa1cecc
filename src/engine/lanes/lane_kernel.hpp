// The SIMD block kernel of a strategy, compiled once per instruction-set path: each strategy's
// src/strategies/<name>/lanes.cpp instantiates run_block_<path><Policy> (engine/lanes/
// lane_block.hpp), and CMake compiles that file once per path with THREADX_LANES and the path's
// -m flags. A block is `lanes` combinations of one key group run in lock-step over the bars; the
// caller (engine/cpu_driver.hpp, baseline flags) chooses the combinations, lists the entry
// candidates and turns the final states into metrics.
//
// The kernel objects export their entry points and nothing else (tests/check_lane_objects.sh):
// every function they use is inlined, so no code compiled for AVX2 or AVX-512 can be picked by
// the linker for a caller on the baseline path.
#pragma once

#include <cstdint>

#include "strategy/block_stats.hpp"

namespace threadx::lanes {

// Runs params[0..L) from P::init through the bars of view (P::run_bars with the sorted entry
// candidates [cand, cand_end)) and stores each lane's final state in out[0..L); with blocks
// enabled, also lane j's per-block statistics in blocks.cells[j * S .. (j + 1) * S).
template <class P>
using BlockKernel = void (*)(const typename P::Series& view,
                             const typename P::template LaneParams<double>* params,
                             const std::int32_t* cand, const std::int32_t* cand_end,
                             const BlockOutput& blocks, typename P::template State<double>* out);

// Defined by the per-path objects; x86-64 builds have all three, others only the baseline.
template <class P>
void run_block_baseline(const typename P::Series&, const typename P::template LaneParams<double>*,
                        const std::int32_t*, const std::int32_t*, const BlockOutput&,
                        typename P::template State<double>*);
template <class P>
void run_block_avx2(const typename P::Series&, const typename P::template LaneParams<double>*,
                    const std::int32_t*, const std::int32_t*, const BlockOutput&,
                    typename P::template State<double>*);
template <class P>
void run_block_avx512(const typename P::Series&, const typename P::template LaneParams<double>*,
                      const std::int32_t*, const std::int32_t*, const BlockOutput&,
                      typename P::template State<double>*);

}  // namespace threadx::lanes
