// Printing ranked result rows as an aligned table (for people) or CSV (for scripts).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "results/row_layout.hpp"

namespace threadx {

// Prints `rows` (packed rows of `columns`), one line each, with a leading 1-based rank column.
// Only the named columns are printed (all when `only` is empty), in file order. CSV prints every
// value at full precision; the table rounds metrics to 6 significant digits.
void print_rows(std::ostream& out, const std::vector<Column>& columns,
                const std::vector<std::vector<unsigned char>>& rows,
                const std::vector<std::string>& only, bool csv);

}  // namespace threadx
