// The indicator series a strategy can ask the engine for (docs/STRATEGY.md section 4,
// docs/strategies/ma_cross.md section 3). Each is a function of the bar series and one window, so
// the engine computes each (kind, window) once and shares it read-only (indicators/indicator_bank).
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace threadx {

enum class Indicator : std::size_t {
  Sma,   // rolling mean of the closes over the window
  Pstd,  // population standard deviation of the closes over the window, around the Sma
  Ema,   // exponential moving average seeded with the Sma of the first window closes
  Atr,   // Wilder's average true range
};
inline constexpr std::size_t kIndicatorKinds = 4;
inline constexpr std::array<std::string_view, kIndicatorKinds> kIndicatorNames{"SMA", "std", "EMA",
                                                                               "ATR"};

}  // namespace threadx
