#include "bench/authload/target_lane.h"

#include <algorithm>

#include "base/clock.h"

namespace paystream::bench {
namespace {

constexpr uint64_t kFirstBackoffNs = 10'000'000;
constexpr uint64_t kMaxBackoffNs = 1'000'000'000;

uint64_t elapsed(uint64_t from, uint64_t to) {
  return to > from ? to - from : 0;
}

}  // namespace

TargetLane::TargetLane(uv_loop_t* loop, const LaneConfig& config)
    : config_(config), key_header_(config.key_prefix) {
  connections_.resize(config.connections);
  for (size_t i = 0; i < connections_.size(); ++i) {
    connections_[i].connection =
        std::make_unique<ClientConnection>(loop, *this, config.address, config.head_requests,
                                           static_cast<uint32_t>(i), config.keys != nullptr);
  }
}

void TargetLane::start_connecting() {
  const uint64_t now = base::monotonic_ns();
  for (Slot& slot : connections_) open(slot, now);
}

void TargetLane::open(Slot& slot, uint64_t now_ns) {
  if (!slot.connection->idle()) return;
  ++live_connections_;
  slot.connection->connect(now_ns);
}

bool TargetLane::reachable() const {
  return live_connections_ > 0;
}

void TargetLane::note_first_attempt(Slot& slot) {
  if (slot.attempted) return;
  slot.attempted = true;
  ++first_attempts_done_;
}

void TargetLane::dispatch(const InFlight& request) {
  if (request.measured) ++stats_.scheduled;
  if (!reachable()) {
    fail(request, ErrorKind::connect);
    return;
  }
  waiting_.push_back(request);
  pump();
  if (request.measured && !waiting_.empty() &&
      waiting_.back().scheduled_ns == request.scheduled_ns) {
    ++stats_.waited_for_connection;
  }
}

void TargetLane::pump() {
  if (pumping_) {
    pump_again_ = true;  // a callback from inside send(): the outer loop picks it up
    return;
  }
  pumping_ = true;
  do {
    pump_again_ = false;
    while (!waiting_.empty()) {
      ClientConnection* connection = take_free_slot(connection_to_avoid(waiting_.front()));
      if (connection == nullptr) break;
      InFlight request = waiting_.front();
      waiting_.pop_front();
      const uint64_t now = base::monotonic_ns();
      if (request.measured && request.resent) {
        ++stats_.resent;
      } else if (request.measured) {
        ++stats_.sent;
        stats_.send_lag.record(elapsed(request.scheduled_ns, now));
        stats_.last_send_ns = now;
      }
      request.sent_ns = now;
      send(*connection, request);
    }
  } while (pump_again_);
  pumping_ = false;
}

void TargetLane::send(ClientConnection& connection, const InFlight& request) {
  const std::string& bytes = (*config_.requests)[request.pool_index];
  if (request.keyed.role == KeyRole::none) {
    connection.send(bytes, request);
    return;
  }
  config_.keys->on_sent(request.keyed, tracker_tag(connection.id()));
  const std::string_view all = bytes;
  connection.send(all.substr(0, config_.key_offset), key_header_.line(request.keyed.key),
                  all.substr(config_.key_offset), request);
}

uint32_t TargetLane::connection_to_avoid(const InFlight& request) const {
  constexpr uint32_t kNone = KeyTracker::kNoConnection;
  // A concurrent duplicate goes out on another connection than its original, when there is one.
  if (request.keyed.role != KeyRole::concurrent || connections_.size() < 2) return kNone;
  const uint32_t tag = config_.keys->original_connection(request.keyed);
  if (tag == kNone || tag >> 24 != config_.index) return kNone;
  return tag & 0xffffff;
}

void TargetLane::add_free_slots(ClientConnection& connection) {
  if (!connection.ready() || stopping_) return;
  Slot& slot = connections_[connection.id()];
  while (connection.in_flight() + slot.queued_tokens < config_.pipeline) {
    free_slots_.push_back(connection.id());
    ++slot.queued_tokens;
  }
}

ClientConnection* TargetLane::take_free_slot(uint32_t avoid) {
  size_t passed = 0;  // entries of `avoid`, moved to the back
  while (free_slots_.size() > passed) {
    const uint32_t id = free_slots_.front();
    free_slots_.pop_front();
    if (id == avoid) {
      free_slots_.push_back(id);
      ++passed;
      continue;
    }
    Slot& slot = connections_[id];
    --slot.queued_tokens;
    // Entries of a connection that closed since are stale: skip them.
    ClientConnection& connection = *slot.connection;
    if (connection.ready() && connection.in_flight() < config_.pipeline) return &connection;
  }
  return nullptr;
}

void TargetLane::fail(const InFlight& request, ErrorKind kind) {
  if (request.measured) stats_.record_error(kind);
  if (request.keyed.role != KeyRole::none) config_.keys->on_failed(request.keyed);
}

void TargetLane::fail_waiting(ErrorKind kind) {
  while (!waiting_.empty()) {
    fail(waiting_.front(), kind);
    waiting_.pop_front();
  }
}

void TargetLane::on_connected(ClientConnection& connection) {
  Slot& slot = connections_[connection.id()];
  ++stats_.connects;
  slot.backoff_ns = 0;
  if (!slot.connected_once) {
    slot.connected_once = true;
    ++connected_ever_;
  }
  note_first_attempt(slot);
  add_free_slots(connection);
  pump();
}

void TargetLane::on_response(ClientConnection& connection, const InFlight& request,
                             const HttpResponse& response, uint64_t now_ns) {
  const uint64_t latency = elapsed(request.scheduled_ns, now_ns);
  bool counted = false;
  if (request.measured && request.expired) {
    ++stats_.late_responses;
  } else if (request.measured && latency > config_.timeout_ns) {
    // Overdue, though the periodic check had not caught it yet: a timeout all the same.
    stats_.record_error(ErrorKind::timeout);
    ++stats_.late_responses;
  } else if (request.measured) {
    stats_.record_response(response.status, latency);
    if (response.verdict == Verdict::approved) ++stats_.approved;
    if (response.verdict == Verdict::declined) ++stats_.declined;
    counted = true;
  }
  if (request.keyed.role != KeyRole::none) {
    config_.keys->on_response(request.keyed, response, request.measured, counted);
  }
  add_free_slots(connection);
  pump();
}

void TargetLane::on_request_failed(ClientConnection&, const InFlight& request, ErrorKind kind) {
  fail(request, kind);
}

void TargetLane::on_request_returned(ClientConnection&, const InFlight& request) {
  InFlight again = request;
  again.resent = true;
  waiting_.push_front(again);
}

void TargetLane::on_closed(ClientConnection& connection, CloseReason reason) {
  Slot& slot = connections_[connection.id()];
  --live_connections_;
  const uint64_t now = base::monotonic_ns();
  switch (reason) {
    case CloseReason::connect_failed:
      ++stats_.connect_failures;
      slot.backoff_ns =
          slot.backoff_ns == 0 ? kFirstBackoffNs : std::min(slot.backoff_ns * 2, kMaxBackoffNs);
      slot.retry_at_ns = now + slot.backoff_ns;
      break;
    case CloseReason::peer_closed:
      ++stats_.closed_by_peer;
      break;
    case CloseReason::server_request:
      ++stats_.closed_by_server_request;
      break;
    default:
      break;
  }
  note_first_attempt(slot);
  if (stopping_) return;
  if (reason != CloseReason::connect_failed) open(slot, now);
  if (!reachable()) fail_waiting(ErrorKind::connect);
  pump();
}

void TargetLane::check(uint64_t now_ns) {
  while (!waiting_.empty() && waiting_.front().scheduled_ns + config_.timeout_ns <= now_ns) {
    fail(waiting_.front(), ErrorKind::timeout);
    waiting_.pop_front();
  }
  for (Slot& slot : connections_) {
    ClientConnection& connection = *slot.connection;
    if (connection.connecting()) {
      if (elapsed(connection.connect_started_ns(), now_ns) >= config_.timeout_ns) {
        connection.close(CloseReason::connect_failed);
      }
    } else if (const InFlight* oldest = connection.oldest()) {
      if (now_ns >= config_.timeout_ns)
        connection.expire_scheduled_before(now_ns - config_.timeout_ns);
      // Unanswered a whole timeout after it was sent: the connection is stuck.
      if (oldest->sent_ns + config_.timeout_ns <= now_ns) connection.close(CloseReason::timeout);
    } else if (connection.idle() && !stopping_ && slot.retry_at_ns <= now_ns) {
      open(slot, now_ns);
    }
  }
  if (!reachable()) fail_waiting(ErrorKind::connect);
}

bool TargetLane::drained() const {
  if (!waiting_.empty()) return false;
  for (const Slot& slot : connections_) {
    if (slot.connection->unresolved() > 0) return false;
  }
  return true;
}

void TargetLane::stop() {
  stopping_ = true;
  fail_waiting(ErrorKind::timeout);
  for (Slot& slot : connections_) slot.connection->close(CloseReason::stopping);
}

}  // namespace paystream::bench
