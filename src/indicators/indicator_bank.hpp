// IndicatorBank: every indicator series computed once per key and shared read-only by every
// combination (and every thread) that needs it. A band series (mean and population std of one
// window) is keyed by bb_period alone: bb_std is applied on the fly by the kernel.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "data/bars.hpp"
#include "strategies/bb_atr/bb_atr.hpp"

namespace threadx {

class IndicatorBank {
 public:
  explicit IndicatorBank(const BarSeries& bars);

  // The series one indicator-key group reads; builds what is missing (thread-safe). The view's
  // pointers stay valid as long as the bank lives.
  bb_atr::SeriesView group_view(int bb_period, int atr_period, int trend_period);

  struct Stats {
    std::int64_t built = 0;      // series computed (a band counts once: mean + std together)
    std::int64_t requested = 0;  // series asked for, one per series per group_view call
    std::int64_t band_built = 0, atr_built = 0, ema_built = 0;
  };
  [[nodiscard]] Stats stats() const;

  [[nodiscard]] const BarSeries& bars() const { return bars_; }

  // Unique per bank within the process (never reused, unlike an address): a device-side copy of
  // the bank's series is keyed by it.
  [[nodiscard]] std::uint64_t generation() const { return generation_; }

 private:
  struct Band {
    std::vector<double> mid, sd;
  };
  // Each entry is built under its own once-flag so two threads never build the same series and
  // threads needing different series do not wait for each other.
  template <class T>
  struct Slot {
    std::once_flag once;
    T value;
  };
  template <class T>
  Slot<T>& slot(std::map<int, std::unique_ptr<Slot<T>>>& table, int key);

  const BarSeries& bars_;
  const std::uint64_t generation_;
  std::vector<double> true_range_;
  mutable std::mutex mutex_;
  std::map<int, std::unique_ptr<Slot<Band>>> bands_;
  std::map<int, std::unique_ptr<Slot<std::vector<double>>>> atrs_;
  std::map<int, std::unique_ptr<Slot<std::vector<double>>>> emas_;
  Stats stats_;
};

}  // namespace threadx
