// The per-output lock of `threadx sweep` (see output_lock.hpp).
#include "cli/output_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.hpp"

namespace threadx {

OutputLock::OutputLock(const std::string& out) : path_(out + ".lock") {
  // A run that ends unlinks its lock file while holding it: the file locked must still be the one
  // under the name, or it is opened again.
  for (int attempt = 0; attempt < 100; ++attempt) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return;
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd_);
      fd_ = -1;
      if (err == EWOULDBLOCK)
        throw OutputError(out + ": another threadx sweep is writing this output (it holds " +
                          path_ + "); wait for it to end or stop it first");
      return;  // no locks on this filesystem: go on without
    }
    struct stat held {
    }, named{};
    if (::fstat(fd_, &held) == 0 && ::stat(path_.c_str(), &named) == 0 &&
        held.st_ino == named.st_ino && held.st_dev == named.st_dev)
      return;
    ::close(fd_);
    fd_ = -1;
  }
}

OutputLock::~OutputLock() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // while still locked: no other run can be holding it
  ::close(fd_);
}

}  // namespace threadx
