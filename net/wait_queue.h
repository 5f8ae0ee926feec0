#pragma once
// An intrusive FIFO of calls waiting for a connection, each with a deadline: no allocation,
// any entry removable, and one sweep that ends the entries whose deadline has passed.

#include <cstddef>
#include <cstdint>
#include <limits>

namespace paystream::net {

struct WaitNode {
  WaitNode* prev = nullptr;
  WaitNode* next = nullptr;
  uint64_t deadline_ms = 0;
};

class WaitQueue {
 public:
  static constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

  bool empty() const { return head_ == nullptr; }
  size_t size() const { return size_; }
  WaitNode* front() const { return head_; }
  WaitNode* back() const { return tail_; }

  void push_back(WaitNode* n) {
    n->next = nullptr;
    n->prev = tail_;
    (tail_ != nullptr ? tail_->next : head_) = n;
    tail_ = n;
    ++size_;
  }

  // Ahead of everything (a call that already had its turn, coming back for its resend).
  void push_front(WaitNode* n) {
    n->prev = nullptr;
    n->next = head_;
    (head_ != nullptr ? head_->prev : tail_) = n;
    head_ = n;
    ++size_;
  }

  void remove(WaitNode* n) {
    (n->prev != nullptr ? n->prev->next : head_) = n->next;
    (n->next != nullptr ? n->next->prev : tail_) = n->prev;
    n->prev = n->next = nullptr;
    --size_;
  }

  WaitNode* pop_front() {
    WaitNode* n = head_;
    remove(n);
    return n;
  }

  // Removes each entry whose deadline is at or before `now_ms`, in queue order, and hands it
  // to `expired` (which may push more: those are not swept this time). Returns the earliest
  // deadline among the entries it kept (kNever when none).
  template <typename F>
  uint64_t expire(uint64_t now_ms, F&& expired) {
    uint64_t next_due = kNever;
    WaitNode* const last = tail_;
    for (WaitNode* n = head_; n != nullptr;) {
      WaitNode* const next = n == last ? nullptr : n->next;
      if (n->deadline_ms <= now_ms) {
        remove(n);
        expired(n);
      } else if (n->deadline_ms < next_due) {
        next_due = n->deadline_ms;
      }
      n = next;
    }
    return next_due;
  }

 private:
  WaitNode* head_ = nullptr;
  WaitNode* tail_ = nullptr;
  size_t size_ = 0;
};

}  // namespace paystream::net
