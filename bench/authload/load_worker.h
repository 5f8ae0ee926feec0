#pragma once
// One client thread with its own libuv loop: opens its connections, then sends its share of the
// schedule (global request i is due at start + i / rate) at the due times, drains, and stops.
// Sends are timed by a timerfd (nanosecond deadlines, no timer slack) and, within --spin-us of
// a deadline, by busy polling.

#include <uv.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "bench/authload/idempotency_stats.h"
#include "bench/authload/key_tracker.h"
#include "bench/authload/live_status.h"
#include "bench/authload/load_plan.h"
#include "bench/authload/target_lane.h"
#include "bench/authload/target_stats.h"

namespace paystream::bench {

struct WorkerPlan {
  size_t index = 0;  // this thread among `count`
  size_t count = 1;
  double rate = 1;                // requests/s over every thread
  uint64_t warmup_requests = 0;   // global request numbers below this are not counted
  uint64_t total_requests = 0;    // warm-up plus measured, over every thread
  int weight = 0;                 // percent of requests for target 1
  uint64_t spin_ns = 0;           // busy-poll this close to a send
  uint64_t tick_ns = 0;           // testing: at most one scheduler wake-up per tick
  std::vector<LaneConfig> lanes;  // by target; a lane with no connections is not used
  bool idempotency_keys = false;  // each request carries a key (the lanes' prefix and offset)
  KeyTrackerConfig keys;          // capacity is set by the worker
  // Prepared requests [0, distinct_requests) are the bodies; with conflicting reuses the
  // same count follows, each with another amount (0: every prepared request is a body).
  uint32_t distinct_requests = 0;
};

class LoadWorker {
 public:
  explicit LoadWorker(WorkerPlan plan);
  LoadWorker(const LoadWorker&) = delete;
  LoadWorker& operator=(const LoadWorker&) = delete;
  ~LoadWorker();

  // Starts the thread, which opens every connection.
  void start();
  // Until each connection has been established or has failed once; false at the deadline.
  bool wait_connected(uint64_t deadline_ns);
  // Connections established at least once, by target (valid after wait_connected).
  std::vector<size_t> established();
  // Only after join(); empty counts when keys are off.
  IdempotencyStats idempotency() const;
  // Starts the schedule: global request 0 is due at `start_ns` (monotonic).
  void begin(uint64_t start_ns);
  // Stops at once, requests in flight or not.
  void abort();
  bool done();
  void join();

  // Counts the thread published last (every ~200 ms).
  void read_live(LiveCounts& out);
  // Per target; only after join().
  std::vector<TargetStats> stats() const;

 private:
  void run();
  void on_wake();
  void on_check();
  void tick();
  void arm(uint64_t due_ns, uint64_t now_ns, bool behind);
  void dispatch(uint64_t local_index);
  uint64_t due_ns(uint64_t local_index) const;
  void publish_live();
  void shut_down();
  void signal_connected();
  void send_wake();

  WorkerPlan plan_;
  uint64_t local_total_ = 0;
  uv_loop_t loop_;
  uv_async_t wake_;
  uv_timer_t check_timer_;
  uv_poll_t send_poll_;
  uv_idle_t spin_idle_;
  int timer_fd_ = -1;
  std::unique_ptr<KeyTracker> keys_;                // null when keys are off
  std::vector<std::unique_ptr<TargetLane>> lanes_;  // null where a target has no connection
  WeightedSplit split_;
  long double period_ns_ = 0;
  uint64_t start_ns_ = 0;
  uint64_t next_ = 0;  // local index of the next request to send
  uint64_t last_tick_ns_ = 0;
  bool started_ = false;
  bool schedule_done_ = false;
  bool shutting_down_ = false;
  bool connected_signalled_ = false;
  unsigned checks_ = 0;

  std::atomic<uint64_t> begin_at_{0};
  std::atomic<bool> abort_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool connected_ = false;
  bool done_ = false;
  bool wake_closed_ = false;  // after this, uv_async_send would touch a closed handle
  std::vector<size_t> established_;
  LiveCounts live_;
};

}  // namespace paystream::bench
