#pragma once
// One target's share of a client thread: its connections, the requests waiting for a free one,
// the free pipeline slots, timeouts, reconnects, and the counts for that target.

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/authload/client_connection.h"
#include "bench/authload/idempotency_keys.h"
#include "bench/authload/key_tracker.h"
#include "bench/authload/ring_queue.h"
#include "bench/authload/target_stats.h"

namespace paystream::bench {

struct LaneConfig {
  const sockaddr* address = nullptr;
  const std::vector<std::string>* requests = nullptr;  // prepared requests, shared read-only
  size_t connections = 1;
  size_t pipeline = 1;
  bool head_requests = false;
  uint64_t timeout_ns = 5'000'000'000;
  // Idempotency keys (null: off). The tracker is the thread's, shared by its lanes.
  KeyTracker* keys = nullptr;
  std::string key_prefix;
  size_t key_offset = 0;  // where the key header goes in each prepared request
  uint32_t index = 0;     // this lane's target: names its connections to the tracker
};

class TargetLane final : public ConnectionOwner {
 public:
  TargetLane(uv_loop_t* loop, const LaneConfig& config);
  TargetLane(const TargetLane&) = delete;
  TargetLane& operator=(const TargetLane&) = delete;

  void start_connecting();
  // Every connection has been established or has failed at least once.
  bool first_attempts_done() const { return first_attempts_done_ >= connections_.size(); }
  size_t established() const { return connected_ever_; }

  // A request that came due: sent on a free pipeline slot, or queued until one frees up.
  void dispatch(const InFlight& request);
  // Timeouts, connect deadlines and reconnects; call every few milliseconds.
  void check(uint64_t now_ns);
  // Nothing waiting, and every request in flight answered or counted as a timeout.
  bool drained() const;
  // Closes every connection and stops reconnecting; on_closed callbacks follow from the loop.
  void stop();

  TargetStats& stats() { return stats_; }
  const TargetStats& stats() const { return stats_; }

  // ConnectionOwner
  void on_connected(ClientConnection& connection) override;
  void on_response(ClientConnection& connection, const InFlight& request,
                   const HttpResponse& response, uint64_t now_ns) override;
  void on_request_failed(ClientConnection& connection, const InFlight& request,
                         ErrorKind kind) override;
  void on_request_returned(ClientConnection& connection, const InFlight& request) override;
  void on_closed(ClientConnection& connection, CloseReason reason) override;

 private:
  struct Slot {
    std::unique_ptr<ClientConnection> connection;
    uint32_t queued_tokens = 0;  // entries for it in free_slots_
    uint64_t retry_at_ns = 0;    // when idle after a failure: next attempt
    uint64_t backoff_ns = 0;
    bool attempted = false;  // counted in first_attempts_done_
    bool connected_once = false;
  };

  void pump();
  void add_free_slots(ClientConnection& connection);
  // A free slot on any connection but `avoid` (a connection id, or none).
  ClientConnection* take_free_slot(uint32_t avoid);
  uint32_t connection_to_avoid(const InFlight& request) const;
  void send(ClientConnection& connection, const InFlight& request);
  uint32_t tracker_tag(uint32_t connection_id) const { return config_.index << 24 | connection_id; }
  void fail(const InFlight& request, ErrorKind kind);
  bool reachable() const;  // some connection is up or being opened
  void note_first_attempt(Slot& slot);
  void open(Slot& slot, uint64_t now_ns);
  void fail_waiting(ErrorKind kind);

  LaneConfig config_;
  KeyHeader key_header_;
  std::vector<Slot> connections_;
  RingQueue<uint32_t> free_slots_;  // one entry per free pipeline slot: round-robin order
  RingQueue<InFlight> waiting_;
  TargetStats stats_;
  size_t first_attempts_done_ = 0;
  size_t connected_ever_ = 0;
  size_t live_connections_ = 0;  // connecting, connected or closing: not waiting to retry
  bool pumping_ = false;
  bool pump_again_ = false;
  bool stopping_ = false;
};

}  // namespace paystream::bench
