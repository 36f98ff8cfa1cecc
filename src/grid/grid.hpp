// A parsed sweep grid and the pure mapping between combination ids and parameter values.
//
// Combination ids are mixed radix over the strategy's id order (indicator-key parameters most
// significant), values of each parameter ascending. Each indicator-key group is therefore one
// contiguous id range of group_size() ids.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "grid/id_digits.hpp"
#include "strategy/spec.hpp"

namespace threadx {

using ComboId = std::uint64_t;

struct Grid {
  std::string path;         // file it came from ("" when built in code)
  std::string source_text;  // the file's exact text, recorded in results for provenance
  const StrategySpec* strategy = nullptr;
  // values[p] (p in table order, p < param_count()): ascending, distinct; one value (the fixed
  // value or the default) when not swept.
  std::array<std::vector<double>, kMaxParams> values;
  std::array<bool, kMaxParams> swept{};  // listed under [grid]
  std::array<bool, kMaxParams> fixed{};  // listed under [fixed]

  // A grid of `strategy` (the default strategy if null) with every parameter at its default.
  static Grid defaults(const StrategySpec* strategy = nullptr);

  [[nodiscard]] std::size_t param_count() const { return strategy->param_count(); }
  [[nodiscard]] const ParamSpec& param(std::size_t p) const { return strategy->params[p]; }

  [[nodiscard]] ComboId size() const;        // number of combinations
  [[nodiscard]] ComboId group_size() const;  // combinations per indicator-key group
  [[nodiscard]] ComboId group_count() const;

  // Value indices of every parameter (table order) for a combination id.
  [[nodiscard]] ParamIndex indices_of(ComboId id) const;
  // Steps idx from id to id + 1 (an odometer over the id order): indices_of for a run of ids
  // without a division per parameter per id. From the last id, idx wraps to the indices of id 0.
  void advance(ParamIndex& idx) const {
    step(idx, [](std::size_t) {});
  }
  // advance, calling changed(p) for each parameter whose index it changed (the least significant
  // digit, and those a carry reached).
  template <class F>
  void step(ParamIndex& idx, F&& changed) const {
    const std::span<const std::size_t> order = strategy->id_order;
    for (std::size_t k = order.size(); k-- > 0;) {  // least significant digit first
      const std::size_t p = order[k];
      const bool carry = ++idx[p] == values[p].size();
      if (carry) idx[p] = 0;
      changed(p);
      if (!carry) return;
    }
  }
  // Inverse of indices_of.
  [[nodiscard]] ComboId id_of(const ParamIndex& idx) const;
  // The parameter values of a combination id; values_at(indices_of(id)) = values_of(id).
  [[nodiscard]] ParamValues values_of(ComboId id) const;
  [[nodiscard]] ParamValues values_at(const ParamIndex& idx) const;
  // The values of the first combination of key group g: its indicator-key parameters are the
  // group's key (the other parameters are at their first values).
  [[nodiscard]] ParamValues key_of_group(ComboId group) const;
  // The id digits as plain data (grid/id_digits.hpp); `flat` receives every parameter's values
  // end to end and must outlive the result, whose values point into it.
  [[nodiscard]] IdDigits digits(std::vector<double>& flat) const;

  class Odometer;
};

// The values of a run of consecutive ids, kept current as the ids advance: a step changes the
// least significant digit (and the digits a carry reaches) only, so walking a unit costs no
// division and no full decoding per id. values() = grid.values_of(id) at every step.
class Grid::Odometer {
 public:
  Odometer(const Grid& grid, ComboId id)
      : grid_(grid), idx_(grid.indices_of(id)), values_(grid.values_at(idx_)) {}

  [[nodiscard]] const ParamValues& values() const { return values_; }

  // To id + 1 (from the last id: to id 0, as Grid::advance).
  void next() {
    grid_.step(idx_, [this](std::size_t p) { values_[p] = grid_.values[p][idx_[p]]; });
  }

 private:
  const Grid& grid_;
  ParamIndex idx_;
  ParamValues values_;
};

// Parses a grid file (TOML). Errors: InputError "<file>:<line>: key '<key>': <reason>" for
// TOML syntax, unknown key, wrong type, value outside the domain, empty list, step <= 0,
// a range that is empty, duplicate values, a key in both [fixed] and [grid], an unknown strategy,
// a broken cross-parameter rule, and a combination count that overflows 64 bits. A file over
// 1 MiB is refused unparsed.
Grid parse_grid_file(const std::string& path);
Grid parse_grid_text(const std::string& text, const std::string& name);

}  // namespace threadx
