#pragma once
// One POST /v1/authorize as a small state machine, with no I/O and no event loop: the
// driver (svc's handler, the warm-path benchmark, the unit tests) hands it a request
// and the time, and each step either answers or asks to be woken after some
// milliseconds (the simulated processor's latency); woken, it goes on and answers.
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
#include "core/metric_shard.h"
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
  };
  Kind kind = Kind::respond;
  uint32_t call = 0;  // the authorization, for resume()
  uint32_t wake_after_ms = 0;

  // respond: valid until the next begin() or resume() on this pipeline.
  int status = 200;
  std::string_view body;
  std::string_view request_id;   // goes back as X-Request-Id
  std::string_view retry_after;  // Retry-After when not empty

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

  // Authorizations between a wake step and their resume().
  size_t in_flight() const { return in_flight_; }

 private:
  struct Call;

  Call& take_call();
  void give_back(Call& call);
  const ProcessorParameters& processor_parameters();
  AuthorizeStep finish(Call& call, const PipelineTime& now);
  AuthorizeStep answer(int status, std::string_view request_id, AuthStatus outcome,
                       ProcessorLabel label, uint64_t started_ns, const PipelineTime& now);
  std::string_view request_id_for(std::string_view given, char* buffer);

  AuthorizeShared& shared_;
  MetricShard& shard_;
  AuthorizeDecoder decoder_;
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
