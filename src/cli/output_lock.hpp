// One sweep at a time per output: `threadx sweep --out X` holds an exclusive lock on `X.lock`
// from before it looks at X and X.partial until it exits, so that a second run of the same output
// (a requeued batch job while the first still runs, a --resume typed twice) is refused instead of
// writing the same file. HDF5's own file lock cannot do this: a compressed results file is written
// in SWMR mode, which releases it.
#pragma once

#include <string>

namespace threadx {

class OutputLock {
 public:
  // Takes the lock, or throws OutputError naming the output when another process holds it. Where
  // the lock file cannot be created at all (a read-only directory), nothing is locked: writing the
  // output itself then fails with its own message.
  explicit OutputLock(const std::string& out);
  ~OutputLock();  // removes the lock file (a killed run leaves it, unlocked and harmless)
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace threadx
