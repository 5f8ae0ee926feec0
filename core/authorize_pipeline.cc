#include "core/authorize_pipeline.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace paystream::core {

constexpr std::string_view kIdempotencyKeyHeader = "Idempotency-Key";
constexpr std::string_view kUnsupportedMediaType =
    R"json({"error":"unsupported_media_type","message":"Content-Type must be application/json (charset utf-8 if given)"})json";

// One authorization from begin() to its answer. Pooled: taken per request, never freed
// while the pipeline lives. The answer's views point into the buffers below.
struct AuthorizePipeline::Call {
  uint32_t index = 0;
  BreakerTicket ticket;
  ProcessorLabel label = ProcessorLabel::unknown;
  Decision decision;
  bool times_out = false;
  uint32_t wait_ms = 0;     // the simulated processor's latency (or the timeout)
  uint64_t started_ns = 0;  // the request complete, on the monotonic clock
  // Http mode: the call goes to the real processor once any injected latency has passed.
  bool remote = false;
  uint64_t admitted_ns = 0;    // the breaker admitted it: PROCESSOR_TIMEOUT_MS counts from here
  std::string processor_body;  // the contract's request (card number included)
  AuthorizeResponse answer;
  char transaction_id[kTxnIdLength];
  char request_id[kMaxRequestIdLength];
  uint8_t request_id_length = 0;
  char last4[4];

  // Idempotency keys (keyed calls only). The request is kept: another begin() reuses the
  // pipeline's while the store answers.
  bool keyed = false;
  AuthorizeRequest request;
  HmacDigest store_key{};
  HmacDigest fingerprint{};
  std::string claim;       // our claim's bytes
  std::string record;      // the answer record (or, for a release, the answer's body)
  size_t body_offset = 0;  // where the answer's body starts in `record`
  StoreOp pending_op = StoreOp::claim;
  uint64_t store_started_ns = 0;
  // The answer, kept across the complete or release round trip.
  int status = 200;
  AuthStatus outcome = AuthStatus::approved;
  bool failed = false;
  ServiceError error = ServiceError::processor_error;
  char retry_after[12];
  uint8_t retry_after_length = 0;

  std::string_view request_id_view() const { return {request_id, request_id_length}; }
  std::string_view transaction_id_view() const { return {transaction_id, kTxnIdLength}; }
};

AuthorizePipeline::AuthorizePipeline(AuthorizeShared& shared, MetricShard& shard, uint64_t seed,
                                     EntropySource entropy, void* entropy_context)
    : shared_(shared),
      shard_(shard),
      decoder_(shared.max_body_bytes),
      rng_(seed),
      entropy_(entropy),
      entropy_context_(entropy_context) {
  body_.reserve(512);
}

AuthorizePipeline::~AuthorizePipeline() = default;

AuthorizePipeline::Call& AuthorizePipeline::take_call() {
  ++in_flight_;
  if (free_calls_.empty()) {
    calls_.push_back(std::make_unique<Call>());
    calls_.back()->index = static_cast<uint32_t>(calls_.size() - 1);
    free_calls_.reserve(calls_.capacity());  // give_back() never allocates
    return *calls_.back();
  }
  Call& call = *calls_[free_calls_.back()];
  free_calls_.pop_back();
  return call;
}

void AuthorizePipeline::give_back(Call& call) {
  --in_flight_;
  free_calls_.push_back(call.index);
}

std::string_view AuthorizePipeline::request_id_for(std::string_view given, char* buffer) {
  if (is_valid_request_id(given)) return given;
  format_request_id(rng_.next(), rng_.next(), buffer);
  return {buffer, kGeneratedRequestIdLength};
}

const ProcessorParameters& AuthorizePipeline::processor_parameters() {
  // One acquire load per request; the snapshot is read only when an operator changed it.
  const uint64_t generation = shared_.faults.generation();
  if (generation != fault_generation_) {
    const FaultSnapshot snapshot = shared_.faults.current();
    parameters_ = snapshot.state.effective(shared_.environment);
    fault_generation_ = snapshot.generation;
  }
  return parameters_;
}

AuthorizeStep AuthorizePipeline::answer(int status, std::string_view request_id, AuthStatus outcome,
                                        ProcessorLabel label, uint64_t started_ns,
                                        const PipelineTime& now) {
  // Recorded before the answer leaves: a client that has its answer finds it counted.
  shard_.record(outcome, label, (now.monotonic_ns - started_ns) / 1000, now.monotonic_ms());
  AuthorizeStep step;
  step.status = status;
  step.body = body_;
  step.request_id = request_id;
  return step;
}

AuthorizeStep AuthorizePipeline::begin(const AuthorizeInput& input, const PipelineTime& now) {
  const std::string_view request_id = request_id_for(input.request_id, generated_request_id_);
  if (!is_json_utf8_content_type(input.content_type)) {
    body_ = kUnsupportedMediaType;
    return answer(415, request_id, AuthStatus::invalid, ProcessorLabel::unknown, now.monotonic_ns,
                  now);
  }
  const IdempotencyKeyHeader key =
      parse_idempotency_key(input.idempotency_key, input.idempotency_key_count);
  if (!key.error.empty()) {
    format_invalid_request(kIdempotencyKeyHeader, key.error, body_);
    return answer(400, request_id, AuthStatus::invalid, ProcessorLabel::unknown, now.monotonic_ns,
                  now);
  }
  const DecodeError error = decoder_.decode(input.body, request_);
  if (!error.ok()) {
    format_invalid_request(error.field, error.message, body_);
    return answer(400, request_id, AuthStatus::invalid, ProcessorLabel::unknown, now.monotonic_ns,
                  now);
  }

  const ProcessorParameters& parameters = processor_parameters();
  if (parameters.reset_rate > 0.0 && rng_.next_unit() < parameters.reset_rate) {
    // Nothing is counted, as when a worker dies with the request in hand.
    AuthorizeStep step;
    step.kind = AuthorizeStep::Kind::reset;
    return step;
  }

  Call& call = take_call();
  call.started_ns = now.monotonic_ns;
  call.times_out = false;
  call.remote = false;
  call.wait_ms = 0;
  call.label = processor_label(request_.network);
  TxnIdEntropy entropy{};
  if (txn_ids_.needs_entropy(now.unix_ms)) entropy_(entropy, entropy_context_);
  txn_ids_.next(now.unix_ms, entropy, call.transaction_id);
  std::memcpy(call.request_id, request_id.data(), request_id.size());
  call.request_id_length = static_cast<uint8_t>(request_id.size());
  std::memcpy(call.last4, request_.card.last4().data(), sizeof call.last4);
  call.answer = AuthorizeResponse{
      .transaction_id = call.transaction_id_view(),
      .processor = request_.network,
      .amount_minor = request_.amount_minor,
      .currency = request_.currency,
      .card_last4 = std::string_view(call.last4, sizeof call.last4),
      .version = shared_.version,
  };
  call.keyed = !key.key.empty();
  if (!call.keyed) return execute(call, request_, now);

  if (!shared_.idempotency) {
    shard_.record_idempotency(IdempotencyResult::store_error);
    return refuse(call, 503, ServiceError::idempotency_store_unavailable, AuthStatus::rejected, 1,
                  now);
  }
  call.request = request_;
  call.store_key = shared_.idempotency->store_key(request_, key.key);
  call.fingerprint = shared_.idempotency->fingerprint(request_);
  encode_claim({.fingerprint = call.fingerprint,
                .claimed_unix_ms = now.unix_ms,
                .token = call.transaction_id_view()},
               call.claim);
  return store_step(call, StoreOp::claim, now);
}

AuthorizeStep AuthorizePipeline::execute(Call& call, const AuthorizeRequest& request,
                                         const PipelineTime& now) {
  const ProcessorParameters& parameters = processor_parameters();
  const ProcessorSettings rates{.success_rate = parameters.success_rate,
                                .error_rate = parameters.error_rate};
  if (declined_before_processor(request)) {
    call.decision = decide(request, rates, rng_);
    return finish(call, now);
  }
  const Admission admission = shared_.breaker.admit(now.monotonic_ms());
  if (!admission.admitted) {
    const uint32_t retry_after = retry_after_seconds(admission.retry_after_ms);
    if (call.keyed) {
      AuthorizeStep step = release_and_reject(call, ServiceError::circuit_open, retry_after, now);
      step.transitions[0] = admission.transition;
      return step;
    }
    const int n = std::snprintf(retry_after_, sizeof retry_after_, "%u", retry_after);
    format_service_error(ServiceError::circuit_open, call.transaction_id_view(), body_);
    AuthorizeStep step =
        answer(503, call.request_id_view(), AuthStatus::rejected, call.label, call.started_ns, now);
    step.retry_after = std::string_view(retry_after_, static_cast<size_t>(n));
    step.transitions[0] = admission.transition;
    step.failed = true;
    step.error = ServiceError::circuit_open;
    step.transaction_id = call.transaction_id_view();
    give_back(call);  // the views above stay valid: nothing reuses the call before our return
    return step;
  }
  call.ticket = admission.ticket;
  const uint32_t latency = simulated_latency_ms({.base_ms = parameters.latency_ms,
                                                 .jitter_ms = parameters.jitter_ms,
                                                 .slow_rate = parameters.slow_rate,
                                                 .slow_ms = parameters.slow_latency_ms},
                                                rng_);
  call.decision = decide(request, rates, rng_);
  call.times_out = latency > shared_.processor_timeout_ms;
  const uint32_t wait_ms = call.times_out ? shared_.processor_timeout_ms : latency;
  call.wait_ms = wait_ms;
  call.admitted_ns = now.monotonic_ns;
  // Http mode: an injected error or decline answers without a call; otherwise the
  // processor decides. The request is encoded now: request_ is reused while we wait.
  call.remote = shared_.processor_mode == ProcessorMode::http &&
                call.decision.verdict == Verdict::approved && !call.times_out;
  if (call.remote)
    encode_processor_request(request, call.transaction_id_view(), call.processor_body);
  if (wait_ms == 0) {
    // The simulated processor answered at once, or the real one is called now.
    AuthorizeStep step = call.remote ? processor_step(call, now) : finish(call, now);
    step.transitions[0] = admission.transition;
    return step;
  }
  AuthorizeStep step;
  step.kind = AuthorizeStep::Kind::wake;
  step.call = call.index;
  step.wake_after_ms = wait_ms;
  step.transitions[0] = admission.transition;
  return step;
}

AuthorizeStep AuthorizePipeline::resume(uint32_t index, const PipelineTime& now) {
  Call& call = *calls_[index];
  return call.remote ? processor_step(call, now) : finish(call, now);
}

AuthorizeStep AuthorizePipeline::processor_step(Call& call, const PipelineTime& now) {
  const uint64_t elapsed_ms = (now.monotonic_ns - call.admitted_ns) / 1'000'000;
  if (elapsed_ms >= shared_.processor_timeout_ms) {
    call.times_out = true;  // injected latency used the whole deadline
    call.remote = false;
    return finish(call, now);
  }
  AuthorizeStep step;
  step.kind = AuthorizeStep::Kind::process;
  step.call = call.index;
  step.processor = {.body = call.processor_body,
                    .idempotency_key = call.transaction_id_view(),
                    .timeout_ms = shared_.processor_timeout_ms - static_cast<uint32_t>(elapsed_ms)};
  return step;
}

AuthorizeStep AuthorizePipeline::resume_processor(uint32_t index, const ProcessorReply& reply,
                                                  const PipelineTime& now) {
  Call& call = *calls_[index];
  call.remote = false;
  Decision& decision = call.decision;
  switch (reply.kind) {
    case ProcessorReply::Kind::answered: {
      const ProcessorAnswer answer = processor_answers_.decode(reply.status, reply.body);
      if (answer.kind == ProcessorAnswer::Kind::invalid) {
        decision.verdict = Verdict::processor_error;
        shard_.record_processor_call(ProcessorCallResult::invalid, reply.upstream_us);
        break;
      }
      shard_.record_processor_call(ProcessorCallResult::answered, reply.upstream_us);
      if (answer.kind == ProcessorAnswer::Kind::approved) {
        decision.verdict = Verdict::approved;
        decision.authorization_code = answer.authorization_code;
      } else {
        decision.verdict = Verdict::declined;
        decision.decline_code = answer.decline_code;
      }
      break;
    }
    case ProcessorReply::Kind::timeout:
      shard_.record_processor_call(ProcessorCallResult::timeout, reply.upstream_us);
      call.times_out = true;
      break;
    case ProcessorReply::Kind::failed:
      shard_.record_processor_call(ProcessorCallResult::failed, reply.upstream_us);
      decision.verdict = Verdict::processor_error;
      break;
    case ProcessorReply::Kind::busy:
      shard_.record_processor_call(ProcessorCallResult::busy, 0);
      return busy(call, now);
  }
  return finish(call, now);
}

AuthorizeStep AuthorizePipeline::busy(Call& call, const PipelineTime& now) {
  // Never sent: the breaker hears nothing of it, and a probe slot it held is free again.
  const BreakerTransition reported =
      shared_.breaker.report(call.ticket, CallOutcome::abandoned, now.monotonic_ms()).transition;
  constexpr uint32_t kRetryAfterSeconds = 1;
  if (call.keyed) {
    AuthorizeStep step =
        release_and_reject(call, ServiceError::processor_busy, kRetryAfterSeconds, now);
    step.transitions[1] = reported;
    return step;
  }
  const int n = std::snprintf(retry_after_, sizeof retry_after_, "%u", kRetryAfterSeconds);
  format_service_error(ServiceError::processor_busy, call.transaction_id_view(), body_);
  AuthorizeStep step =
      answer(503, call.request_id_view(), AuthStatus::rejected, call.label, call.started_ns, now);
  step.retry_after = std::string_view(retry_after_, static_cast<size_t>(n));
  step.transitions[1] = reported;
  step.failed = true;
  step.error = ServiceError::processor_busy;
  step.transaction_id = call.transaction_id_view();
  give_back(call);
  return step;
}

AuthorizeStep AuthorizePipeline::finish(Call& call, const PipelineTime& now) {
  const bool failed = call.times_out || call.decision.verdict == Verdict::processor_error;
  BreakerTransition reported;
  if (call.decision.processor_called) {
    // Every admitted call reports exactly once, even when its client has gone.
    reported = shared_.breaker
                   .report(call.ticket, failed ? CallOutcome::failure : CallOutcome::success,
                           now.monotonic_ms())
                   .transition;
  }
  int status = 200;
  ServiceError error = ServiceError::processor_error;
  if (failed) {
    error = call.times_out ? ServiceError::processor_timeout : ServiceError::processor_error;
    status = call.times_out ? 504 : 502;
    format_service_error(error, call.transaction_id_view(), body_);
  } else {
    call.answer.verdict = call.decision.verdict;
    call.answer.authorization_code = call.decision.authorization_code_view();
    call.answer.decline_code = call.decision.decline_code;
    // Never less than the processor took: a driver's timer may fire a fraction of a
    // millisecond early on our clock (libuv counts in truncated milliseconds).
    call.answer.latency_ms =
        std::max<uint64_t>((now.monotonic_ns - call.started_ns) / 1'000'000, call.wait_ms);
    format_authorize_response(call.answer, body_);
  }
  const AuthStatus outcome = failed                                       ? AuthStatus::error
                             : call.decision.verdict == Verdict::approved ? AuthStatus::approved
                                                                          : AuthStatus::declined;
  if (call.keyed) {
    // Every executed outcome is stored, 502 and 504 included: a retry must not run again
    // what may have reached the processor (DESIGN.md, "Idempotency keys").
    call.status = status;
    call.outcome = outcome;
    call.failed = failed;
    call.error = error;
    call.retry_after_length = 0;
    encode_answer({.fingerprint = call.fingerprint,
                   .status = static_cast<uint16_t>(status),
                   .request_id = call.request_id_view(),
                   .body = body_},
                  call.record);
    call.body_offset = call.record.size() - body_.size();
    AuthorizeStep step = store_step(call, StoreOp::complete, now);
    step.transitions[1] = reported;
    return step;
  }
  AuthorizeStep step =
      answer(status, call.request_id_view(), outcome, call.label, call.started_ns, now);
  step.transitions[1] = reported;
  step.failed = failed;
  step.error = error;
  step.transaction_id = call.transaction_id_view();
  give_back(call);
  return step;
}

AuthorizeStep AuthorizePipeline::store_step(Call& call, StoreOp op, const PipelineTime& now) {
  call.pending_op = op;
  call.store_started_ns = now.monotonic_ns;
  AuthorizeStep step;
  step.kind = AuthorizeStep::Kind::store;
  step.call = call.index;
  step.store.op = op;
  step.store.key = call.store_key;
  step.store.claim = call.claim;
  if (op == StoreOp::complete) step.store.answer = call.record;
  step.store.ttl_ms = op == StoreOp::release ? 0 : shared_.idempotency_ttl_ms;
  step.store.now_ms = now.monotonic_ms();
  return step;
}

AuthorizeStep AuthorizePipeline::resume_store(uint32_t index, const StoreReply& reply,
                                              const PipelineTime& now) {
  Call& call = *calls_[index];
  shard_.record_store(call.pending_op, (now.monotonic_ns - call.store_started_ns) / 1000);
  if (call.pending_op == StoreOp::claim) return claimed(call, reply, now);
  // Completed or released: the client gets the real answer either way.
  const bool written = reply.kind == StoreReply::Kind::done;
  AuthorizeStep step = keyed_answer(call, now);
  step.store_write_failed = !written;
  return step;
}

AuthorizeStep AuthorizePipeline::claimed(Call& call, const StoreReply& reply,
                                         const PipelineTime& now) {
  if (reply.kind == StoreReply::Kind::done) {
    shard_.record_idempotency(IdempotencyResult::new_key);
    return execute(call, call.request, now);
  }
  if (reply.kind != StoreReply::Kind::exists) {
    shard_.record_idempotency(IdempotencyResult::store_error);
    return refuse(call, 503, ServiceError::idempotency_store_unavailable, AuthStatus::rejected, 1,
                  now);
  }
  const Existing existing =
      judge_existing(reply.existing, call.fingerprint, now.unix_ms, shared_.idempotency_lease_ms());
  switch (existing.verdict) {
    case ExistingVerdict::replay: {
      shard_.record_idempotency(IdempotencyResult::replayed);
      // The stored answer, byte for byte, and the original's request id. Copied: the store's
      // reply lives only during this call.
      body_.assign(existing.answer.body);
      const std::string_view id = existing.answer.request_id.substr(0, kMaxRequestIdLength);
      std::memcpy(call.request_id, id.data(), id.size());
      call.request_id_length = static_cast<uint8_t>(id.size());
      AuthorizeStep step;
      step.status = existing.answer.status;
      step.body = body_;
      step.request_id = call.request_id_view();
      step.replayed = true;
      give_back(call);
      return step;
    }
    case ExistingVerdict::reused:
      shard_.record_idempotency(IdempotencyResult::reused);
      return refuse(call, 422, ServiceError::idempotency_key_reused, AuthStatus::invalid, 0, now);
    case ExistingVerdict::in_use:
      // The first normally answers within the processor's latency: a second is enough.
      shard_.record_idempotency(IdempotencyResult::in_use);
      return refuse(call, 409, ServiceError::idempotency_key_in_use, AuthStatus::invalid, 1, now);
    case ExistingVerdict::outcome_unknown:
      shard_.record_idempotency(IdempotencyResult::unknown);
      return refuse(call, 409, ServiceError::idempotency_outcome_unknown, AuthStatus::invalid, 0,
                    now);
    case ExistingVerdict::invalid:
      break;
  }
  shard_.record_idempotency(IdempotencyResult::store_error);
  return refuse(call, 503, ServiceError::idempotency_store_unavailable, AuthStatus::rejected, 1,
                now);
}

AuthorizeStep AuthorizePipeline::refuse(Call& call, int status, ServiceError error,
                                        AuthStatus outcome, uint32_t retry_after_s,
                                        const PipelineTime& now) {
  format_service_error(error, {}, body_);
  AuthorizeStep step =
      answer(status, call.request_id_view(), outcome, call.label, call.started_ns, now);
  if (retry_after_s > 0) {
    const int n = std::snprintf(retry_after_, sizeof retry_after_, "%u", retry_after_s);
    step.retry_after = std::string_view(retry_after_, static_cast<size_t>(n));
  }
  step.failed = status >= 500;
  step.error = error;
  give_back(call);
  return step;
}

AuthorizeStep AuthorizePipeline::release_and_reject(Call& call, ServiceError error,
                                                    uint32_t retry_after_s,
                                                    const PipelineTime& now) {
  // Never executed: the key is freed before the answer, so a retry after Retry-After runs.
  call.status = 503;
  call.outcome = AuthStatus::rejected;
  call.failed = true;
  call.error = error;
  format_service_error(error, call.transaction_id_view(), call.record);
  call.body_offset = 0;
  const int n = std::snprintf(call.retry_after, sizeof call.retry_after, "%u", retry_after_s);
  call.retry_after_length = static_cast<uint8_t>(n);
  return store_step(call, StoreOp::release, now);
}

AuthorizeStep AuthorizePipeline::keyed_answer(Call& call, const PipelineTime& now) {
  shard_.record(call.outcome, call.label, (now.monotonic_ns - call.started_ns) / 1000,
                now.monotonic_ms());
  AuthorizeStep step;
  step.status = call.status;
  step.body = std::string_view(call.record).substr(call.body_offset);
  step.request_id = call.request_id_view();
  step.retry_after = std::string_view(call.retry_after, call.retry_after_length);
  step.failed = call.failed;
  step.error = call.error;
  step.transaction_id = call.transaction_id_view();
  give_back(call);
  return step;
}

}  // namespace paystream::core
