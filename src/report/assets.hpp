// Files compiled into the binary for `threadx report` (cmake/embed_file.cmake generates the
// definitions from third_party/).
#pragma once

#include <string_view>

namespace threadx::report {

// third_party/vega/vega.min.js, byte for byte.
std::string_view vega_js();

}  // namespace threadx::report
