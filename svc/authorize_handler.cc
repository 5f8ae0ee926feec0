#include "svc/authorize_handler.h"

#include <sys/random.h>

#include "net/clock.h"
#include "net/log.h"

namespace paystream::svc {
namespace {

// Transaction ids' random bits, from the kernel so ids are unique across reactors,
// pods and restarts.
void kernel_entropy(std::span<uint8_t> out, void* fallback) {
  if (getrandom(out.data(), out.size(), 0) == static_cast<ssize_t>(out.size())) return;
  auto* rng = static_cast<core::Xoshiro256*>(fallback);
  for (uint8_t& b : out) b = static_cast<uint8_t>(rng->next());
}

void log_transition(const core::BreakerTransition& t) {
  if (!t.happened()) return;
  auto line = t.to == core::BreakerState::open ? net::log::warn("circuit breaker state changed")
                                               : net::log::info("circuit breaker state changed");
  line.str("from", core::breaker_state_name(t.from)).str("to", core::breaker_state_name(t.to));
}

}  // namespace

AuthorizeHandler::AuthorizeHandler(core::AuthorizeShared& shared, uv_loop_t* loop,
                                   core::MetricShard& shard, uint64_t seed)
    : pipeline_(shared, shard, seed, kernel_entropy, &fallback_rng_),
      loop_(loop),
      fallback_rng_(seed ^ 0x9e3779b97f4a7c15ULL) {}

AuthorizeHandler::~AuthorizeHandler() = default;

core::PipelineTime AuthorizeHandler::now() {
  return {.monotonic_ns = uv_hrtime(), .unix_ms = net::unix_now_ms()};
}

void AuthorizeHandler::handle(const net::Request& request, const net::Responder& responder) {
  // The loop's clock is refreshed, so a wake-up timer counts from now.
  uv_update_time(loop_);
  const core::AuthorizeInput input{.content_type = request.header("content-type"),
                                   .request_id = request.header("x-request-id"),
                                   .body = request.body};
  step(pipeline_.begin(input, now()), responder);
}

void AuthorizeHandler::on_wake(uv_timer_t* timer) {
  auto* wait = static_cast<Wait*>(timer->data);
  AuthorizeHandler& self = *wait->owner;
  self.step(self.pipeline_.resume(wait->call, self.now()), wait->responder);
}

void AuthorizeHandler::step(const core::AuthorizeStep& step, const net::Responder& responder) {
  for (const core::BreakerTransition& t : step.transitions) log_transition(t);
  if (step.kind == core::AuthorizeStep::Kind::wake) {
    if (waits_.size() <= step.call) waits_.resize(step.call + 1);
    std::unique_ptr<Wait>& wait = waits_[step.call];
    if (!wait) {
      wait = std::make_unique<Wait>();
      uv_timer_init(loop_, &wait->timer);
      wait->timer.data = wait.get();
      wait->owner = this;
      wait->call = step.call;
    }
    wait->responder = responder;
    uv_timer_start(&wait->timer, on_wake, step.wake_after_ms, 0);
    return;
  }
  if (step.failed) {
    net::log::warn(step.status == 503 ? "authorization rejected" : "authorization failed")
        .num("status", step.status)
        .str("error", core::service_error_name(step.error))
        .str("transaction_id", step.transaction_id)
        .str("request_id", step.request_id);
  }
  const net::ResponseHeader headers[] = {{"X-Request-Id", step.request_id},
                                         {"Retry-After", step.retry_after}};
  const size_t count = step.retry_after.empty() ? 1 : 2;
  responder.respond(net::Response{.status = step.status,
                                  .body = step.body,
                                  .headers = std::span<const net::ResponseHeader>(headers, count)});
}

}  // namespace paystream::svc
