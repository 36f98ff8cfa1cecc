// Error types shared by the whole engine. Every user-facing failure is one line that names the
// file and line (or key) at fault; main() prints it and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace threadx {

// Bad input: data files, grid files, command-line values. Message is "<where>: <what>".
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Output could not be written or an existing results file does not fit this run.
class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace threadx
