// BoundedQueue (common/bounded_queue.hpp): a full queue makes the producer wait until the consumer
// takes; uncap() releases it for good; close() tells the consumer nothing more will come (and with
// drop abandons what is queued); take_one serves a pool of consumers, with or without a deadline.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "common/bounded_queue.hpp"

namespace threadx {
namespace {

using std::chrono::milliseconds;

TEST(BoundedQueue, AFullQueueHoldsTheProducerUntilTheConsumerTakes) {
  BoundedQueue<int> q(10);
  q.push(1, 6);
  q.push(2, 6);  // 6 < 10: does not wait; now 12 held
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    q.push(3, 1);  // 12 >= 10: waits for a take
    pushed = true;
  });
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_FALSE(pushed.load());
  auto [first, closed] = q.take_all(milliseconds(0));
  EXPECT_EQ(std::vector<int>(first.begin(), first.end()), (std::vector<int>{1, 2}));
  EXPECT_FALSE(closed);
  producer.join();
  EXPECT_TRUE(pushed.load());
  auto [second, still_open] = q.take_all(milliseconds(0));
  EXPECT_EQ(std::vector<int>(second.begin(), second.end()), (std::vector<int>{3}));
  EXPECT_FALSE(still_open);
}

TEST(BoundedQueue, UncapReleasesAWaitingProducerForGood) {
  BoundedQueue<int> q(1);
  q.push(1);
  std::thread producer([&] {
    for (int i = 2; i <= 5; ++i) q.push(i);  // would wait from the first on
  });
  std::this_thread::sleep_for(milliseconds(20));
  q.uncap();
  producer.join();
  auto [all, closed] = q.take_all(milliseconds(0));
  EXPECT_EQ(all.size(), 5u);
  EXPECT_FALSE(closed);
}

TEST(BoundedQueue, CloseEndsTheConsumersWaitAndIsReportedWithTheLastItems) {
  BoundedQueue<int> q(4);
  std::thread producer([&] {
    q.push(7);
    q.close();
  });
  producer.join();
  auto [last, closed] = q.take_all(milliseconds(1000));
  EXPECT_EQ(last.size(), 1u);
  EXPECT_TRUE(closed);
  const auto t0 = std::chrono::steady_clock::now();
  auto [none, still_closed] = q.take_all(std::chrono::seconds(60));  // at once: closed
  EXPECT_TRUE(none.empty());
  EXPECT_TRUE(still_closed);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));
}

TEST(BoundedQueue, TakeOneGivesTheOldestAndATimedTakeGivesUp) {
  BoundedQueue<int> q(BoundedQueue<int>::kUnbounded);
  EXPECT_FALSE(q.ready());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(q.take_one(milliseconds(30)), std::nullopt);  // nothing came in time
  EXPECT_GE(std::chrono::steady_clock::now() - t0, milliseconds(30));
  for (int i = 1; i <= 3; ++i) q.push(i, 1000);  // costs never block an unbounded queue
  EXPECT_TRUE(q.ready());
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.take_one(), 1);
  EXPECT_EQ(q.take_one(milliseconds(0)), 2);
  std::thread producer([&] {
    std::this_thread::sleep_for(milliseconds(20));
    q.push(4);
  });
  EXPECT_EQ(q.take_one(), 3);
  EXPECT_EQ(q.take_one(std::chrono::seconds(60)), 4);  // waits for the producer
  producer.join();
  EXPECT_EQ(q.size(), 0u);
}

TEST(BoundedQueue, CloseWithDropAbandonsWhatIsQueuedAndFreesItsCapacity) {
  BoundedQueue<int> q(2);
  q.push(1);
  q.push(2);
  q.close(/*drop=*/true);
  EXPECT_TRUE(q.ready());  // closed: a take does not wait
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.take_one(), std::nullopt);
  q.push(3);  // after close a push never waits, even when it was full
  EXPECT_EQ(q.take_one(), 3);
  BoundedQueue<int> kept(2);
  kept.push(5);
  kept.close();  // without drop the consumer still gets the last items
  EXPECT_EQ(kept.take_one(), 5);
  EXPECT_EQ(kept.take_one(), std::nullopt);
}

}  // namespace
}  // namespace threadx
