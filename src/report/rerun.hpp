// The best combination re-run bar by bar for the report's price chart: its equity at every bar,
// the price overlays its strategy draws (bb_atr: the Bollinger bands at its bb_std) and its trades.
// The only strategy-specific part of `threadx report`: it drives the strategy's own kernel steps
// (strategies/bb_atr/bb_atr.hpp: init, step, finish, observe, the functions the sweep runs), so the
// trades are the ones behind the row, and its metrics equal the row's bit for bit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "grid/grid.hpp"
#include "indicators/indicator_bank.hpp"
#include "strategy/metrics.hpp"

namespace threadx::report {

struct Trade {
  std::int64_t entry_bar = 0, exit_bar = 0;
  int side = 0;            // +1 long, -1 short
  double entry_price = 0;  // fill price (slippage included)
  double exit_close = 0;   // close of the exit bar (the fill is this less slippage)
  double pnl = 0;          // after fees
};

struct Overlay {
  std::string name;           // e.g. "upper band"
  std::vector<double> value;  // one per bar; NaN where the indicator is not defined yet
};

struct Rerun {
  Metrics metrics;
  std::vector<double> equity;  // at every bar's close
  std::vector<Overlay> overlays;
  std::vector<Trade> trades;
};

// InputError when id is outside the grid.
Rerun rerun_combination(const Grid& grid, IndicatorBank& bank, ComboId id);

}  // namespace threadx::report
