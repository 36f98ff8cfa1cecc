// What rank 0's writer thread (file_writer.hpp) and a rank's part writer (part_writer.hpp) share:
// a thread taking batches of finished units from a queue bounded in bytes (past the bound, push()
// waits: the disk sets the pace), its first error, and its busy time.
#pragma once

#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>

#include "common/bounded_queue.hpp"
#include "mpi/rank_compute.hpp"

namespace threadx::dist::detail {

class WriterThread {
 public:
  WriterThread(const WriterThread&) = delete;
  WriterThread& operator=(const WriterThread&) = delete;

  // The first error of the thread, if any (the run must stop: nothing more can be saved).
  std::exception_ptr error() {
    std::lock_guard lock(mutex_);
    return error_;
  }
  // Handles what is queued and ends the thread. An error is not thrown here: read it with error().
  void close() {
    queue_.close();
    if (thread_.joinable()) thread_.join();
  }
  // Seconds the thread spent writing and flushing (read after close()).
  [[nodiscard]] double busy_seconds() const { return busy_s_; }

 protected:
  static constexpr std::size_t kMaxQueuedBytes = std::size_t{32} << 20;

  WriterThread() = default;
  // The derived class starts the thread once its own members exist, and close()s it in its
  // destructor, before they go.
  ~WriterThread() = default;

  // Records the thread's first error; nothing more is handled, so no push() may wait for it.
  void fail(std::exception_ptr e) {
    {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::move(e);
    }
    queue_.uncap();
  }

  BoundedQueue<Finished> queue_{kMaxQueuedBytes};
  std::mutex mutex_;  // guards error_, and what the derived class says
  std::exception_ptr error_;
  double busy_s_ = 0;  // written by the thread only
  std::thread thread_;
};

}  // namespace threadx::dist::detail
