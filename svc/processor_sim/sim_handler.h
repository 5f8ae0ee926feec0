#pragma once
// POST <path> on one reactor of paystream-processor-sim: checks the key and the request,
// consults the dedupe store, decides with the service's simulation code (core/decision.h)
// after the simulated latency, and answers per the contract or with the fault in force.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/decision.h"
#include "core/processor_contract.h"
#include "core/processor_dedupe.h"
#include "core/random.h"
#include "core/sha256.h"
#include "net/http_types.h"
#include "net/reactor.h"
#include "net/reactor_timer.h"
#include "net/responder.h"
#include "svc/processor_sim/sim_state.h"

namespace paystream::svc::sim {

class SimHandler final : public net::ReactorService {
 public:
  SimHandler(net::Reactor& reactor, SimShared& shared, uint64_t seed);

  void handle(const net::Request& request, const net::Responder& responder);

 private:
  enum class Fault : uint8_t { none, reset, truncate, garbage };
  // One request waiting for its latency, or for the first request of its key; reused.
  struct Call {
    Call(net::Reactor& reactor, SimHandler& owner);
    net::ReactorTimer timer;
    net::Responder responder{nullptr, 0, 0, 0};
    std::string key;
    core::RequestFingerprint fingerprint{};
    core::Decision decision;
    Fault fault = Fault::none;
    bool waiting = false;  // a duplicate polling for the first answer
  };

  Call& acquire();
  void release(Call& call);
  void execute(Call& call);  // draws the answer and its latency
  void finish(Call& call);   // the latency passed: answers
  void poll(Call& call);     // a waiting duplicate looks again
  void reply_replay(const net::Responder& responder, int status);
  void reject(const net::Responder& responder, int status, std::string_view code,
              std::string_view message, std::string_view field = {});
  void answer_error(const net::Responder& responder, int status, std::string_view code,
                    std::string_view message, std::string_view field = {});
  bool authorized(const net::Request& request);
  void reload_key();

  net::Reactor& reactor_;
  SimShared& shared_;
  core::Xoshiro256 rng_;
  core::ProcessorRequestDecoder decoder_;
  core::ProcessorRequest request_;
  std::string body_;  // scratch for answers and replays
  std::vector<std::unique_ptr<Call>> calls_;
  std::vector<Call*> free_;
  std::optional<core::Sha256Digest> key_digest_;
  std::unique_ptr<net::ReactorTimer> key_timer_;
};

}  // namespace paystream::svc::sim
