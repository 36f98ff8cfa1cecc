// IndicatorBank (see indicator_bank.hpp).
#include "indicators/indicator_bank.hpp"

#include <algorithm>
#include <atomic>

#include "indicators/indicators.hpp"

namespace threadx {

namespace {
std::atomic<std::uint64_t> bank_generations{0};
}  // namespace

IndicatorBank::IndicatorBank(const BarSeries& bars)
    : bars_(bars),
      generation_(++bank_generations),
      true_range_(true_range(bars.high, bars.low, bars.close)) {}

template <class T>
IndicatorBank::Slot<T>& IndicatorBank::slot(std::map<int, std::unique_ptr<Slot<T>>>& table,
                                            int key) {
  std::lock_guard lock(mutex_);
  ++stats_.requested;
  auto& entry = table[key];
  if (!entry) entry = std::make_unique<Slot<T>>();
  return *entry;
}

bb_atr::SeriesView IndicatorBank::group_view(int bb_period, int atr_period, int trend_period) {
  auto count = [this](std::int64_t& kind) {
    std::lock_guard lock(mutex_);
    ++stats_.built;
    ++kind;
  };
  Slot<Band>& band = slot(bands_, bb_period);
  std::call_once(band.once, [&] {
    band.value.mid = rolling_mean(bars_.close, bb_period);
    band.value.sd = rolling_pstd(bars_.close, band.value.mid, bb_period);
    count(stats_.band_built);
  });
  Slot<std::vector<double>>& atr = slot(atrs_, atr_period);
  std::call_once(atr.once, [&] {
    atr.value = atr_wilder(true_range_, atr_period);
    count(stats_.atr_built);
  });
  const double* ema_ptr = nullptr;
  if (trend_period > 0) {
    Slot<std::vector<double>>& e = slot(emas_, trend_period);
    std::call_once(e.once, [&] {
      e.value = ema(bars_.close, trend_period);
      count(stats_.ema_built);
    });
    ema_ptr = e.value.data();
  }
  bb_atr::SeriesView v{};
  v.close = bars_.close.data();
  v.mid = band.value.mid.data();
  v.sd = band.value.sd.data();
  v.atr = atr.value.data();
  v.ema = ema_ptr;
  v.n_bars = static_cast<std::int64_t>(bars_.size());
  v.warmup = std::max({bb_period, atr_period, trend_period});
  return v;
}

IndicatorBank::Stats IndicatorBank::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace threadx
