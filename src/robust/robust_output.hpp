// Writes the robustness file of `threadx robust` (docs/ROBUST.md, "The robustness file"; read
// back by report/robust_file.hpp):
//   /cscv                group (with --cscv); attributes S, splits, candidates, pbo, prob_oos_loss,
//                        slope, intercept; /cscv/splits {lambda, chosen, is_sharpe, oos_sharpe}
//   /dsr                 {combo_id, sharpe, skewness, kurtosis, trials, var_sharpe, sr0, dsr, psr0}
//   /walk_forward        group (with --wf-window); attributes window, mode, min_trades,
//                        oos_sharpe, oos_total_return, oos_trades, wf_efficiency;
//                        /walk_forward/folds {fold, is_first_block, is_last_block, chosen,
//                        is_sharpe, oos_sharpe, oos_growth, oos_trades}
// Tables are 1-D compound datasets; ids, counts, block numbers and trades are int64, every other
// number a double, `mode` a fixed-length string. The datasets and the group attributes depend
// only on the results (bit-identical for any rank or thread count); the file's own attributes
// carry the provenance.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "results/results_file.hpp"
#include "robust/cscv.hpp"
#include "robust/dsr.hpp"
#include "robust/walk_forward.hpp"

namespace threadx::robust {

struct RobustOutput {
  std::optional<CscvResult> cscv;
  std::vector<DsrRow> dsr;
  std::optional<WalkForwardResult> walk_forward;
};

// Creates `path` (replacing any file there) and writes everything; OutputError on failure (the
// caller removes the file).
void write_robust_file(const std::string& path, const RobustOutput& out,
                       const std::vector<Attribute>& file_attributes);

}  // namespace threadx::robust
