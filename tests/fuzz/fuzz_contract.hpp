// Shared by the fuzz targets: what counts as a finding. An input must give either a valid result
// (the target checks its invariants) or an InputError whose message is one line starting with
// "<file>:" — any other exception, a crash, a sanitizer report or a broken invariant aborts.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace threadx::fuzz {

[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "FUZZ FINDING: %s\n", what.c_str());
  std::abort();
}

inline void require(bool ok, const char* what) {
  if (!ok) finding(what);
}

// The message is one line and starts with one of `files` followed by ':'.
inline void check_error_message(const std::string& m, const std::vector<std::string>& files) {
  if (m.find('\n') != std::string::npos || m.find('\r') != std::string::npos)
    finding("multi-line error message: " + m);
  for (const std::string& f : files)
    if (m.rfind(f + ":", 0) == 0 && m.size() > f.size() + 2) return;
  finding("error message does not start with the file name: " + m);
}

}  // namespace threadx::fuzz
