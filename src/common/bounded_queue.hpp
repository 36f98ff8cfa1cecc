// A queue between threads with a capacity in units the producer chooses (items, or bytes): a push
// waits while the queue holds its capacity or more, so a fast producer cannot fill the memory
// while the consumer (the disk, the network) sets the pace. A consumer takes everything queued at
// once, or (a pool of consumers) one item at a time. Used wherever finished rows travel between
// threads: the CPU pool's workers to its caller, a rank's compute thread to its transport thread,
// rank 0's receiver to its writer, the writer to the chunk compressors; and, without a cap
// (capacity kUnbounded), the units granted to a rank and the in-process ranks' mailboxes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <utility>

namespace threadx {

template <class T>
class BoundedQueue {
 public:
  static constexpr std::size_t kUnbounded = std::numeric_limits<std::size_t>::max();

  explicit BoundedQueue(std::size_t capacity) : capacity_(capacity) {}
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // Appends `item`, which takes `cost` of the capacity; first waits while the queue is full,
  // unless it is uncapped or closed (a push after close() never waits).
  void push(T item, std::size_t cost = 1) {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return held_ < capacity_ || uncapped_ || closed_; });
    items_.push_back(std::move(item));
    costs_.push_back(cost);
    held_ += cost;
    ready_.notify_one();
  }
  // Everything queued (after waiting up to `wait` for an item or for close()), and whether the
  // queue was closed when it was taken: then it holds everything pushed before close() (a push
  // after close() is still queued, for a consumer that goes on taking; most stop at closed).
  template <class Rep, class Period>
  std::pair<std::deque<T>, bool> take_all(std::chrono::duration<Rep, Period> wait) {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, wait, [&] { return takeable(); });
    std::deque<T> out;
    out.swap(items_);
    costs_.clear();
    held_ = 0;
    space_.notify_all();
    return {std::move(out), closed_};
  }
  // The oldest item, waiting for one; nullopt once the queue is closed and empty.
  std::optional<T> take_one() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return takeable(); });
    return pop_front();
  }
  // The same, waiting up to `wait`: nullopt also when nothing came in time.
  template <class Rep, class Period>
  std::optional<T> take_one(std::chrono::duration<Rep, Period> wait) {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, wait, [&] { return takeable(); });
    return pop_front();
  }
  // A take would not wait: an item is queued, or the queue is closed.
  [[nodiscard]] bool ready() const {
    std::lock_guard lock(mutex_);
    return takeable();
  }
  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }
  // The producers are done (or gave up): a take no longer waits once the queue is empty. With
  // `drop`, what is still queued is abandoned as well (a stop).
  void close(bool drop = false) {
    std::lock_guard lock(mutex_);
    closed_ = true;
    if (drop) {
      items_.clear();
      costs_.clear();
      held_ = 0;
    }
    ready_.notify_all();
    space_.notify_all();
  }
  // A push never waits again: called before joining the producers when the consumer may not take
  // any more (it is stopping, or failed), so that no producer waits forever.
  void uncap() {
    std::lock_guard lock(mutex_);
    uncapped_ = true;
    space_.notify_all();
  }

 private:
  // Under the lock: a take would not wait.
  [[nodiscard]] bool takeable() const { return !items_.empty() || closed_; }
  // Under the lock: the oldest item, if any.
  std::optional<T> pop_front() {
    if (items_.empty()) return std::nullopt;
    std::optional<T> out(std::move(items_.front()));
    items_.pop_front();
    held_ -= costs_.front();
    costs_.pop_front();
    space_.notify_all();
    return out;
  }

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<T> items_;
  std::deque<std::size_t> costs_;  // what each item takes of the capacity
  std::size_t held_ = 0;
  bool closed_ = false, uncapped_ = false;
};

}  // namespace threadx
