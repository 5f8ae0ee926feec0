#include "bench/authload/load_worker.h"

#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "base/clock.h"

namespace paystream::bench {
namespace {

constexpr uint64_t kCheckPeriodMs = 10;
constexpr unsigned kChecksPerPublish = 20;
// Sends per scheduler pass when behind: then the loop reads responses before going on.
constexpr uint64_t kMaxBurst = 1024;
// Originals a thread remembers for duplicates: twice what it can have in flight, within bounds.
constexpr size_t kMinRememberedOriginals = 1024;
constexpr size_t kMaxRememberedOriginals = 65536;

LoadWorker* of(uv_handle_t* handle) {
  return static_cast<LoadWorker*>(handle->data);
}

template <typename Handle>
uv_handle_t* as_handle(Handle* h) {
  return reinterpret_cast<uv_handle_t*>(h);
}

}  // namespace

LoadWorker::LoadWorker(WorkerPlan plan) : plan_(std::move(plan)), split_(plan_.weight) {
  local_total_ = thread_share(plan_.total_requests, plan_.index, plan_.count);
  period_ns_ = 1e9L / static_cast<long double>(plan_.rate);
}

LoadWorker::~LoadWorker() {
  if (thread_.joinable()) {
    abort();
    thread_.join();
  }
}

void LoadWorker::start() {
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &wake_, [](uv_async_t* a) { of(as_handle(a))->on_wake(); });
  uv_timer_init(&loop_, &check_timer_);
  uv_idle_init(&loop_, &spin_idle_);
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  uv_poll_init(&loop_, &send_poll_, timer_fd_);
  if (plan_.idempotency_keys) {
    size_t slots = 0;
    for (const LaneConfig& config : plan_.lanes) slots += config.connections * config.pipeline;
    KeyTrackerConfig keys = plan_.keys;
    keys.capacity = std::clamp(2 * slots, kMinRememberedOriginals, kMaxRememberedOriginals);
    keys_ = std::make_unique<KeyTracker>(keys);
  }
  for (LaneConfig& config : plan_.lanes) {
    config.keys = keys_.get();
    lanes_.push_back(config.connections > 0 ? std::make_unique<TargetLane>(&loop_, config)
                                            : nullptr);
  }
  for (uv_handle_t* h : {as_handle(&wake_), as_handle(&check_timer_), as_handle(&send_poll_),
                         as_handle(&spin_idle_)}) {
    h->data = this;
  }
  thread_ = std::thread([this] { run(); });
}

void LoadWorker::run() {
  // Wake-ups exactly at the timerfd deadlines, not up to 50 µs later.
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  for (auto& lane : lanes_) {
    if (lane) lane->start_connecting();
  }
  uv_timer_start(
      &check_timer_, [](uv_timer_t* t) { of(as_handle(t))->on_check(); }, 1, kCheckPeriodMs);
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
  ::close(timer_fd_);
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  changed_.notify_all();
}

void LoadWorker::send_wake() {
  std::lock_guard lock(mutex_);
  if (!wake_closed_) uv_async_send(&wake_);
}

void LoadWorker::begin(uint64_t start_ns) {
  begin_at_.store(start_ns, std::memory_order_release);
  send_wake();
}

void LoadWorker::abort() {
  abort_.store(true, std::memory_order_release);
  send_wake();
}

void LoadWorker::on_wake() {
  if (abort_.load(std::memory_order_acquire)) {
    shut_down();
    return;
  }
  const uint64_t begin_at = begin_at_.load(std::memory_order_acquire);
  if (started_ || begin_at == 0) return;
  started_ = true;
  start_ns_ = begin_at;
  uv_poll_start(&send_poll_, UV_READABLE, [](uv_poll_t* p, int, int) {
    LoadWorker* w = of(as_handle(p));
    uint64_t expirations = 0;
    [[maybe_unused]] ssize_t n = ::read(w->timer_fd_, &expirations, sizeof expirations);
    w->tick();
  });
  uv_idle_start(&spin_idle_, [](uv_idle_t* i) { of(as_handle(i))->tick(); });
}

uint64_t LoadWorker::due_ns(uint64_t local_index) const {
  const uint64_t global = local_index * plan_.count + plan_.index;
  return start_ns_ + static_cast<uint64_t>(static_cast<long double>(global) * period_ns_);
}

void LoadWorker::tick() {
  if (schedule_done_ || shutting_down_) return;
  const uint64_t now = base::monotonic_ns();
  last_tick_ns_ = now;
  uint64_t sent = 0;
  while (next_ < local_total_ && due_ns(next_) <= now && sent < kMaxBurst) {
    dispatch(next_);
    ++next_;
    ++sent;
  }
  if (next_ >= local_total_) {
    schedule_done_ = true;
    uv_idle_stop(&spin_idle_);
    uv_poll_stop(&send_poll_);
    return;
  }
  arm(due_ns(next_), now, sent == kMaxBurst);
}

void LoadWorker::arm(uint64_t due, uint64_t now, bool behind) {
  if (plan_.tick_ns > 0) due = std::max(due, last_tick_ns_ + plan_.tick_ns);
  if (behind || due <= now + plan_.spin_ns) {
    // Keep the loop polling without sleeping until the send is due.
    if (uv_is_active(as_handle(&spin_idle_)) == 0) {
      uv_idle_start(&spin_idle_, [](uv_idle_t* i) { of(as_handle(i))->tick(); });
    }
    return;
  }
  uv_idle_stop(&spin_idle_);
  const uint64_t wake = due - plan_.spin_ns;
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(wake / 1'000'000'000u);
  spec.it_value.tv_nsec = static_cast<long>(wake % 1'000'000'000u);
  timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void LoadWorker::dispatch(uint64_t local_index) {
  const uint64_t global = local_index * plan_.count + plan_.index;
  size_t target = lanes_.size() == 2 ? split_.next() : 0;
  if (!lanes_[target]) target = 1 - target;  // only when that target's weight rounds to none
  const LaneConfig& config = plan_.lanes[target];
  InFlight request;
  request.scheduled_ns = due_ns(local_index);
  const size_t distinct =
      plan_.distinct_requests > 0 ? plan_.distinct_requests : config.requests->size();
  request.pool_index = static_cast<uint32_t>(global % distinct);
  request.measured = global >= plan_.warmup_requests;
  if (keys_) {
    const KeyedChoice choice = keys_->next(global, request.pool_index, request.measured);
    request.keyed = choice.ref;
    request.pool_index = choice.pool_index;
  }
  lanes_[target]->dispatch(request);
}

void LoadWorker::on_check() {
  if (shutting_down_) return;
  const uint64_t now = base::monotonic_ns();
  bool all_attempted = true;
  bool all_drained = true;
  for (auto& lane : lanes_) {
    if (!lane) continue;
    lane->check(now);
    all_attempted = all_attempted && lane->first_attempts_done();
    all_drained = all_drained && lane->drained();
  }
  if (all_attempted && !connected_signalled_) signal_connected();
  if (++checks_ % kChecksPerPublish == 0) publish_live();
  if (schedule_done_ && all_drained) {
    publish_live();
    shut_down();
  }
}

void LoadWorker::signal_connected() {
  connected_signalled_ = true;
  std::vector<size_t> established;
  for (auto& lane : lanes_) established.push_back(lane ? lane->established() : 0);
  {
    std::lock_guard lock(mutex_);
    established_ = std::move(established);
    connected_ = true;
  }
  changed_.notify_all();
}

void LoadWorker::publish_live() {
  std::lock_guard lock(mutex_);
  live_.sent = live_.responses = live_.errors = 0;
  live_.latency.clear();
  for (auto& lane : lanes_) {
    if (!lane) continue;
    const TargetStats& s = lane->stats();
    live_.sent += s.sent;
    live_.responses += s.responses;
    live_.errors += s.total_errors();
    live_.latency.merge(s.latency);
  }
}

void LoadWorker::shut_down() {
  if (shutting_down_) return;
  shutting_down_ = true;
  for (auto& lane : lanes_) {
    if (lane) lane->stop();
  }
  uv_idle_stop(&spin_idle_);
  for (uv_handle_t* h :
       {as_handle(&check_timer_), as_handle(&send_poll_), as_handle(&spin_idle_)}) {
    uv_close(h, nullptr);
  }
  std::lock_guard lock(mutex_);
  wake_closed_ = true;
  uv_close(as_handle(&wake_), nullptr);
}

bool LoadWorker::wait_connected(uint64_t deadline_ns) {
  std::unique_lock lock(mutex_);
  const uint64_t now = base::monotonic_ns();
  const auto wait = std::chrono::nanoseconds(deadline_ns > now ? deadline_ns - now : 0);
  return changed_.wait_for(lock, wait, [this] { return connected_ || done_; }) && connected_;
}

std::vector<size_t> LoadWorker::established() {
  std::lock_guard lock(mutex_);
  return established_;
}

bool LoadWorker::done() {
  std::lock_guard lock(mutex_);
  return done_;
}

void LoadWorker::join() {
  if (thread_.joinable()) thread_.join();
}

void LoadWorker::read_live(LiveCounts& out) {
  std::lock_guard lock(mutex_);
  out.sent = live_.sent;
  out.responses = live_.responses;
  out.errors = live_.errors;
  out.latency = live_.latency;
}

IdempotencyStats LoadWorker::idempotency() const {
  return keys_ ? keys_->stats() : IdempotencyStats{};
}

std::vector<TargetStats> LoadWorker::stats() const {
  std::vector<TargetStats> out(plan_.lanes.size());
  for (size_t t = 0; t < lanes_.size(); ++t) {
    if (lanes_[t]) out[t] = lanes_[t]->stats();
  }
  return out;
}

}  // namespace paystream::bench
