// Rank 0's writer thread of a distributed sweep (see cluster_sweep.hpp).
#pragma once

#include <exception>
#include <mutex>
#include <thread>

#include "mpi/rank_compute.hpp"
#include "mpi/writer_thread.hpp"
#include "results/h5_lock.hpp"
#include "results/results_file.hpp"

namespace threadx::dist::detail {

// Rank 0's writer thread: hands finished units to the results file (which stores rows, then sets
// their /done flags: see results_file.hpp; with --write-path ranks, records the part file that
// stored them, then sets their flags) and flushes at the interval, so that the thread
// answering the workers never waits for the disk. Holds at most kMaxQueuedBytes of rows; past that,
// push() waits (the disk sets the pace).
class FileWriter final : public WriterThread {
 public:
  FileWriter(ResultsFile& file, double flush_interval_s)
      : file_(file), flush_interval_s_(flush_interval_s) {
    thread_ = std::thread([this] { loop(); });
  }
  ~FileWriter() { close(); }

  void push(Finished f) {
    const std::size_t bytes = f.rows.size();
    queue_.push(std::move(f), bytes);
  }
  // A summary checkpoint (--keep none or top:...) to write at the next flush; a newer one replaces
  // one not written yet.
  void checkpoint(std::vector<std::byte> bytes) {
    {
      std::lock_guard lock(mutex_);
      checkpoint_ = std::move(bytes);
      has_checkpoint_ = true;
    }
    queue_.push(Finished{}, 0);  // wakes the thread
  }

 private:
  void loop() {
    auto last_flush = Clock::now();
    for (;;) {
      auto [batch, closing] = queue_.take_all(std::chrono::milliseconds(100));
      if (batch.empty() && closing) break;
      try {
        const auto t0 = Clock::now();
        // (One HDF5 call at a time in this process: see h5::library_mutex.)
        const std::lock_guard h5_lock(h5::library_mutex());
        for (const Finished& f : batch) {
          if (f.part >= 0)
            file_.mark_stored(f.unit.begin, f.unit.end, f.part);
          else if (!f.rows.empty())
            file_.write_packed(f.unit.begin, f.rows);
        }
        if (seconds_since(last_flush) >= flush_interval_s_ || closing) {
          file_.flush();
          last_flush = Clock::now();
        }
        write_checkpoint();
        busy_s_ += seconds_since(t0);
      } catch (...) {
        fail(std::current_exception());
        return;
      }
    }
    try {
      const auto t0 = Clock::now();
      const std::lock_guard h5_lock(h5::library_mutex());
      file_.flush();
      write_checkpoint();
      busy_s_ += seconds_since(t0);
    } catch (...) {
      fail(std::current_exception());
    }
  }

  void write_checkpoint() {
    std::vector<std::byte> bytes;
    {
      std::lock_guard lock(mutex_);
      if (!has_checkpoint_) return;
      bytes = std::move(checkpoint_);
      has_checkpoint_ = false;
    }
    file_.write_checkpoint(bytes);
  }

  ResultsFile& file_;
  double flush_interval_s_;
  std::vector<std::byte> checkpoint_;  // guarded by mutex_, as has_checkpoint_
  bool has_checkpoint_ = false;
};

}  // namespace threadx::dist::detail
