// IndicatorBank (see indicator_bank.hpp).
#include "indicators/indicator_bank.hpp"

#include <atomic>
#include <stdexcept>
#include <string>

#include "indicators/indicators.hpp"

namespace threadx {

namespace {
std::atomic<std::uint64_t> bank_generations{0};
}  // namespace

IndicatorBank::IndicatorBank(const BarSeries& bars)
    : bars_(bars),
      generation_(++bank_generations),
      true_range_(true_range(bars.high, bars.low, bars.close)) {}

IndicatorBank::Slot& IndicatorBank::slot(Indicator kind, int window, bool requested) {
  std::lock_guard lock(mutex_);
  if (requested) ++stats_.requested;
  auto& entry = slots_[{kind, window}];
  if (!entry) entry = std::make_unique<Slot>();
  return *entry;
}

const double* IndicatorBank::series(Indicator kind, int window) {
  return build(kind, window, true);
}

const double* IndicatorBank::build(Indicator kind, int window, bool requested) {
  if (window < 1)
    throw std::invalid_argument("IndicatorBank: window " + std::to_string(window) + " < 1");
  // The std's mean is the bank's own Sma series of the window (asked for before taking the slot,
  // so that the two once-flags are never held together).
  const double* mean = kind == Indicator::Pstd ? build(Indicator::Sma, window, false) : nullptr;
  Slot& s = slot(kind, window, requested);
  std::call_once(s.once, [&] {
    const std::vector<double>& close = bars_.close;
    switch (kind) {
      case Indicator::Sma:
        s.value = rolling_mean(close, window);
        break;
      case Indicator::Pstd:
        s.value = rolling_pstd(close, std::span<const double>(mean, close.size()), window);
        break;
      case Indicator::Ema:
        s.value = ema(close, window);
        break;
      case Indicator::Atr:
        s.value = atr_wilder(true_range_, window);
        break;
    }
    std::lock_guard lock(mutex_);
    ++stats_.built;
    ++stats_.built_of[static_cast<std::size_t>(kind)];
  });
  return s.value.data();
}

std::string IndicatorBank::Stats::by_kind() const {
  std::string out;
  for (std::size_t k = 0; k < kIndicatorKinds; ++k)
    out +=
        (k == 0 ? "" : ", ") + std::to_string(built_of[k]) + " " + std::string(kIndicatorNames[k]);
  return out;
}

IndicatorBank::Stats IndicatorBank::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace threadx
