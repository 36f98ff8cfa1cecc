// Combination ids as plain data: the mixed-radix digits of a grid (grid/grid.hpp) and its values
// in one flat array, for code that runs where a Grid cannot go (a CUDA thread decodes its own
// combination from its id). Built by Grid::digits; values_of(id) = Grid::values_of(id).
#pragma once

#include <cstdint>

#include "common/hd.hpp"
#include "strategy/spec.hpp"

namespace threadx {

struct IdDigits {
  std::uint32_t count = 0;               // digits: the strategy's parameters
  std::uint32_t param[kMaxParams] = {};  // the table index of digit k, most significant first
  std::uint64_t radix[kMaxParams] = {};  // the number of values of digit k's parameter
  std::uint64_t first[kMaxParams] = {};  // where those values start in `values`
  const double* values = nullptr;        // every parameter's values, end to end

  // The values of every parameter (table order) of combination id: v[p] for p < count.
  THREADX_HD void values_of(std::uint64_t id, double* v) const {
    for (std::uint32_t k = count; k-- > 0;) {  // least significant digit first
      v[param[k]] = values[first[k] + id % radix[k]];
      id /= radix[k];
    }
  }
};

}  // namespace threadx
