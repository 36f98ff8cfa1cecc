// Rank 0's writer thread of a distributed sweep (see cluster_sweep.hpp).
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "mpi/rank_compute.hpp"
#include "results/results_file.hpp"

namespace threadx::dist::detail {

// Rank 0's writer thread: stores finished units in the results file (rows, then /done flags) and
// flushes at the interval, so that the thread answering the workers never waits for the disk.
// Holds at most kMaxQueuedBytes of rows; past that, push() waits (the disk sets the pace).
class FileWriter {
 public:
  FileWriter(ResultsFile& file, double flush_interval_s)
      : file_(file), flush_interval_s_(flush_interval_s), thread_([this] { loop(); }) {}
  ~FileWriter() { close(); }
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  void push(Finished f) {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return bytes_ < kMaxQueuedBytes || error_ || closed_; });
    bytes_ += f.rows.size();
    items_.push_back(std::move(f));
    ready_.notify_one();
  }
  // The first write error, if any (the run must stop: nothing more can be saved).
  std::exception_ptr error() {
    std::lock_guard lock(mutex_);
    return error_;
  }
  // Writes what is queued, flushes, ends the thread. A write error is not thrown here: the caller
  // reads it with error().
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      ready_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
  }
  // Seconds the thread spent writing and flushing (read after close()).
  double busy_seconds() const { return busy_s_; }

 private:
  static constexpr std::size_t kMaxQueuedBytes = std::size_t{32} << 20;

  void loop() {
    auto last_flush = Clock::now();
    for (;;) {
      std::deque<Finished> batch;
      bool closing = false;
      {
        std::unique_lock lock(mutex_);
        ready_.wait_for(lock, std::chrono::milliseconds(100),
                        [&] { return !items_.empty() || closed_; });
        batch.swap(items_);
        bytes_ = 0;
        space_.notify_all();
        closing = closed_;
        if (batch.empty() && closing) break;
      }
      try {
        const auto t0 = Clock::now();
        for (const Finished& f : batch) file_.write_packed(f.unit.begin, f.rows);
        if (seconds_since(last_flush) >= flush_interval_s_ || closing) {
          file_.flush();
          last_flush = Clock::now();
        }
        busy_s_ += seconds_since(t0);
      } catch (...) {
        std::lock_guard lock(mutex_);
        error_ = std::current_exception();
        space_.notify_all();
        return;
      }
    }
    try {
      const auto t0 = Clock::now();
      file_.flush();
      busy_s_ += seconds_since(t0);
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }

  ResultsFile& file_;
  double flush_interval_s_;
  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<Finished> items_;
  std::size_t bytes_ = 0;
  bool closed_ = false;
  std::exception_ptr error_;
  double busy_s_ = 0;   // written by the thread only
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace threadx::dist::detail
