// A rank's writer thread when the ranks store their own rows (--write-path ranks; see
// results/part_file.hpp): it compresses and stores each finished unit's rows in the rank's part
// file, flushes, and only then hands the unit back (take_stored) to be reported to rank 0, which
// sets its /done flags. So the thread that talks to rank 0 waits for the disk only when more than
// the queue's bound (writer_thread.hpp) is waiting to be stored, and a unit reported done is
// always in the part file.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "mpi/rank_compute.hpp"
#include "mpi/writer_thread.hpp"
#include "results/part_file.hpp"

namespace threadx::dist::detail {

class PartWriter final : public WriterThread {
 public:
  explicit PartWriter(std::unique_ptr<PartFile> file) : file_(std::move(file)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~PartWriter() { close(); }

  void push(Finished f) {
    {
      std::lock_guard lock(mutex_);
      if (error_) return;  // nothing more is stored
      ++pending_;
    }
    const std::size_t bytes = f.rows.size();
    queue_.push(std::move(f), bytes);
  }
  // The units stored and flushed since the last call.
  std::vector<WorkUnit> take_stored() {
    std::lock_guard lock(mutex_);
    return std::exchange(stored_, {});
  }
  // Units pushed and not yet stored (nor failed).
  std::uint64_t pending() {
    std::lock_guard lock(mutex_);
    return pending_;
  }
  [[nodiscard]] const PartFile& file() const { return *file_; }

 private:
  void loop() {
    for (;;) {
      auto [batch, closing] = queue_.take_all(std::chrono::milliseconds(100));
      if (batch.empty() && closing) break;
      try {
        const auto t0 = Clock::now();
        for (const Finished& f : batch) file_->write(f.unit.begin, f.rows);
        file_->flush();
        busy_s_ += seconds_since(t0);
        std::lock_guard lock(mutex_);
        for (const Finished& f : batch) stored_.push_back(f.unit);
        pending_ -= batch.size();
      } catch (...) {
        {
          std::lock_guard lock(mutex_);
          pending_ = 0;
        }
        fail(std::current_exception());
        return;
      }
    }
  }

  std::unique_ptr<PartFile> file_;
  std::vector<WorkUnit> stored_;  // guarded by mutex_, as pending_
  std::uint64_t pending_ = 0;
};

}  // namespace threadx::dist::detail
