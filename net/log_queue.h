#pragma once
// The bounded buffer between the threads that log and the one thread that writes
// to stderr. A producer never waits for the writer: a line that does not fit in
// the capacity is dropped and counted. Lines being written still count against the
// capacity until written(), so the lines held never exceed the capacity, however
// long the writer is stuck. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace paystream::net::log {

class LogQueue {
 public:
  explicit LogQueue(size_t capacity_bytes) : capacity_(capacity_bytes) {}

  // Queues `line`; false (and counted as dropped) when it does not fit.
  bool push(std::string line);

  // Writer: waits until lines are queued, then moves them all into `out` (cleared
  // first), oldest first. After a timeout `out` may be empty.
  void take(std::vector<std::string>& out, std::chrono::milliseconds timeout);
  // Writer: the lines of the last take() are out (or lost: `lost` of them are
  // counted as dropped); their bytes are free again.
  void written(size_t lost = 0);

  // Waits until every line pushed before the call has been written(); false on timeout.
  bool wait_drained(std::chrono::milliseconds timeout);

  uint64_t dropped() const;
  size_t held_bytes() const;
  size_t capacity_bytes() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable queued_cv_;
  std::condition_variable written_cv_;
  std::deque<std::string> lines_;
  size_t held_bytes_ = 0;   // queued + being written
  size_t taken_bytes_ = 0;  // being written
  uint64_t pushed_ = 0;     // lines accepted, ever
  uint64_t done_ = 0;       // lines written (or lost), ever
  uint64_t taken_ = 0;      // lines in the batch being written
  uint64_t dropped_ = 0;
};

}  // namespace paystream::net::log
