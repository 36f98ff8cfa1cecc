// The SIMD block kernel, compiled once per instruction-set path (lane_kernel.cpp, built by CMake
// with THREADX_LANES and that path's -m flags). A block is `lanes` combinations of one key group
// run in lock-step over the bars; the caller (engine/cpu_backtest.cpp, baseline flags) chooses the
// combinations, lists the entry candidates and turns the final states into metrics.
//
// The kernel objects export their entry point and nothing else (tests/check_lane_objects.sh):
// every function they use is inlined, so no code compiled for AVX2 or AVX-512 can be picked by
// the linker for a caller on the baseline path.
#pragma once

#include <cstdint>

#include "strategies/bb_atr/bb_atr.hpp"
#include "strategy/block_stats.hpp"

namespace threadx::lanes {

// Runs params[0..L) from bb_atr::init through the bars of view (bb_atr::run_bars with the sorted
// entry candidates [cand, cand_end)) and stores each lane's final state in out[0..L); with
// blocks enabled, also lane j's per-block statistics in blocks.cells[j * S .. (j + 1) * S).
using BlockKernel = void (*)(const bb_atr::SeriesView& view,
                             const bb_atr::LaneParams<double>* params, const std::int32_t* cand,
                             const std::int32_t* cand_end, const BlockOutput& blocks,
                             bb_atr::State<double>* out);

// Defined by the per-path objects; x86-64 builds have all three, others only the baseline.
void run_block_baseline(const bb_atr::SeriesView&, const bb_atr::LaneParams<double>*,
                        const std::int32_t*, const std::int32_t*, const BlockOutput&,
                        bb_atr::State<double>*);
void run_block_avx2(const bb_atr::SeriesView&, const bb_atr::LaneParams<double>*,
                    const std::int32_t*, const std::int32_t*, const BlockOutput&,
                    bb_atr::State<double>*);
void run_block_avx512(const bb_atr::SeriesView&, const bb_atr::LaneParams<double>*,
                      const std::int32_t*, const std::int32_t*, const BlockOutput&,
                      bb_atr::State<double>*);

}  // namespace threadx::lanes
