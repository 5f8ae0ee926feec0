#include "svc/authorize_handler.h"

#include <sys/random.h>

#include <cstring>

#include "core/authorize_response.h"
#include "core/request_headers.h"
#include "net/clock.h"
#include "net/log.h"

namespace paystream::svc {
namespace {

void log_transition(const core::BreakerTransition& t) {
  if (!t.happened()) return;
  auto line = t.to == core::BreakerState::open ? net::log::warn("circuit breaker state changed")
                                               : net::log::info("circuit breaker state changed");
  line.str("from", core::breaker_state_name(t.from)).str("to", core::breaker_state_name(t.to));
}

}  // namespace

AuthorizeHandler::AuthorizeHandler(AuthorizeShared& shared, uv_loop_t* loop,
                                   core::MetricShard& shard, uint64_t seed)
    : shared_(shared), loop_(loop), shard_(shard), decoder_(shared.max_body_bytes), rng_(seed) {
  body_.reserve(512);
}

AuthorizeHandler::~AuthorizeHandler() = default;

AuthorizeHandler::Call* AuthorizeHandler::take_call() {
  if (free_calls_ == nullptr) {
    calls_.push_back(std::make_unique<Call>());
    Call* fresh = calls_.back().get();
    uv_timer_init(loop_, &fresh->timer);
    fresh->timer.data = fresh;
    fresh->owner = this;
    return fresh;
  }
  Call* call = free_calls_;
  free_calls_ = call->next_free;
  return call;
}

void AuthorizeHandler::give_back(Call* call) {
  call->next_free = free_calls_;
  free_calls_ = call;
}

std::string_view AuthorizeHandler::request_id_for(const net::Request& request, char* buffer) {
  const std::string_view given = request.header("x-request-id");
  if (core::is_valid_request_id(given)) return given;
  core::format_request_id(rng_.next(), rng_.next(), buffer);
  return {buffer, core::kGeneratedRequestIdLength};
}

void AuthorizeHandler::new_transaction_id(char* out) {
  const uint64_t now = net::unix_now_ms();
  core::TxnIdEntropy entropy{};
  if (txn_ids_.needs_entropy(now)) {
    // From the kernel, so ids are unique across reactors, pods and restarts.
    if (getrandom(entropy.data(), entropy.size(), 0) != static_cast<ssize_t>(entropy.size())) {
      for (uint8_t& b : entropy) b = static_cast<uint8_t>(rng_.next());
    }
  }
  txn_ids_.next(now, entropy, out);
}

const core::ProcessorParameters& AuthorizeHandler::processor_parameters() {
  // One acquire load per request; the snapshot is read only when an operator changed it.
  const uint64_t generation = shared_.faults.generation();
  if (generation != fault_generation_) {
    const core::FaultSnapshot snapshot = shared_.faults.current();
    parameters_ = snapshot.state.effective(shared_.environment);
    fault_generation_ = snapshot.generation;
  }
  return parameters_;
}

void AuthorizeHandler::record(core::AuthStatus status, core::ProcessorLabel label,
                              uint64_t started_ns) {
  shard_.record(status, label, (uv_hrtime() - started_ns) / 1000, uv_now(loop_));
}

void AuthorizeHandler::respond_json(const net::Responder& responder, int status,
                                    std::string_view request_id, std::string_view retry_after) {
  const net::ResponseHeader headers[] = {{"X-Request-Id", request_id},
                                         {"Retry-After", retry_after}};
  const size_t count = retry_after.empty() ? 1 : 2;
  responder.respond(net::Response{.status = status,
                                  .body = body_,
                                  .headers = std::span<const net::ResponseHeader>(headers, count)});
}

void AuthorizeHandler::reject_invalid(const net::Responder& responder, std::string_view request_id,
                                      std::string_view field, std::string_view message,
                                      uint64_t started_ns) {
  core::format_invalid_request(field, message, body_);
  record(core::AuthStatus::invalid, core::ProcessorLabel::unknown, started_ns);
  respond_json(responder, 400, request_id);
}

void AuthorizeHandler::handle(const net::Request& request, const net::Responder& responder) {
  const uint64_t started_ns = uv_hrtime();
  // The loop's clock (libuv timers count on it) is refreshed, so the processor's
  // latency is measured on the same clock its timer runs on.
  uv_update_time(loop_);
  char generated_id[core::kGeneratedRequestIdLength];
  const std::string_view request_id = request_id_for(request, generated_id);

  if (!core::is_json_utf8_content_type(request.header("content-type"))) {
    body_ =
        R"json({"error":"unsupported_media_type","message":"Content-Type must be application/json (charset utf-8 if given)"})json";
    record(core::AuthStatus::invalid, core::ProcessorLabel::unknown, started_ns);
    respond_json(responder, 415, request_id);
    return;
  }
  const core::DecodeError error = decoder_.decode(request.body, request_);
  if (!error.ok()) {
    reject_invalid(responder, request_id, error.field, error.message, started_ns);
    return;
  }

  const core::ProcessorParameters& parameters = processor_parameters();
  if (parameters.reset_rate > 0.0 && rng_.next_unit() < parameters.reset_rate) {
    // Fault injection: the connection is reset (RST) instead of answered; nothing is
    // counted, as when a worker dies with the request in hand.
    responder.reset();
    return;
  }

  Call& call = *take_call();
  call.responder = responder;
  call.started_ns = started_ns;
  call.started_loop_ms = uv_now(loop_);
  call.times_out = false;
  call.latency_ms = 0;
  call.label = core::processor_label(request_.network);
  new_transaction_id(call.transaction_id);
  std::memcpy(call.request_id, request_id.data(), request_id.size());
  call.request_id_length = static_cast<uint8_t>(request_id.size());
  std::memcpy(call.last4, request_.card.last4().data(), sizeof call.last4);
  call.answer = core::AuthorizeResponse{
      .transaction_id = std::string_view(call.transaction_id, core::kTxnIdLength),
      .processor = request_.network,
      .amount_minor = request_.amount_minor,
      .currency = request_.currency,
      .card_last4 = std::string_view(call.last4, sizeof call.last4),
      .version = shared_.version,
  };

  const core::ProcessorSettings rates{.success_rate = parameters.success_rate,
                                      .error_rate = parameters.error_rate};
  if (core::declined_before_processor(request_)) {
    call.decision = core::decide(request_, rates, rng_);
    finish(call);
    return;
  }
  const core::Admission admission = shared_.breaker.admit(uv_now(loop_));
  log_transition(admission.transition);
  if (!admission.admitted) {
    const uint32_t seconds = core::retry_after_seconds(admission.retry_after_ms);
    char retry_after[12];
    const int n = snprintf(retry_after, sizeof retry_after, "%u", seconds);
    core::format_service_error(core::ServiceError::circuit_open, call.answer.transaction_id, body_);
    net::log::warn("authorization rejected")
        .num("status", 503)
        .str("error", "circuit_open")
        .str("transaction_id", call.answer.transaction_id)
        .str("request_id", request_id);
    record(core::AuthStatus::rejected, call.label, started_ns);
    respond_json(responder, 503, request_id, std::string_view(retry_after, static_cast<size_t>(n)));
    give_back(&call);
    return;
  }
  call.ticket = admission.ticket;
  const uint32_t latency = core::simulated_latency_ms(
      {.base_ms = parameters.latency_ms,
       .jitter_ms = parameters.jitter_ms,
       .slow_rate = parameters.slow_rate,
       .slow_ms = parameters.slow_latency_ms},
      rng_);
  call.decision = core::decide(request_, rates, rng_);
  call.times_out = latency > shared_.processor_timeout_ms;
  call.latency_ms = call.times_out ? shared_.processor_timeout_ms : latency;
  if (call.latency_ms == 0) {
    finish(call);  // the simulated processor answered at once
    return;
  }
  uv_timer_start(&call.timer, on_processor_answer, call.latency_ms, 0);
}

void AuthorizeHandler::on_processor_answer(uv_timer_t* timer) {
  Call* call = static_cast<Call*>(timer->data);
  call->owner->finish(*call);
}

void AuthorizeHandler::finish(Call& call) {
  const std::string_view request_id(call.request_id, call.request_id_length);
  const bool failed = call.times_out || call.decision.verdict == core::Verdict::processor_error;
  if (call.decision.processor_called) {
    // Every admitted call reports exactly once, even when its client has gone.
    const core::ReportResult result = shared_.breaker.report(
        call.ticket, failed ? core::CallOutcome::failure : core::CallOutcome::success,
        uv_now(loop_));
    log_transition(result.transition);
  }
  int status = 200;
  if (failed) {
    const core::ServiceError error = call.times_out ? core::ServiceError::processor_timeout
                                                    : core::ServiceError::processor_error;
    status = call.times_out ? 504 : 502;
    core::format_service_error(error, call.answer.transaction_id, body_);
    net::log::warn("authorization failed")
        .num("status", status)
        .str("error", core::service_error_name(error))
        .str("transaction_id", call.answer.transaction_id)
        .str("request_id", request_id);
  } else {
    call.answer.verdict = call.decision.verdict;
    call.answer.authorization_code = call.decision.authorization_code_view();
    call.answer.decline_code = call.decision.decline_code;
    uv_update_time(loop_);
    call.answer.latency_ms = uv_now(loop_) - call.started_loop_ms;
    core::format_authorize_response(call.answer, body_);
  }
  const core::AuthStatus label = failed ? core::AuthStatus::error
                                 : call.decision.verdict == core::Verdict::approved
                                     ? core::AuthStatus::approved
                                     : core::AuthStatus::declined;
  // Recorded before the answer leaves: a client that has its answer finds it counted.
  record(label, call.label, call.started_ns);
  respond_json(call.responder, status, request_id);  // dropped if the client has gone
  give_back(&call);
}

}  // namespace paystream::svc
