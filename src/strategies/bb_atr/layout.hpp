// The layout of bb_atr's structs that a GPU batch copies to the device (its series view and its
// parameters), asserted with literal sizes and offsets. Compiled by the host compiler and by both
// of nvcc's passes (through policy.hpp), so a struct laid out differently by one of them fails the
// build instead of corrupting rows; a deliberate change of a struct updates the numbers here.
#pragma once

#include <cstddef>
#include <type_traits>

#include "strategies/bb_atr/bb_atr.hpp"

namespace threadx::bb_atr::layout {

static_assert(std::is_trivially_copyable_v<SeriesView> && std::is_standard_layout_v<SeriesView>);
static_assert(sizeof(SeriesView) == 56 && alignof(SeriesView) == 8);
static_assert(offsetof(SeriesView, close) == 0);
static_assert(offsetof(SeriesView, mid) == 8);
static_assert(offsetof(SeriesView, sd) == 16);
static_assert(offsetof(SeriesView, atr) == 24);
static_assert(offsetof(SeriesView, ema) == 32);
static_assert(offsetof(SeriesView, n_bars) == 40);
static_assert(offsetof(SeriesView, warmup) == 48);

static_assert(std::is_trivially_copyable_v<Params> && std::is_standard_layout_v<Params>);
static_assert(sizeof(Params) == 88 && alignof(Params) == 8);
static_assert(offsetof(Params, bb_period) == 0);
static_assert(offsetof(Params, bb_std) == 8);
static_assert(offsetof(Params, atr_period) == 16);
static_assert(offsetof(Params, atr_multiplier) == 24);
static_assert(offsetof(Params, max_hold_bars) == 32);
static_assert(offsetof(Params, spacing_bars) == 36);
static_assert(offsetof(Params, trend_period) == 40);
static_assert(offsetof(Params, trailing_stop) == 44);
static_assert(offsetof(Params, risk_per_trade) == 48);
static_assert(offsetof(Params, leverage) == 56);
static_assert(offsetof(Params, fee_bps) == 64);
static_assert(offsetof(Params, slippage_bps) == 72);
static_assert(offsetof(Params, initial_capital) == 80);

}  // namespace threadx::bb_atr::layout
