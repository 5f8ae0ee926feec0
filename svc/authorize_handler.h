#pragma once
// POST /v1/authorize on one reactor: the core pipeline (core/authorize_pipeline.h)
// wired to this reactor. The handler hands each request to the pipeline, arms a
// timer when the pipeline asks to be woken, runs the idempotency store operations and the
// processor calls it asks for, sends the answer and writes the log lines the pipeline reports. It
// is a service of its reactor, which destroys it (and its timers) before closing its loop.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/authorize_pipeline.h"
#include "core/authorize_shared.h"
#include "core/metric_shard.h"
#include "core/random.h"
#include "net/http_types.h"
#include "net/log_rate_limiter.h"
#include "net/reactor.h"
#include "net/reactor_timer.h"
#include "net/responder.h"
#include "svc/idempotency_backend.h"
#include "svc/processor_link.h"

namespace paystream::svc {

class AuthorizeHandler final : public net::ReactorService {
 public:
  // `shard` is this reactor's metrics shard: only this handler writes it.
  // `log_lines_per_second`: per kind of log line (rejected, failed, breaker change);
  // a breaker-open flood or a 5xx burst writes that many a second from this reactor,
  // then one line with the count held back (0: no limit).
  AuthorizeHandler(net::Reactor& reactor, core::AuthorizeShared& shared, core::MetricShard& shard,
                   uint64_t seed, uint32_t log_lines_per_second);

  // The idempotency store, before the reactor runs (without one, keyed requests get 503).
  // A Redis client must be added to the reactor after this handler: the reactor destroys
  // it first, and its last callbacks (failures of commands in flight) still find us.
  void use_store(core::EmbeddedStore& store);
  void use_store(net::RedisClient& redis);
  // The processor over HTTP (PROCESSOR_MODE=http), before the reactor runs; the same rule as
  // for Redis: the client is added to the reactor after this handler.
  void use_processor(net::HttpClient& client, std::string target,
                     const ProcessorCredential* credential);

  void handle(const net::Request& request, const net::Responder& responder);

 private:
  // A pipeline call waiting for its wake-up; one per call index, reused.
  struct Wait {
    Wait(net::Reactor& reactor, AuthorizeHandler& owner, uint32_t call);
    net::ReactorTimer timer;
    net::Responder responder{nullptr, 0, 0, 0};
  };

  void step(const core::AuthorizeStep& step, const net::Responder& responder);
  Wait& wait_for(uint32_t call);
  // Tells the reactor how many authorizations are in flight, so a drain waits for them
  // even when their clients have gone (the breaker report and the idempotency record
  // must still happen).
  void sync_pending_work();
  static void on_store_reply(void* self, uint32_t call, const core::StoreReply& reply);
  static void on_processor_reply(void* self, uint32_t call, const core::ProcessorReply& reply);
  void log_transition(const core::BreakerTransition& t);
  void log_failure(const core::AuthorizeStep& step);
  void log_store_write_failed(const core::AuthorizeStep& step);

  net::Reactor& reactor_;
  core::Xoshiro256 fallback_rng_;  // entropy only if OpenSSL's RAND_bytes fails
  core::AuthorizePipeline pipeline_;
  std::vector<std::unique_ptr<Wait>> waits_;  // by pipeline call index
  std::unique_ptr<IdempotencyBackend> store_;
  std::unique_ptr<ProcessorLink> processor_;
  size_t pending_reported_ = 0;
  net::log::RateLimiter rejected_log_;
  net::log::RateLimiter failed_log_;
  net::log::RateLimiter breaker_log_;
  net::log::RateLimiter store_log_;
};

}  // namespace paystream::svc
