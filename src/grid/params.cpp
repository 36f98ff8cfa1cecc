// Domain checks for the bb_atr parameter table (see params.hpp).
#include "grid/params.hpp"

#include <cmath>

namespace threadx {

bool in_domain(ParamId id, double v) {
  if (id >= kParamCount) return false;
  const ParamSpec& s = kParams[id];
  if (!std::isfinite(v)) return false;
  if (s.type != ParamType::Double && v != std::trunc(v)) return false;  // Int and Bool: integral
  if (s.min_inclusive ? v < s.min : v <= s.min) return false;
  if (s.max_inclusive ? v > s.max : v >= s.max) return false;
  return true;
}

}  // namespace threadx
