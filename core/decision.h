#pragma once
// The authorization decision: local card checks, then the simulated processor's answer, drawn
// from a caller-seeded PRNG so a run can be reproduced.

#include <array>
#include <cstdint>
#include <string_view>

#include "core/authorize_request.h"
#include "core/random.h"

namespace paystream::core {

enum class DeclineCode : uint8_t {
  insufficient_funds,
  do_not_honor,
  card_expired,
  suspected_fraud,
  restricted_card,
  limit_exceeded,
  invalid_card_number,  // local Luhn failure only; the processor never answers it
};

// The wire name, e.g. "insufficient_funds".
std::string_view decline_code_name(DeclineCode code);

inline constexpr size_t kAuthorizationCodeLength = 6;
using AuthorizationCode = std::array<char, kAuthorizationCodeLength>;  // [0-9A-Z], no terminator

enum class Verdict : uint8_t { approved, declined, processor_error };

struct Decision {
  Verdict verdict = Verdict::declined;
  bool processor_called = false;  // false: answered locally, nothing to report to the breaker
  DeclineCode decline_code = DeclineCode::do_not_honor;  // meaningful when declined
  AuthorizationCode authorization_code{};                // meaningful when approved

  std::string_view authorization_code_view() const {
    return {authorization_code.data(), authorization_code.size()};
  }
};

struct ProcessorSettings {
  double success_rate = 0.94;  // P(approved | no error), in [0, 1]
  double error_rate = 0.0;     // P(processor error), in [0, 1]
};

// The uniform draws one simulated processor answer consumes.
struct ProcessorDraws {
  double error = 0;        // [0, 1): error when below error_rate
  double approval = 0;     // [0, 1): approved when below success_rate
  double decline = 0;      // [0, 1): picks the weighted decline code
  uint64_t code_bits = 0;  // source of the authorization code's characters
};

ProcessorDraws draw_processor(Xoshiro256& rng);

// The processor's answer for given draws; processor_called is true.
Decision simulate_processor(const ProcessorSettings& settings, const ProcessorDraws& draws);

// The decline code for a uniform draw in [0, 1): insufficient_funds 40%, do_not_honor 25%,
// card_expired 12%, suspected_fraud 8%, restricted_card 8%, limit_exceeded 7%.
DeclineCode weighted_decline_code(double draw);

// Six characters of [0-9A-Z] from the bits.
AuthorizationCode authorization_code_from_bits(uint64_t bits);

// Whether the request is declined locally (Luhn failure) without a processor call.
bool declined_before_processor(const AuthorizeRequest& request);

// Local checks, then (when they pass) the processor answer drawn from `rng`. The caller admits
// the call through the breaker first when decide() will call the processor
// (!declined_before_processor(request)).
Decision decide(const AuthorizeRequest& request, const ProcessorSettings& settings,
                Xoshiro256& rng);

struct LatencySettings {
  uint32_t base_ms = 200;
  uint32_t jitter_ms = 50;
  double slow_rate = 0.0;  // probability that the call is slow
  uint32_t slow_ms = 0;    // added to a slow call
};

// base ± a uniform integer jitter in [-jitter, +jitter], never below zero; with probability
// slow_rate, slow_ms more (a tail that uniform jitter cannot make). No draw for the tail when
// slow_rate is 0, so seeded sequences without it are unchanged.
uint32_t simulated_latency_ms(const LatencySettings& settings, Xoshiro256& rng);

}  // namespace paystream::core
