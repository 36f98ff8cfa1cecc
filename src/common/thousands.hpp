// Counts as people read them: 2903040 -> "2,903,040" (logs, summaries, errors).
#pragma once

#include <cstdint>
#include <string>

namespace threadx {

inline std::string thousands(std::uint64_t v) {
  const std::string digits = std::to_string(v);
  std::string s;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) s.push_back(',');
    s.push_back(digits[i]);
  }
  return s;
}

}  // namespace threadx
