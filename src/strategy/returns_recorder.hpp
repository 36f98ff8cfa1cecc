// Every return of one run, recorded during a kernel's bar loop: the protocol of BlockRecorder
// (strategy/block_recorder.hpp: at_bar before bar i, add for that bar's return, finish after the
// loop), but keeping r[i] itself instead of per-block sums. Strategy-agnostic; used to recompute
// a selected combination's return series for the Deflated Sharpe Ratio (engine/replay.hpp).
//
// A bar whose equity does not change gets no add() call (account::observe skips it, because its
// return E/E - 1 is exactly +0), so every entry not added keeps its initial +0: the series is the
// one the run's metrics and block sums were accumulated from, bit for bit.
#pragma once

#include <cstdint>
#include <vector>

namespace threadx {

class ReturnsRecorder {
 public:
  // A run over `bars` bars: returns r[1..bars-1], all +0 until added.
  explicit ReturnsRecorder(std::int64_t bars)
      : returns_(static_cast<std::size_t>(bars > 1 ? bars - 1 : 0), 0.0) {}

  void at_bar(std::int64_t i, double /*equity*/, double /*trades*/) { bar_ = i; }
  // The return of the bar given to the last at_bar (bar >= 1: bar 0 has none).
  void add(double r) { returns_[static_cast<std::size_t>(bar_ - 1)] = r; }
  void finish(double /*equity*/, double /*trades*/) {}

  // r[1..T] at indices 0..T-1.
  [[nodiscard]] const std::vector<double>& returns() const { return returns_; }
  [[nodiscard]] std::vector<double> take() && { return std::move(returns_); }

 private:
  std::vector<double> returns_;
  std::int64_t bar_ = 0;
};

}  // namespace threadx
