// POST /v1/authorize body decoding and validation (simdjson On-Demand, AuthorizeDecoder): a
// valid body, and invalid ones rejected at each stage (bad amount, malformed JSON, unknown
// currency). The simdjson kernel in use is in the report's context (simdjson_kernel).

#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "bench/alloc_counter.h"
#include "core/authorize_request.h"

namespace paystream::core {
namespace {

constexpr size_t kMaxBodyBytes = 16384;  // the service's MAX_BODY_BYTES default

constexpr std::string_view kValid =
    R"({"card_number":"4111111111111111","amount":"2450.00","currency":"USD",)"
    R"("merchant":"Amazon Web Services","cardholder_name":"Maria Garcia"})";
// Well-formed JSON, refused by validation: three decimals for USD.
constexpr std::string_view kBadAmount =
    R"({"card_number":"4111111111111111","amount":"2450.001","currency":"USD",)"
    R"("merchant":"Amazon Web Services","cardholder_name":"Maria Garcia"})";
// Refused by validation: an unknown currency.
constexpr std::string_view kBadCurrency =
    R"({"card_number":"4111111111111111","amount":"2450.00","currency":"XYZ",)"
    R"("merchant":"Amazon Web Services","cardholder_name":"Maria Garcia"})";
// Not JSON: the object is never closed.
constexpr std::string_view kMalformed =
    R"({"card_number":"4111111111111111","amount":"2450.00","currency":"USD",)"
    R"("merchant":"Amazon Web Services","cardholder_name":"Maria Garcia")";

void BM_AuthorizeDecode(benchmark::State& state, std::string_view body, bool expect_ok) {
  AuthorizeDecoder decoder(kMaxBodyBytes);
  AuthorizeRequest request;
  // The first decode warms the decoder; check that the body is judged as intended.
  const DecodeError first = decoder.decode(body, request);
  if (first.ok() != expect_ok) {
    bench::fail_run(state, "unexpected decode result: " + std::string(first.message));
    return;
  }
  bench::AllocationMeter meter;
  for ([[maybe_unused]] auto _ : state) {
    const DecodeError error = decoder.decode(body, request);
    benchmark::DoNotOptimize(error);
    benchmark::DoNotOptimize(request);
  }
  meter.report(state);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["body_bytes"] = static_cast<double>(body.size());
}
BENCHMARK_CAPTURE(BM_AuthorizeDecode, valid, kValid, true);
BENCHMARK_CAPTURE(BM_AuthorizeDecode, invalid_amount, kBadAmount, false);
BENCHMARK_CAPTURE(BM_AuthorizeDecode, invalid_currency, kBadCurrency, false);
BENCHMARK_CAPTURE(BM_AuthorizeDecode, malformed_json, kMalformed, false);

}  // namespace
}  // namespace paystream::core
