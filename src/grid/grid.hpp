// A parsed sweep grid and the pure mapping between combination ids and parameters.
//
// Combination ids are mixed radix over kIdOrder (indicator-key parameters most significant),
// values of each parameter ascending. Each indicator-key group (bb_period, atr_period,
// trend_period) is therefore one contiguous id range of group_size() ids.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "grid/params.hpp"
#include "strategy/params.hpp"

namespace threadx {

using ComboId = std::uint64_t;

struct Grid {
  std::string path;         // file it came from ("" when built in code)
  std::string source_text;  // the file's exact text, recorded in results for provenance
  std::string strategy = "bb_atr";
  // values[p]: ascending, distinct; one value (the fixed value or the default) when not swept.
  std::array<std::vector<double>, kParamCount> values;
  std::array<bool, kParamCount> swept{};  // listed under [grid]
  std::array<bool, kParamCount> fixed{};  // listed under [fixed]

  // A grid with every parameter at its default, nothing swept.
  static Grid defaults();

  [[nodiscard]] ComboId size() const;        // number of combinations
  [[nodiscard]] ComboId group_size() const;  // combinations per indicator-key group
  [[nodiscard]] ComboId group_count() const;

  // Value indices of every parameter (indexed by ParamId) for a combination id.
  [[nodiscard]] std::array<std::uint32_t, kParamCount> indices_of(ComboId id) const;
  // Steps idx from id to id + 1 (an odometer over kIdOrder): indices_of for a run of ids without
  // a division per parameter per id. From the last id, idx wraps to the indices of id 0.
  void advance(std::array<std::uint32_t, kParamCount>& idx) const;
  // Inverse of indices_of.
  [[nodiscard]] ComboId id_of(const std::array<std::uint32_t, kParamCount>& idx) const;
  [[nodiscard]] StrategyParams params_of(ComboId id) const;
  // The parameters at value indices idx (params_of(id) = params_at(indices_of(id))).
  [[nodiscard]] StrategyParams params_at(const std::array<std::uint32_t, kParamCount>& idx) const;

  // The indicator key of group g: values of bb_period, atr_period, trend_period.
  struct Key {
    int bb_period, atr_period, trend_period;
  };
  [[nodiscard]] Key key_of_group(ComboId group) const;
};

// Parses a grid file (TOML). Errors: InputError "<file>:<line>: key '<key>': <reason>" for
// TOML syntax, unknown key, wrong type, value outside the domain, empty list, step <= 0,
// a range that is empty, duplicate values, a key in both [fixed] and [grid], an unknown strategy,
// and a combination count that overflows 64 bits. A file over 1 MiB is refused unparsed.
Grid parse_grid_file(const std::string& path);
Grid parse_grid_text(const std::string& text, const std::string& name);

}  // namespace threadx
