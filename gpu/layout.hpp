// The layout of every struct that crosses between host and device memory (the kernel's argument,
// the arrays copied to the device, the rows and block cells copied back), asserted with literal
// sizes and offsets. The host compiler (device.cpp) and nvcc (cuda_runtime.cu, in both its host
// and its device pass) compile this header, so a struct laid out differently by one of them
// fails the build instead of corrupting rows. A deliberate change of one of these structs
// updates the numbers here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "gpu/batch_kernel.hpp"
#include "strategies/bb_atr/bb_atr.hpp"
#include "strategy/block_stats.hpp"
#include "strategy/metrics.hpp"

namespace threadx::gpu::layout {

template <class T>
constexpr bool kCopyable = std::is_trivially_copyable_v<T>&& std::is_standard_layout_v<T>;

static_assert(sizeof(void*) == 8 && sizeof(double) == 8 && sizeof(int) == 4,
              "a 64-bit host and device are assumed");

static_assert(kCopyable<bb_atr::SeriesView>);
static_assert(sizeof(bb_atr::SeriesView) == 56 && alignof(bb_atr::SeriesView) == 8);
static_assert(offsetof(bb_atr::SeriesView, close) == 0);
static_assert(offsetof(bb_atr::SeriesView, mid) == 8);
static_assert(offsetof(bb_atr::SeriesView, sd) == 16);
static_assert(offsetof(bb_atr::SeriesView, atr) == 24);
static_assert(offsetof(bb_atr::SeriesView, ema) == 32);
static_assert(offsetof(bb_atr::SeriesView, n_bars) == 40);
static_assert(offsetof(bb_atr::SeriesView, warmup) == 48);

static_assert(kCopyable<bb_atr::Params>);
static_assert(sizeof(bb_atr::Params) == 88 && alignof(bb_atr::Params) == 8);
static_assert(offsetof(bb_atr::Params, bb_period) == 0);
static_assert(offsetof(bb_atr::Params, bb_std) == 8);
static_assert(offsetof(bb_atr::Params, atr_period) == 16);
static_assert(offsetof(bb_atr::Params, atr_multiplier) == 24);
static_assert(offsetof(bb_atr::Params, max_hold_bars) == 32);
static_assert(offsetof(bb_atr::Params, spacing_bars) == 36);
static_assert(offsetof(bb_atr::Params, trend_period) == 40);
static_assert(offsetof(bb_atr::Params, trailing_stop) == 44);
static_assert(offsetof(bb_atr::Params, risk_per_trade) == 48);
static_assert(offsetof(bb_atr::Params, leverage) == 56);
static_assert(offsetof(bb_atr::Params, fee_bps) == 64);
static_assert(offsetof(bb_atr::Params, slippage_bps) == 72);
static_assert(offsetof(bb_atr::Params, initial_capital) == 80);

static_assert(kCopyable<Metrics>);
static_assert(sizeof(Metrics) == 88 && alignof(Metrics) == 8);
static_assert(offsetof(Metrics, total_return) == 0);
static_assert(offsetof(Metrics, sharpe) == 8);
static_assert(offsetof(Metrics, sortino) == 16);
static_assert(offsetof(Metrics, max_drawdown) == 24);
static_assert(offsetof(Metrics, trades) == 32);
static_assert(offsetof(Metrics, win_rate) == 40);
static_assert(offsetof(Metrics, profit_factor) == 48);
static_assert(offsetof(Metrics, expectancy) == 56);
static_assert(offsetof(Metrics, exposure) == 64);
static_assert(offsetof(Metrics, fees) == 72);
static_assert(offsetof(Metrics, final_equity) == 80);

static_assert(kCopyable<BlockStats>);
static_assert(sizeof(BlockStats) == 32 && alignof(BlockStats) == 8);
static_assert(offsetof(BlockStats, sum_r) == 0);
static_assert(offsetof(BlockStats, sum_r2) == 8);
static_assert(offsetof(BlockStats, equity) == 16);
static_assert(offsetof(BlockStats, trades) == 24);

static_assert(kCopyable<BatchView>);
static_assert(sizeof(BatchView) == 72 && alignof(BatchView) == 8);
static_assert(offsetof(BatchView, views) == 0);
static_assert(offsetof(BatchView, piece_end) == 8);
static_assert(offsetof(BatchView, n_pieces) == 16);
static_assert(offsetof(BatchView, params) == 24);
static_assert(offsetof(BatchView, n_combos) == 32);
static_assert(offsetof(BatchView, bars_per_year) == 40);
static_assert(offsetof(BatchView, blocks) == 48);
static_assert(offsetof(BatchView, block_starts) == 56);
static_assert(offsetof(BatchView, block_out) == 64);

}  // namespace threadx::gpu::layout
