// Walk-forward selection (docs/ROBUST.md, "Walk-forward"): for each fold k = W..S-1, choose the
// combination with the best in-sample SR_J over the W blocks before k (rolling) or all blocks
// before k (anchored), among those with enough in-sample trades, and trade it in block k; the
// out-of-sample blocks are stitched into one track record.
//
// walk_forward_select runs over any range of rows and returns, per fold, the range's best
// candidate together with the out-of-sample block data the result needs (so no second pass);
// merge_into keeps the larger in-sample SR, then the smaller id: exact, any grouping of ranges.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "robust/block_matrix.hpp"

namespace threadx::robust {

enum class WalkMode { rolling, anchored };

// "rolling" or "anchored"; InputError otherwise.
WalkMode parse_walk_mode(std::string_view text);
const char* walk_mode_name(WalkMode mode);

struct WalkForwardConfig {
  int window = 0;  // W, 1 <= W < S
  WalkMode mode = WalkMode::rolling;
  std::int64_t min_trades = 1;  // in-sample trades a candidate needs (>= 0)
};

// InputError unless 1 <= W < S and min_trades >= 0.
void validate(const WalkForwardConfig& config, int blocks);

struct FoldPick {
  std::int64_t chosen = kNoCombination;
  double is_sharpe = 0;        // in-sample SR_J of the chosen combination
  BlockStats oos{};            // its block k
  double previous_equity = 0;  // its equity at the end of block k-1 (initial capital for k = 0)
};

struct WalkForwardSelection {
  int blocks = 0;
  WalkForwardConfig config;
  std::vector<std::int64_t> returns_per_block;  // n_b
  std::vector<FoldPick> folds;                  // folds k = W..S-1
};

WalkForwardSelection walk_forward_select(const BlockMatrix& rows, const WalkForwardConfig& config,
                                         unsigned threads = 1);
void merge_into(WalkForwardSelection& into, const WalkForwardSelection& from);

struct WalkForwardFold {
  int fold = 0;            // k, the out-of-sample block
  int is_first_block = 0;  // in-sample blocks is_first_block..is_last_block
  int is_last_block = 0;
  std::int64_t chosen = kNoCombination;  // -1: no candidate, the fold stays flat
  double is_sharpe = 0;                  // NaN when flat
  double oos_sharpe = 0;                 // SR of block k alone (0 when flat)
  double oos_growth = 1;                 // equity_k / equity_{k-1} (1 when flat)
  std::int64_t oos_trades = 0;
};

struct WalkForwardResult {
  WalkForwardConfig config;
  std::vector<WalkForwardFold> folds;
  double oos_sharpe = 0;        // SR of the stitched out-of-sample blocks
  double oos_total_return = 0;  // product of the growths - 1
  std::int64_t oos_trades = 0;
  double wf_efficiency = 0;  // oos_sharpe / mean in-sample SR of the folds that chose (or NaN)
};

// From the selection merged over all rows.
WalkForwardResult walk_forward_result(const WalkForwardSelection& selection);

// Both steps over one range (all rows in one process).
WalkForwardResult walk_forward(const BlockMatrix& rows, const WalkForwardConfig& config,
                               unsigned threads = 1);

}  // namespace threadx::robust
