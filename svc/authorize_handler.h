#pragma once
// POST /v1/authorize on one reactor: headers, body decoding and validation, the
// shared circuit breaker, and the simulated processor waited on this reactor's
// loop. Nothing here blocks, throws or allocates once warm.

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/authorize_request.h"
#include "core/authorize_response.h"
#include "core/breaker.h"
#include "core/decision.h"
#include "core/fault_state.h"
#include "core/metric_shard.h"
#include "core/random.h"
#include "core/request_headers.h"
#include "core/txn_id.h"
#include "net/http_types.h"
#include "net/responder.h"
#include "svc/authorize_shared.h"

namespace paystream::svc {

class AuthorizeHandler {
 public:
  // `shard` is this reactor's metrics shard: only this handler writes it.
  AuthorizeHandler(AuthorizeShared& shared, uv_loop_t* loop, core::MetricShard& shard,
                   uint64_t seed);
  AuthorizeHandler(const AuthorizeHandler&) = delete;
  AuthorizeHandler& operator=(const AuthorizeHandler&) = delete;
  ~AuthorizeHandler();

  void handle(const net::Request& request, const net::Responder& responder);

 private:
  // One processor call in flight. Pooled: its timer handle is initialised once.
  struct Call {
    uv_timer_t timer;
    AuthorizeHandler* owner;
    net::Responder responder{nullptr, 0, 0, 0};
    core::BreakerTicket ticket;
    core::ProcessorLabel label = core::ProcessorLabel::unknown;
    core::Decision decision;
    bool times_out = false;
    uint64_t started_ns = 0;         // request complete (uv_hrtime, for the metrics)
    uint64_t started_loop_ms = 0;    // the same moment on the loop clock (timers run on it)
    uint64_t latency_ms = 0;         // until the processor answers (or the deadline)
    core::AuthorizeResponse answer;  // views point into the fields below
    char transaction_id[core::kTxnIdLength];
    char request_id[core::kMaxRequestIdLength];
    uint8_t request_id_length = 0;
    char last4[4];
    Call* next_free = nullptr;
  };

  Call* take_call();
  void give_back(Call* call);
  static void on_processor_answer(uv_timer_t* timer);
  void finish(Call& call);

  std::string_view request_id_for(const net::Request& request, char* buffer);
  const core::ProcessorParameters& processor_parameters();
  void respond_json(const net::Responder& responder, int status, std::string_view request_id,
                    std::string_view retry_after = {});
  void record(core::AuthStatus status, core::ProcessorLabel label, uint64_t started_ns);
  void reject_invalid(const net::Responder& responder, std::string_view request_id,
                      std::string_view field, std::string_view message, uint64_t started_ns);
  void new_transaction_id(char* out);

  AuthorizeShared& shared_;
  uv_loop_t* loop_;
  core::MetricShard& shard_;
  core::AuthorizeDecoder decoder_;
  core::AuthorizeRequest request_;
  core::Xoshiro256 rng_;
  core::TxnIdGenerator txn_ids_;
  std::string body_;  // the response being written; its capacity is reused
  // The processor parameters in force, re-read when the fault state's generation moves.
  uint64_t fault_generation_ = UINT64_MAX;
  core::ProcessorParameters parameters_;
  std::vector<std::unique_ptr<Call>> calls_;
  Call* free_calls_ = nullptr;
};

}  // namespace paystream::svc
