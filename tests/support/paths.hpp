// Paths of the data the tests read: everything is bundled in the repo (data/, tests/grids/).
#pragma once

#include <string>

namespace threadx::testing {

inline std::string repo_path(const std::string& rel) {
  return std::string(THREADX_SOURCE_DIR) + "/" + rel;
}

// The 960-bar 15m BTC/USDT file (2024-12-01 .. 2024-12-10), bundled in data/.
inline std::string btc_960() {
  return repo_path("data/BTCUSDT_15m_2024-12-01_2024-12-10.csv");
}
inline std::string btc_49632() {
  return repo_path("data/BTCUSDT_15m_2023-10_2025-02.csv");
}

}  // namespace threadx::testing
