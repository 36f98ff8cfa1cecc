// Small text formatting helpers shared by the CLI and the results file.
#pragma once

#include <cstdint>
#include <string>

namespace threadx {

// "2024-12-01T00:00:00Z" for a Unix time in ms (UTC).
std::string format_utc_ms(std::int64_t ms);
// The current time, ISO 8601 UTC with seconds.
std::string now_utc_iso();
// Shortest text that reads back as the same double ("2.5", "0.30000000000000004", "inf").
std::string format_double(double v);
// "1h02m03s" / "4.2s" style durations for progress and summaries.
std::string format_duration(double seconds);

}  // namespace threadx
