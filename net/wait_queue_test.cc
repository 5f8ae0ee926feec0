#include "net/wait_queue.h"

#include <gtest/gtest.h>

#include <vector>

namespace paystream::net {
namespace {

struct Node : WaitNode {
  int id = 0;
};

std::vector<int> ids(const WaitQueue& q) {
  std::vector<int> out;
  for (WaitNode* n = q.front(); n != nullptr; n = n->next) out.push_back(static_cast<Node*>(n)->id);
  return out;
}

TEST(WaitQueue, FifoWithFrontInsertionAndRemovalAnywhere) {
  Node n[5];
  for (int i = 0; i < 5; ++i) n[i].id = i;
  WaitQueue q;
  EXPECT_TRUE(q.empty());
  q.push_back(&n[0]);
  q.push_back(&n[1]);
  q.push_back(&n[2]);
  q.push_front(&n[3]);
  EXPECT_EQ(ids(q), (std::vector<int>{3, 0, 1, 2}));
  q.remove(&n[1]);  // the middle
  EXPECT_EQ(ids(q), (std::vector<int>{3, 0, 2}));
  q.remove(&n[2]);  // the tail
  q.push_back(&n[4]);
  EXPECT_EQ(ids(q), (std::vector<int>{3, 0, 4}));
  EXPECT_EQ(q.pop_front(), &n[3]);
  EXPECT_EQ(q.pop_front(), &n[0]);
  EXPECT_EQ(q.pop_front(), &n[4]);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
  q.push_front(&n[2]);  // into an empty queue
  EXPECT_EQ(ids(q), (std::vector<int>{2}));
  EXPECT_EQ(q.size(), 1u);
}

TEST(WaitQueue, ExpireEndsWhatIsDueInOrderAndReportsTheNextDeadline) {
  Node n[4];
  const uint64_t deadlines[] = {150, 100, 300, 100};
  WaitQueue q;
  for (int i = 0; i < 4; ++i) {
    n[i].id = i;
    n[i].deadline_ms = deadlines[i];
    q.push_back(&n[i]);
  }
  std::vector<int> ended;
  auto end = [&](WaitNode* w) { ended.push_back(static_cast<Node*>(w)->id); };
  EXPECT_EQ(q.expire(99, end), 100u);
  EXPECT_TRUE(ended.empty());
  EXPECT_EQ(q.expire(100, end), 150u);  // deadlines are not in queue order
  EXPECT_EQ(ended, (std::vector<int>{1, 3}));
  EXPECT_EQ(ids(q), (std::vector<int>{0, 2}));
  EXPECT_EQ(q.expire(1000, end), WaitQueue::kNever);
  EXPECT_EQ(ended, (std::vector<int>{1, 3, 0, 2}));
  EXPECT_TRUE(q.empty());
}

TEST(WaitQueue, EntriesPushedWhileExpiringWaitForTheNextSweep) {
  Node n[3];
  for (int i = 0; i < 3; ++i) n[i].id = i;
  n[0].deadline_ms = 10;
  n[1].deadline_ms = 5;  // pushed by the callback, already due
  n[2].deadline_ms = 50;
  WaitQueue q;
  q.push_back(&n[0]);
  std::vector<int> ended;
  const uint64_t next = q.expire(20, [&](WaitNode* w) {
    ended.push_back(static_cast<Node*>(w)->id);
    if (w == &n[0]) {
      q.push_back(&n[1]);
      q.push_back(&n[2]);
    }
  });
  EXPECT_EQ(ended, (std::vector<int>{0}));
  EXPECT_EQ(next, WaitQueue::kNever);  // the caller re-arms for entries it pushes itself
  EXPECT_EQ(ids(q), (std::vector<int>{1, 2}));
}

}  // namespace
}  // namespace paystream::net
