// Reads the robustness file of `threadx robust` (docs/ROBUST.md) for the report. Every part is
// optional:
//   /cscv                 group; attributes S, splits, candidates, pbo, prob_oos_loss, slope,
//                         intercept; /cscv/splits a table {lambda, chosen, is_sharpe, oos_sharpe}
//   /dsr                  a table {combo_id, sharpe, skewness, kurtosis, trials, var_sharpe, sr0,
//                         dsr, psr0}
//   /walk_forward         group; attributes window, mode, min_trades, oos_sharpe,
//                         oos_total_return, oos_trades, wf_efficiency; /walk_forward/folds a table
//                         {fold, is_first_block, is_last_block, chosen, is_sharpe, oos_sharpe,
//                         oos_growth, oos_trades}
// Tables are HDF5 compound datasets; every numeric field is read as double, by name, so fields
// may be added or reordered without breaking the report.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace threadx::report {

struct Table {
  std::vector<std::string> fields;           // in the file's order
  std::vector<std::vector<double>> columns;  // columns[f][row]
  std::size_t rows = 0;
  // The column named `name`, or null.
  [[nodiscard]] const std::vector<double>* column(const std::string& name) const;
};

struct RobustPart {
  bool present = false;
  std::vector<std::pair<std::string, std::string>> attributes;  // as text, in name order
  std::map<std::string, double> numbers;                        // the numeric scalar ones
  Table table;
  [[nodiscard]] std::optional<double> number(const std::string& name) const;
};

struct RobustFile {
  std::string path;
  std::vector<std::pair<std::string, std::string>> attributes;  // the file's own
  RobustPart cscv, dsr, walk_forward;
};

// InputError "<path>: no such file", "<path>: not an HDF5 file", "<path>: no /cscv, /dsr or
// /walk_forward: not a threadx robustness file".
RobustFile read_robust_file(const std::string& path);

}  // namespace threadx::report
