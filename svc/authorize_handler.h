#pragma once
// POST /v1/authorize on one reactor: the core pipeline (core/authorize_pipeline.h)
// driven by this reactor's loop. The handler only wires: it hands each request to
// the pipeline, starts a timer when the pipeline asks to be woken, sends the answer
// and writes the log lines the pipeline reports.

#include <uv.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "core/authorize_pipeline.h"
#include "core/authorize_shared.h"
#include "core/metric_shard.h"
#include "core/random.h"
#include "net/http_types.h"
#include "net/responder.h"

namespace paystream::svc {

class AuthorizeHandler {
 public:
  // `shard` is this reactor's metrics shard: only this handler writes it.
  AuthorizeHandler(core::AuthorizeShared& shared, uv_loop_t* loop, core::MetricShard& shard,
                   uint64_t seed);
  AuthorizeHandler(const AuthorizeHandler&) = delete;
  AuthorizeHandler& operator=(const AuthorizeHandler&) = delete;
  ~AuthorizeHandler();

  void handle(const net::Request& request, const net::Responder& responder);

 private:
  // A pipeline call waiting for its wake-up. One per call index; its timer handle is
  // initialised once and reused.
  struct Wait {
    uv_timer_t timer;
    AuthorizeHandler* owner = nullptr;
    uint32_t call = 0;
    net::Responder responder{nullptr, 0, 0, 0};
  };

  static void on_wake(uv_timer_t* timer);
  core::PipelineTime now();
  void step(const core::AuthorizeStep& step, const net::Responder& responder);

  core::AuthorizePipeline pipeline_;
  uv_loop_t* loop_;
  core::Xoshiro256 fallback_rng_;             // entropy only if the kernel's fails
  std::vector<std::unique_ptr<Wait>> waits_;  // by pipeline call index
};

}  // namespace paystream::svc
