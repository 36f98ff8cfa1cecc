// The layout of ma_cross's structs that a GPU batch copies to the device (its series view and its
// parameters), asserted with literal sizes and offsets. Compiled by the host compiler and by both
// of nvcc's passes (through policy.hpp), so a struct laid out differently by one of them fails the
// build instead of corrupting rows; a deliberate change of a struct updates the numbers here.
#pragma once

#include <cstddef>
#include <type_traits>

#include "strategies/ma_cross/ma_cross.hpp"

namespace threadx::ma_cross::layout {

static_assert(std::is_trivially_copyable_v<Series> && std::is_standard_layout_v<Series>);
static_assert(sizeof(Series) == 48 && alignof(Series) == 8);
static_assert(offsetof(Series, close) == 0);
static_assert(offsetof(Series, fast) == 8);
static_assert(offsetof(Series, slow) == 16);
static_assert(offsetof(Series, atr) == 24);
static_assert(offsetof(Series, n_bars) == 32);
static_assert(offsetof(Series, warmup) == 40);

static_assert(std::is_trivially_copyable_v<Params> && std::is_standard_layout_v<Params>);
static_assert(sizeof(Params) == 72 && alignof(Params) == 8);
static_assert(offsetof(Params, fast_period) == 0);
static_assert(offsetof(Params, slow_period) == 4);
static_assert(offsetof(Params, ma_type) == 8);
static_assert(offsetof(Params, atr_period) == 12);
static_assert(offsetof(Params, atr_multiplier) == 16);
static_assert(offsetof(Params, max_hold_bars) == 24);
static_assert(offsetof(Params, risk_per_trade) == 32);
static_assert(offsetof(Params, leverage) == 40);
static_assert(offsetof(Params, fee_bps) == 48);
static_assert(offsetof(Params, slippage_bps) == 56);
static_assert(offsetof(Params, initial_capital) == 64);

}  // namespace threadx::ma_cross::layout
