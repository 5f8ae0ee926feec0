#include "net/log_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace paystream::net::log {
namespace {

using std::chrono::milliseconds;

TEST(LogQueue, LinesThatDoNotFitAreDroppedAndCounted) {
  LogQueue q(100);
  EXPECT_TRUE(q.push(std::string(40, 'a')));
  EXPECT_TRUE(q.push(std::string(40, 'b')));
  EXPECT_FALSE(q.push(std::string(21, 'c')));  // 101 > 100
  EXPECT_TRUE(q.push(std::string(20, 'd')));   // exactly full
  EXPECT_FALSE(q.push("e"));
  EXPECT_FALSE(q.push(std::string(1000, 'f')));  // larger than the whole buffer
  EXPECT_EQ(q.dropped(), 3u);
  EXPECT_EQ(q.held_bytes(), 100u);

  std::vector<std::string> batch;
  q.take(batch, milliseconds(0));
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0][0], 'a');
  EXPECT_EQ(batch[1][0], 'b');
  EXPECT_EQ(batch[2][0], 'd');
  // Lines being written still hold their bytes: a stuck writer bounds the memory.
  EXPECT_FALSE(q.push("g"));
  EXPECT_EQ(q.dropped(), 4u);
  q.written();
  EXPECT_EQ(q.held_bytes(), 0u);
  EXPECT_TRUE(q.push("h"));
}

TEST(LogQueue, LinesLostByTheWriterAreCounted) {
  LogQueue q(100);
  q.push("a");
  q.push("b");
  std::vector<std::string> batch;
  q.take(batch, milliseconds(0));
  q.written(batch.size());
  EXPECT_EQ(q.dropped(), 2u);
}

TEST(LogQueue, TakeTimesOutEmpty) {
  LogQueue q(100);
  std::vector<std::string> batch{"stale"};
  q.take(batch, milliseconds(1));
  EXPECT_TRUE(batch.empty());
}

TEST(LogQueue, APushNeverWaitsForAStuckWriter) {
  LogQueue q(1000);
  // The writer takes a batch and never reports it written (stderr blocked).
  q.push(std::string(600, 'x'));
  std::vector<std::string> batch;
  q.take(batch, milliseconds(0));
  std::atomic<int> accepted{0};
  std::thread producer([&] {
    for (int i = 0; i < 10'000; ++i) accepted += q.push(std::string(100, 'y')) ? 1 : 0;
  });
  producer.join();  // would hang if a push waited for the writer
  EXPECT_EQ(accepted.load(), 4);
  EXPECT_EQ(q.dropped(), 10'000u - 4);
  EXPECT_FALSE(q.wait_drained(milliseconds(1)));
}

TEST(LogQueue, AWriterThreadDrainsEveryLineInOrder) {
  LogQueue q(64 * 1024);
  std::vector<std::string> out;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::vector<std::string> batch;
    while (!stop) {
      q.take(batch, milliseconds(5));
      for (auto& line : batch) out.push_back(line);
      q.written();
    }
  });
  for (int i = 0; i < 5000; ++i) ASSERT_TRUE(q.push(std::to_string(i)));
  EXPECT_TRUE(q.wait_drained(milliseconds(10'000)));
  stop = true;
  writer.join();
  ASSERT_EQ(out.size(), 5000u);
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(out[i], std::to_string(i));
  EXPECT_EQ(q.dropped(), 0u);
}

}  // namespace
}  // namespace paystream::net::log
