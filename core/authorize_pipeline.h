#pragma once
// One POST /v1/authorize as a small state machine, with no I/O and no event loop: the
// driver (svc's handler, the warm-path benchmark, the unit tests) hands it a request
// and the time, and each step either answers, asks to be woken after some milliseconds
// (the simulated processor's latency, or latency injected before a real call), asks for an
// idempotency store operation, or asks for a call to the processor over HTTP; woken or
// given the store's or the processor's reply, it goes on.
// Content type, decoding and validation, request and transaction ids, breaker
// admission and report, the decision, the JSON answer and the metrics record all
// happen here, so every driver runs the same code. Once warm, nothing allocates.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/authorize_request.h"
#include "core/authorize_response.h"
#include "core/authorize_shared.h"
#include "core/breaker.h"
#include "core/decision.h"
#include "core/hmac_sha256.h"
#include "core/metric_shard.h"
#include "core/processor_contract.h"
#include "core/random.h"
#include "core/request_headers.h"
#include "core/txn_id.h"

namespace paystream::core {

// The moment a step runs: a monotonic clock (breaker, latency, metrics) and the
// wall clock (transaction ids).
struct PipelineTime {
  uint64_t monotonic_ns = 0;
  uint64_t unix_ms = 0;
  uint64_t monotonic_ms() const { return monotonic_ns / 1'000'000; }
};

// What the pipeline reads of an HTTP request.
struct AuthorizeInput {
  std::string_view content_type;  // the Content-Type header, empty when absent
  std::string_view request_id;    // the X-Request-Id header, empty when absent
  std::string_view body;
  std::string_view idempotency_key;  // the first Idempotency-Key header's value
  size_t idempotency_key_count = 0;  // how many Idempotency-Key headers came
};

// One operation on the idempotency store (core/idempotency.h has the protocol). The
// driver runs it on the configured backend and hands the reply to resume_store().
//   claim:    write `claim` unless the key exists (then reply with its value)
//   complete: replace `claim` by `answer`, only while `claim` is still the value
//   release:  delete the key, only while `claim` is still the value
struct StoreCall {
  StoreOp op = StoreOp::claim;
  HmacDigest key{};
  std::string_view claim;
  std::string_view answer;
  uint64_t ttl_ms = 0;  // claim, complete: the entry's time to live from now
  uint64_t now_ms = 0;  // the step's monotonic time (an in-process store's clock)
};

struct StoreReply {
  enum class Kind : uint8_t {
    done,     // claimed, completed or released
    exists,   // claim: the key exists; `existing` holds its value (until resume_store returns)
    refused,  // complete, release: the value was no longer our claim
    failed,   // no answer: the store is unreachable, timed out or over its bound
  };
  Kind kind = Kind::failed;
  std::string_view existing;
};

// One call to the processor (PROCESSOR_MODE=http), by the contract in docs/api.md. The driver
// sends it (POST, Content-Type: application/json, `Idempotency-Key: <idempotency_key>`, the
// API key) and hands the outcome to resume_processor().
struct ProcessorCall {
  std::string_view body;             // holds the card number: never log or keep it
  std::string_view idempotency_key;  // our transaction id: the processor dedupes by it
  uint32_t timeout_ms = 0;           // what is left of PROCESSOR_TIMEOUT_MS, retries included
};

struct ProcessorReply {
  enum class Kind : uint8_t {
    answered,  // an HTTP answer, any status: `status` and `body` (until resume_processor returns)
    timeout,   // nothing complete within timeout_ms: the outcome is unknown
    failed,    // connect failure, close or reset, malformed or oversized answer
    busy,      // never sent: no free connection and the wait queue full
  };
  Kind kind = Kind::failed;
  int status = 0;
  std::string_view body;
  uint64_t upstream_us = 0;  // request written -> answer complete (0: unknown)
};

// Fills a transaction id's random bits. The service reads a CSPRNG; tests and
// benchmarks may pass a seeded generator.
using EntropySource = void (*)(std::span<uint8_t> out, void* context);

// What the driver must do next for one authorization.
struct AuthorizeStep {
  enum class Kind : uint8_t {
    respond,  // send the answer below; the authorization is finished
    wake,     // call resume(call) after wake_after_ms
    reset,    // fault injection (reset_rate): reset the connection, answer nothing
    store,    // run `store`, then call resume_store(call, reply)
    process,  // send `processor`, then call resume_processor(call, reply)
  };
  Kind kind = Kind::respond;
  uint32_t call = 0;  // the authorization, for resume()
  uint32_t wake_after_ms = 0;
  StoreCall store;          // store: valid until the next begin() or resume on this pipeline
  ProcessorCall processor;  // process: valid until this call's resume_processor()

  // respond: valid until the next begin() or resume() on this pipeline.
  int status = 200;
  std::string_view body;
  std::string_view request_id;   // goes back as X-Request-Id
  std::string_view retry_after;  // Retry-After when not empty
  bool replayed = false;         // an idempotent replay: send Idempotent-Replayed: true
  // respond: the answer could not be stored (complete) or the key not freed (release), so a
  // retry with this key gets 409 idempotency_outcome_unknown until the key expires.
  bool store_write_failed = false;

  // For the driver's log (the pipeline writes none): the breaker's state changes in
  // this step ([0] at admission, [1] at the report), and for a 5xx its error and
  // transaction id.
  BreakerTransition transitions[2];
  bool failed = false;
  ServiceError error = ServiceError::processor_error;
  std::string_view transaction_id;
};

class AuthorizePipeline {
 public:
  // `shard` is the driver's metrics shard: only this pipeline writes it.
  AuthorizePipeline(AuthorizeShared& shared, MetricShard& shard, uint64_t seed,
                    EntropySource entropy, void* entropy_context);
  AuthorizePipeline(const AuthorizePipeline&) = delete;
  AuthorizePipeline& operator=(const AuthorizePipeline&) = delete;
  ~AuthorizePipeline();

  // A new authorization.
  AuthorizeStep begin(const AuthorizeInput& input, const PipelineTime& now);
  // An authorization that asked to be woken. Its client may have gone: it still
  // finishes (the breaker hears of every admitted call) and the driver drops the answer.
  AuthorizeStep resume(uint32_t call, const PipelineTime& now);
  // An authorization that asked for a store operation, with the store's reply.
  AuthorizeStep resume_store(uint32_t call, const StoreReply& reply, const PipelineTime& now);
  // An authorization that asked for a processor call, with its outcome.
  AuthorizeStep resume_processor(uint32_t call, const ProcessorReply& reply,
                                 const PipelineTime& now);

  // Authorizations between a wake step and their resume().
  size_t in_flight() const { return in_flight_; }

 private:
  struct Call;

  Call& take_call();
  void give_back(Call& call);
  const ProcessorParameters& processor_parameters();
  AuthorizeStep execute(Call& call, const AuthorizeRequest& request, const PipelineTime& now);
  AuthorizeStep finish(Call& call, const PipelineTime& now);
  AuthorizeStep processor_step(Call& call, const PipelineTime& now);
  AuthorizeStep busy(Call& call, const PipelineTime& now);
  AuthorizeStep answer(int status, std::string_view request_id, AuthStatus outcome,
                       ProcessorLabel label, uint64_t started_ns, const PipelineTime& now);
  std::string_view request_id_for(std::string_view given, char* buffer);
  // Idempotency keys.
  AuthorizeStep store_step(Call& call, StoreOp op, const PipelineTime& now);
  AuthorizeStep claimed(Call& call, const StoreReply& reply, const PipelineTime& now);
  AuthorizeStep refuse(Call& call, int status, ServiceError error, AuthStatus outcome,
                       uint32_t retry_after_s, const PipelineTime& now);
  AuthorizeStep release_and_reject(Call& call, ServiceError error, uint32_t retry_after_s,
                                   const PipelineTime& now);
  AuthorizeStep keyed_answer(Call& call, const PipelineTime& now);

  AuthorizeShared& shared_;
  MetricShard& shard_;
  AuthorizeDecoder decoder_;
  ProcessorAnswerDecoder processor_answers_;
  AuthorizeRequest request_;
  Xoshiro256 rng_;
  TxnIdGenerator txn_ids_;
  EntropySource entropy_;
  void* entropy_context_;
  std::string body_;  // the answer being written; its capacity is reused
  char generated_request_id_[kGeneratedRequestIdLength];
  char retry_after_[12];
  // The processor parameters in force, re-read when the fault state's generation moves.
  uint64_t fault_generation_ = UINT64_MAX;
  ProcessorParameters parameters_;
  std::vector<std::unique_ptr<Call>> calls_;  // by index; grows only on a cold path
  std::vector<uint32_t> free_calls_;
  size_t in_flight_ = 0;
};

}  // namespace paystream::core
