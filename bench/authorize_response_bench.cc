// Formatting the /v1/authorize answers into a reused std::string: the 200 body (approved and
// declined), the 400 invalid_request body, and a service error.

#include <benchmark/benchmark.h>

#include <string>

#include "bench/alloc_counter.h"
#include "core/authorize_response.h"
#include "core/currency.h"

namespace paystream::core {
namespace {

AuthorizeResponse approved_usd() {
  return AuthorizeResponse{.transaction_id = "txn_01JDQ8Z4N6X2W0V3C5B7A9K1M2",
                           .verdict = Verdict::approved,
                           .authorization_code = "A1B2C3",
                           .processor = CardNetwork::visa,
                           .amount_minor = 245000,
                           .currency = find_currency("USD"),
                           .card_last4 = "1111",
                           .latency_ms = 203,
                           .version = "0.1.0"};
}

void BM_FormatAuthorizeResponse(benchmark::State& state, Verdict verdict) {
  AuthorizeResponse response = approved_usd();
  response.verdict = verdict;
  response.decline_code = DeclineCode::insufficient_funds;
  std::string out;
  format_authorize_response(response, out);  // grows `out` once, as the handler's body_ has
  bench::AllocationMeter meter;
  for ([[maybe_unused]] auto _ : state) {
    format_authorize_response(response, out);
    benchmark::DoNotOptimize(out.data());
  }
  meter.report(state);
  state.counters["body_bytes"] = static_cast<double>(out.size());
}
BENCHMARK_CAPTURE(BM_FormatAuthorizeResponse, approved, Verdict::approved);
BENCHMARK_CAPTURE(BM_FormatAuthorizeResponse, declined, Verdict::declined);

void BM_FormatInvalidRequest(benchmark::State& state) {
  std::string out;
  format_invalid_request("amount", "amount has more decimals than the currency allows", out);
  bench::AllocationMeter meter;
  for ([[maybe_unused]] auto _ : state) {
    format_invalid_request("amount", "amount has more decimals than the currency allows", out);
    benchmark::DoNotOptimize(out.data());
  }
  meter.report(state);
}
BENCHMARK(BM_FormatInvalidRequest);

void BM_FormatServiceError(benchmark::State& state) {
  std::string out;
  format_service_error(ServiceError::circuit_open, "txn_01JDQ8Z4N6X2W0V3C5B7A9K1M2", out);
  bench::AllocationMeter meter;
  for ([[maybe_unused]] auto _ : state) {
    format_service_error(ServiceError::circuit_open, "txn_01JDQ8Z4N6X2W0V3C5B7A9K1M2", out);
    benchmark::DoNotOptimize(out.data());
  }
  meter.report(state);
}
BENCHMARK(BM_FormatServiceError);

}  // namespace
}  // namespace paystream::core
