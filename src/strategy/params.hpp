// Parameters of one bb_atr combination, as the per-combination kernel consumes them.
#pragma once

namespace threadx {

struct StrategyParams {
  int bb_period = 20;
  double bb_std = 2.0;
  int atr_period = 14;
  double atr_multiplier = 1.5;
  int max_hold_bars = 72;
  int spacing_bars = 6;
  int trend_period = 0;
  int trailing_stop = 1;
  double risk_per_trade = 0.01;
  double leverage = 1.0;
  double fee_bps = 4.5;
  double slippage_bps = 0.0;
  double initial_capital = 10000.0;
};

}  // namespace threadx
