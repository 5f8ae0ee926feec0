// Exact money: parsing decimal amount tokens into minor units, and formatting them back.

#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bench/alloc_counter.h"
#include "core/currency.h"
#include "core/money.h"

namespace paystream::core {
namespace {

const Currency& currency(std::string_view code) {
  const Currency* found = find_currency(code);
  if (found == nullptr) std::abort();
  return *found;
}

struct Amount {
  std::string_view token;
  const Currency* currency;
};

// A mix of exponents and lengths, as the request mix sends them.
std::array<Amount, 8> amount_mix() {
  return {{{"2450.00", &currency("USD")},
           {"19.99", &currency("EUR")},
           {"1500", &currency("JPY")},
           {"12.345", &currency("BHD")},
           {"0.50", &currency("GBP")},
           {"999999.99", &currency("USD")},
           {"1500.0", &currency("JPY")},
           {"75", &currency("EUR")}}};
}

void BM_ParseAmount(benchmark::State& state) {
  const std::array<Amount, 8> mix = amount_mix();
  for (const Amount& a : mix) {
    if (!parse_amount(a.token, *a.currency).ok()) {
      bench::fail_run(state, "amount " + std::string(a.token) + " did not parse");
      return;
    }
  }
  size_t i = 0;
  bench::AllocationMeter meter;
  for ([[maybe_unused]] auto _ : state) {
    const Amount& a = mix[i++ & 7];
    const AmountResult result = parse_amount(a.token, *a.currency);
    benchmark::DoNotOptimize(result);
  }
  meter.report(state);
}
BENCHMARK(BM_ParseAmount);

void BM_FormatAmount(benchmark::State& state) {
  constexpr std::array<int64_t, 8> kMinor = {245000, 1999, 1500, 12345, 50, 99999999, 1, 7500};
  constexpr std::array<int, 8> kExponent = {2, 2, 0, 3, 2, 2, 2, 0};
  char out[kMaxAmountText];
  size_t i = 0;
  bench::AllocationMeter meter;
  for ([[maybe_unused]] auto _ : state) {
    const size_t k = i++ & 7;
    const size_t n = format_amount(kMinor[k], kExponent[k], out);
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(out);
  }
  meter.report(state);
}
BENCHMARK(BM_FormatAmount);

}  // namespace
}  // namespace paystream::core
