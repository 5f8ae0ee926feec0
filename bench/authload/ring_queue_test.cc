#include "bench/authload/ring_queue.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>

#include "core/random.h"

namespace paystream::bench {
namespace {

TEST(RingQueue, BehavesLikeADeque) {
  // Random pushes and pops at both ends, across growth and wrap-around, against std::deque.
  RingQueue<int> ring;
  std::deque<int> reference;
  core::Xoshiro256 rng(3);
  for (int step = 0; step < 20000; ++step) {
    const uint64_t op = rng.next_below(reference.size() > 40 ? 6 : 4);
    if (op == 0 || op == 4) {
      ring.push_back(step);
      reference.push_back(step);
    } else if (op == 1) {
      ring.push_front(step);
      reference.push_front(step);
    } else if (!reference.empty() && (op == 2 || op == 5)) {
      ring.pop_front();
      reference.pop_front();
    } else if (!reference.empty()) {
      ring.pop_back();
      reference.pop_back();
    }
    ASSERT_EQ(ring.size(), reference.size());
    if (!reference.empty()) {
      ASSERT_EQ(ring.front(), reference.front());
      ASSERT_EQ(ring.back(), reference.back());
      const size_t middle = reference.size() / 2;
      ASSERT_EQ(ring[middle], reference[middle]);
    }
  }
}

TEST(RingQueue, KeepsValuesThroughGrowth) {
  RingQueue<std::string> ring;
  for (int i = 0; i < 5; ++i) ring.push_back(std::string(1, 'b').append(std::to_string(i)));
  for (int i = 0; i < 5; ++i) ring.push_front(std::string(1, 'f').append(std::to_string(i)));
  ASSERT_EQ(ring.size(), 10u);
  EXPECT_EQ(ring.front(), "f4");
  EXPECT_EQ(ring[4], "f0");
  EXPECT_EQ(ring[5], "b0");
  EXPECT_EQ(ring.back(), "b4");
  ring.clear();
  EXPECT_TRUE(ring.empty());
}

}  // namespace
}  // namespace paystream::bench
