// IndicatorBank: every indicator series computed once per (kind, window) and shared read-only by
// every combination (and every thread) that needs it. A strategy's policy asks for the series of
// one key group (strategies/<name>/policy.hpp, series()); the bank knows no strategy.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "data/bars.hpp"
#include "strategy/indicator.hpp"

namespace threadx {

class IndicatorBank {
 public:
  explicit IndicatorBank(const BarSeries& bars);

  // The series of `kind` over `window` (>= 1), n_bars() values, NaN where it is not defined yet;
  // built on first use (thread-safe). The pointer stays valid as long as the bank lives.
  const double* series(Indicator kind, int window);
  [[nodiscard]] const double* close() const { return bars_.close.data(); }
  [[nodiscard]] std::int64_t n_bars() const { return static_cast<std::int64_t>(bars_.size()); }

  struct Stats {
    std::int64_t built = 0;                                // series computed
    std::int64_t requested = 0;                            // series asked for (series() calls)
    std::array<std::int64_t, kIndicatorKinds> built_of{};  // built, by Indicator

    // "4 SMA, 4 std, 0 EMA, 3 ATR": built_of for logs.
    [[nodiscard]] std::string by_kind() const;
  };
  [[nodiscard]] Stats stats() const;

  [[nodiscard]] const BarSeries& bars() const { return bars_; }

  // Unique per bank within the process (never reused, unlike an address): a device-side copy of
  // the bank's series is keyed by it.
  [[nodiscard]] std::uint64_t generation() const { return generation_; }

 private:
  // Each entry is built under its own once-flag so two threads never build the same series and
  // threads needing different series do not wait for each other.
  struct Slot {
    std::once_flag once;
    std::vector<double> value;
  };
  // requested: counted in Stats::requested (a series the bank needs for another one is not).
  Slot& slot(Indicator kind, int window, bool requested);
  const double* build(Indicator kind, int window, bool requested);

  const BarSeries& bars_;
  const std::uint64_t generation_;
  std::vector<double> true_range_;
  mutable std::mutex mutex_;
  std::map<std::pair<Indicator, int>, std::unique_ptr<Slot>> slots_;
  Stats stats_;
};

}  // namespace threadx
