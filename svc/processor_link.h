#pragma once
// The processor over HTTP for one reactor's authorize handler: sends the pipeline's
// ProcessorCall through this reactor's net::HttpClient with the contract's headers
// (docs/api.md, "The processor contract") and hands the outcome back as a ProcessorReply.
// On the reactor's thread only.

#include <cstdint>
#include <string>

#include "core/authorize_pipeline.h"
#include "net/http_client.h"
#include "svc/processor_credential.h"

namespace paystream::svc {

class ProcessorLink {
 public:
  using ReplyCallback = void (*)(void* context, uint32_t call, const core::ProcessorReply& reply);

  // `target`: PROCESSOR_URL's path and query. `credential` may be null (no API key sent).
  ProcessorLink(net::HttpClient& client, std::string target, const ProcessorCredential* credential,
                ReplyCallback on_reply, void* context);

  // `on_reply` runs exactly once for `call`: later, or before send() returns when the call
  // cannot be queued (busy).
  void send(const core::ProcessorCall& processor_call, uint32_t call);

  // The net outcome as the pipeline sees it.
  static core::ProcessorReply reply_for(const net::HttpResult& result);

 private:
  static void on_result(void* self, uint64_t tag, const net::HttpResult& result);

  net::HttpClient& client_;
  std::string target_;
  const ProcessorCredential* credential_;
  uint64_t credential_seen_ = 0;
  std::string authorization_;
  ReplyCallback on_reply_;
  void* context_;
};

}  // namespace paystream::svc
