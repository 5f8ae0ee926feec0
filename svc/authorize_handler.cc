#include "svc/authorize_handler.h"

#include <openssl/rand.h>

#include "base/ascii.h"
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
      // A 502 or 504 may follow an authorization the processor made: reconciliation looks
      // for these. A 503 was never sent.
      .str("outcome", rejected ? "not_sent" : "unknown")
      .str("transaction_id", step.transaction_id)
      .str("request_id", step.request_id);
}

void AuthorizeHandler::log_store_write_failed(const core::AuthorizeStep& step) {
  constexpr const char* kMessage = "idempotency store not updated";
  if (!net::log::admit(store_log_, kMessage, base::monotonic_ms())) return;
  net::log::warn(kMessage)
      .num("status", step.status)
      .str("transaction_id", step.transaction_id)
      .str("request_id", step.request_id);
}

AuthorizeHandler::Wait::Wait(net::Reactor& reactor, AuthorizeHandler& owner, uint32_t call)
    : timer(reactor, [&owner, this, call] {
        owner.step(owner.pipeline_.resume(call, now()), responder);
        owner.sync_pending_work();
      }) {}

AuthorizeHandler::AuthorizeHandler(net::Reactor& reactor, core::AuthorizeShared& shared,
                                   core::MetricShard& shard, uint64_t seed,
                                   uint32_t log_lines_per_second)
    : reactor_(reactor),
      fallback_rng_(seed ^ 0x9e3779b97f4a7c15ULL),
      pipeline_(shared, shard, seed, csprng_entropy, &fallback_rng_),
      rejected_log_(log_lines_per_second),
      failed_log_(log_lines_per_second),
      breaker_log_(log_lines_per_second),
      store_log_(log_lines_per_second) {}

void AuthorizeHandler::use_store(core::EmbeddedStore& store) {
  store_ = std::make_unique<IdempotencyBackend>(store, on_store_reply, this);
}

void AuthorizeHandler::use_store(net::RedisClient& redis) {
  store_ = std::make_unique<IdempotencyBackend>(redis, on_store_reply, this);
}

void AuthorizeHandler::use_processor(net::HttpClient& client, std::string target,
                                     const ProcessorCredential* credential) {
  processor_ = std::make_unique<ProcessorLink>(client, std::move(target), credential,
                                               on_processor_reply, this);
}

void AuthorizeHandler::handle(const net::Request& request, const net::Responder& responder) {
  core::AuthorizeInput input{.content_type = request.header("content-type"),
                             .request_id = request.header("x-request-id"),
                             .body = request.body};
  for (const net::Header& header : request.headers) {
    if (!base::equals_ignore_case(header.name, "idempotency-key")) continue;
    if (input.idempotency_key_count++ == 0) input.idempotency_key = header.value;
  }
  step(pipeline_.begin(input, now()), responder);
  sync_pending_work();
}

void AuthorizeHandler::sync_pending_work() {
  const size_t in_flight = pipeline_.in_flight();
  if (in_flight == pending_reported_) return;
  const auto delta = static_cast<int64_t>(in_flight) - static_cast<int64_t>(pending_reported_);
  pending_reported_ = in_flight;
  reactor_.add_pending_work(delta);
}

AuthorizeHandler::Wait& AuthorizeHandler::wait_for(uint32_t call) {
  if (waits_.size() <= call) waits_.resize(call + 1);
  std::unique_ptr<Wait>& wait = waits_[call];
  if (!wait) wait = std::make_unique<Wait>(reactor_, *this, call);
  return *wait;
}

void AuthorizeHandler::on_store_reply(void* self, uint32_t call, const core::StoreReply& reply) {
  auto& handler = *static_cast<AuthorizeHandler*>(self);
  // Copied: resuming may hand this call's slot to a new store operation.
  const net::Responder responder = handler.waits_[call]->responder;
  handler.step(handler.pipeline_.resume_store(call, reply, now()), responder);
  handler.sync_pending_work();
}

void AuthorizeHandler::on_processor_reply(void* self, uint32_t call,
                                          const core::ProcessorReply& reply) {
  auto& handler = *static_cast<AuthorizeHandler*>(self);
  const net::Responder responder = handler.waits_[call]->responder;
  handler.step(handler.pipeline_.resume_processor(call, reply, now()), responder);
  handler.sync_pending_work();
}

void AuthorizeHandler::step(const core::AuthorizeStep& step, const net::Responder& responder) {
  for (const core::BreakerTransition& t : step.transitions) log_transition(t);
  if (step.kind == core::AuthorizeStep::Kind::reset) {
    responder.reset();
    return;
  }
  if (step.kind == core::AuthorizeStep::Kind::wake) {
    Wait& wait = wait_for(step.call);
    wait.responder = responder;
    wait.timer.start(step.wake_after_ms);
    return;
  }
  if (step.kind == core::AuthorizeStep::Kind::store) {
    wait_for(step.call).responder = responder;
    if (store_) {
      store_->run(step.store, step.call);
    } else {
      on_store_reply(this, step.call, core::StoreReply{.kind = core::StoreReply::Kind::failed});
    }
    return;
  }
  if (step.kind == core::AuthorizeStep::Kind::process) {
    wait_for(step.call).responder = responder;
    if (processor_) {
      processor_->send(step.processor, step.call);
    } else {
      on_processor_reply(this, step.call,
                         core::ProcessorReply{.kind = core::ProcessorReply::Kind::failed});
    }
    return;
  }
  if (step.failed) log_failure(step);
  if (step.store_write_failed) log_store_write_failed(step);
  net::ResponseHeader headers[3] = {{"X-Request-Id", step.request_id}};
  size_t count = 1;
  if (!step.retry_after.empty()) headers[count++] = {"Retry-After", step.retry_after};
  if (step.replayed) headers[count++] = {"Idempotent-Replayed", "true"};
  responder.respond(net::Response{.status = step.status,
                                  .body = step.body,
                                  .headers = std::span<const net::ResponseHeader>(headers, count)});
}

}  // namespace paystream::svc
