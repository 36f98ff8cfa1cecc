// The layout of every struct that crosses between host and device memory (the kernel's argument,
// the rows and block cells copied back), asserted with literal sizes and offsets; each strategy's
// series view and parameters are asserted the same way by its own layout.hpp, which its
// policy.hpp includes (strategies/all.hpp brings them all here). The host compiler (device.cpp) and
// nvcc (cuda_runtime.cu, in both its host and its device pass) compile this header, so a struct
// laid out differently by one of them fails the build instead of corrupting rows. A deliberate
// change of one of these structs updates the numbers here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "gpu/batch_kernel.hpp"
#include "grid/id_digits.hpp"
#include "strategies/all.hpp"
#include "strategy/block_stats.hpp"
#include "strategy/metrics.hpp"

namespace threadx::gpu::layout {

template <class T>
constexpr bool kCopyable = std::is_trivially_copyable_v<T>&& std::is_standard_layout_v<T>;

static_assert(sizeof(void*) == 8 && sizeof(double) == 8 && sizeof(int) == 4,
              "a 64-bit host and device are assumed");

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

static_assert(kCopyable<IdDigits>);
static_assert(sizeof(IdDigits) == 336 && alignof(IdDigits) == 8);
static_assert(offsetof(IdDigits, count) == 0);
static_assert(offsetof(IdDigits, param) == 4);
static_assert(offsetof(IdDigits, radix) == 72);
static_assert(offsetof(IdDigits, first) == 200);
static_assert(offsetof(IdDigits, values) == 328);

// BatchView<P> holds pointers, scalars and the digits only: one layout for every strategy.
template <class P>
constexpr bool batch_view_laid_out() {
  using B = BatchView<P>;
  return kCopyable<B> && sizeof(B) == 432 && alignof(B) == 8 && offsetof(B, views) == 0 &&
         offsetof(B, piece_end) == 8 && offsetof(B, piece_first) == 16 &&
         offsetof(B, n_pieces) == 24 && offsetof(B, n_combos) == 32 &&
         offsetof(B, bars_per_year) == 40 && offsetof(B, blocks) == 48 &&
         offsetof(B, block_starts) == 56 && offsetof(B, block_out) == 64 &&
         offsetof(B, cand) == 72 && offsetof(B, list_end) == 80 && offsetof(B, list_of) == 88 &&
         offsetof(B, digits) == 96;
}
template <class... P>
constexpr bool batch_views_laid_out(const StrategyList<P...>* /*list*/) {
  return (batch_view_laid_out<P>() && ...);
}
static_assert(batch_views_laid_out(static_cast<const Strategies*>(nullptr)));

}  // namespace threadx::gpu::layout
