// One combination re-run bar by bar for `threadx report`: its equity at every bar, the price
// overlays its strategy draws (bb_atr: the bands at its bb_std; ma_cross: its two lines) and its
// trades. Filled by the strategy's driver (CpuDriver::trace, engine/cpu_driver.hpp) from the
// strategy's own kernel steps, so the trades are the ones behind the row and the metrics equal the
// row's bit for bit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "strategy/metrics.hpp"

namespace threadx {

struct Trade {
  std::int64_t entry_bar = 0, exit_bar = 0;
  int side = 0;            // +1 long, -1 short
  double entry_price = 0;  // fill price (slippage included)
  double exit_close =
      0;           // close of the exit bar (the fill is this with slippage against the trade)
  double pnl = 0;  // after fees
};

struct Overlay {
  std::string name;           // e.g. "upper band"
  std::vector<double> value;  // one per bar; NaN where the indicator is not defined yet
};

struct Trace {
  Metrics metrics;
  std::vector<double> equity;  // at every bar's close
  std::vector<Overlay> overlays;
  std::vector<Trade> trades;
};

}  // namespace threadx
