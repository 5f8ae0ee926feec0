#include "svc/authorize_handler.h"

#include <openssl/rand.h>

#include "base/clock.h"
#include "net/log.h"

namespace paystream::svc {
namespace {

// Transaction ids' random bits, from OpenSSL's per-thread DRBG (seeded by the kernel, so ids
// are unique across reactors, pods and restarts; reseeded in user space, so a request makes no
// system call for them). The call lives here, not in core: core stays deterministic for its
// inputs, and its tests and benchmarks pass a seeded generator as the EntropySource instead.
void csprng_entropy(std::span<uint8_t> out, void* fallback) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) == 1) return;
  auto* rng = static_cast<core::Xoshiro256*>(fallback);
  for (uint8_t& b : out) b = static_cast<uint8_t>(rng->next());
}

core::PipelineTime now() {
  return {.monotonic_ns = base::monotonic_ns(), .unix_ms = base::unix_now_ms()};
}

}  // namespace

void AuthorizeHandler::log_transition(const core::BreakerTransition& t) {
  if (!t.happened()) return;
  if (!net::log::admit(breaker_log_, "circuit breaker state changed", base::monotonic_ms())) return;
  auto line = t.to == core::BreakerState::open ? net::log::warn("circuit breaker state changed")
                                               : net::log::info("circuit breaker state changed");
  line.str("from", core::breaker_state_name(t.from)).str("to", core::breaker_state_name(t.to));
}

void AuthorizeHandler::log_failure(const core::AuthorizeStep& step) {
  const bool rejected = step.status == 503;
  const char* msg = rejected ? "authorization rejected" : "authorization failed";
  if (!net::log::admit(rejected ? rejected_log_ : failed_log_, msg, base::monotonic_ms())) return;
  net::log::warn(msg)
      .num("status", step.status)
      .str("error", core::service_error_name(step.error))
      .str("transaction_id", step.transaction_id)
      .str("request_id", step.request_id);
}

AuthorizeHandler::Wait::Wait(net::Reactor& reactor, AuthorizeHandler& owner, uint32_t call)
    : timer(reactor,
            [&owner, this, call] { owner.step(owner.pipeline_.resume(call, now()), responder); }) {}

AuthorizeHandler::AuthorizeHandler(net::Reactor& reactor, core::AuthorizeShared& shared,
                                   core::MetricShard& shard, uint64_t seed,
                                   uint32_t log_lines_per_second)
    : reactor_(reactor),
      fallback_rng_(seed ^ 0x9e3779b97f4a7c15ULL),
      pipeline_(shared, shard, seed, csprng_entropy, &fallback_rng_),
      rejected_log_(log_lines_per_second),
      failed_log_(log_lines_per_second),
      breaker_log_(log_lines_per_second) {}

void AuthorizeHandler::handle(const net::Request& request, const net::Responder& responder) {
  const core::AuthorizeInput input{.content_type = request.header("content-type"),
                                   .request_id = request.header("x-request-id"),
                                   .body = request.body};
  step(pipeline_.begin(input, now()), responder);
}

void AuthorizeHandler::step(const core::AuthorizeStep& step, const net::Responder& responder) {
  for (const core::BreakerTransition& t : step.transitions) log_transition(t);
  if (step.kind == core::AuthorizeStep::Kind::reset) {
    responder.reset();
    return;
  }
  if (step.kind == core::AuthorizeStep::Kind::wake) {
    if (waits_.size() <= step.call) waits_.resize(step.call + 1);
    std::unique_ptr<Wait>& wait = waits_[step.call];
    if (!wait) wait = std::make_unique<Wait>(reactor_, *this, step.call);
    wait->responder = responder;
    wait->timer.start(step.wake_after_ms);
    return;
  }
  if (step.failed) log_failure(step);
  const net::ResponseHeader headers[] = {{"X-Request-Id", step.request_id},
                                         {"Retry-After", step.retry_after}};
  const size_t count = step.retry_after.empty() ? 1 : 2;
  responder.respond(net::Response{.status = step.status,
                                  .body = step.body,
                                  .headers = std::span<const net::ResponseHeader>(headers, count)});
}

}  // namespace paystream::svc
