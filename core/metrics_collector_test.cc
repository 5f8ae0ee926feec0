#include "core/metrics_collector.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace paystream::core {
namespace {

using core::AuthStatus;
using core::ProcessorLabel;

constexpr uint64_t kNowMs = 5'000'000;

// The rendered lines that start with `prefix`, each followed by a newline.
std::string lines_starting_with(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line;
  std::string out;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) out += line + "\n";
  }
  return out;
}

class MetricsCollectorTest : public ::testing::Test {
 protected:
  ScrapeSources sources() {
    return {
        .shards = {&shards_[0], &shards_[1]},
        .http = [this] { return http_; },
        .now_ms = [] { return kNowMs; },
        .breaker =
            [] {
              return BreakerMetrics{core::BreakerState::open, 3};
            },
        .fault =
            [] {
              return FaultMetrics{true, core::ProcessorParameters{500, 50, 0.94, 1}};
            },
        .process =
            [] {
              return ProcessMetrics{1.5, 4096, 12, 1'700'000'000};
            },
        .build = {"1.4.2", "0123456789ab", "0.1.0"},
        .log_lines_dropped = [] { return uint64_t{7}; },
    };
  }

  core::MetricShard shards_[2];
  HttpMetrics http_;
};

TEST_F(MetricsCollectorTest, GoldenText) {
  shards_[0].record(AuthStatus::approved, ProcessorLabel::visa, 180'000, kNowMs);  // (0.175, 0.2]
  shards_[1].record(AuthStatus::approved, ProcessorLabel::visa, 250'000, kNowMs);  // (0.225, 0.25]
  shards_[1].record(AuthStatus::approved, ProcessorLabel::visa, 400, kNowMs);      // [0, 0.0005]
  shards_[0].record(AuthStatus::declined, ProcessorLabel::mastercard, 210'000, kNowMs);
  shards_[1].record(AuthStatus::rejected, ProcessorLabel::amex, 90, kNowMs);
  shards_[0].record(AuthStatus::invalid, ProcessorLabel::unknown, 60, kNowMs);
  shards_[0].record(AuthStatus::invalid, ProcessorLabel::unknown, 70, kNowMs);
  shards_[1].record(AuthStatus::error, ProcessorLabel::discover, 20'000'000, kNowMs);  // +Inf
  http_.reactor_requests = {4, 1};
  http_.connections_active = 2;
  http_.connections_rejected = 1;
  http_.errors_by_code = {{400, 0}, {404, 2}, {413, 1}, {503, 0}};

  const MetricsCollector collector(sources());
  const std::string text = render_metrics(collector);

  EXPECT_EQ(lines_starting_with(text, "auth_requests_total") +
                lines_starting_with(text, "# HELP auth_requests_total") +
                lines_starting_with(text, "# TYPE auth_requests_total"),
            R"(auth_requests_total{version="1.4.2",status="approved",processor="visa"} 3
auth_requests_total{version="1.4.2",status="approved",processor="mastercard"} 0
auth_requests_total{version="1.4.2",status="approved",processor="amex"} 0
auth_requests_total{version="1.4.2",status="approved",processor="discover"} 0
auth_requests_total{version="1.4.2",status="approved",processor="unknown"} 0
auth_requests_total{version="1.4.2",status="declined",processor="visa"} 0
auth_requests_total{version="1.4.2",status="declined",processor="mastercard"} 1
auth_requests_total{version="1.4.2",status="declined",processor="amex"} 0
auth_requests_total{version="1.4.2",status="declined",processor="discover"} 0
auth_requests_total{version="1.4.2",status="declined",processor="unknown"} 0
auth_requests_total{version="1.4.2",status="rejected",processor="visa"} 0
auth_requests_total{version="1.4.2",status="rejected",processor="mastercard"} 0
auth_requests_total{version="1.4.2",status="rejected",processor="amex"} 1
auth_requests_total{version="1.4.2",status="rejected",processor="discover"} 0
auth_requests_total{version="1.4.2",status="rejected",processor="unknown"} 0
auth_requests_total{version="1.4.2",status="error",processor="visa"} 0
auth_requests_total{version="1.4.2",status="error",processor="mastercard"} 0
auth_requests_total{version="1.4.2",status="error",processor="amex"} 0
auth_requests_total{version="1.4.2",status="error",processor="discover"} 1
auth_requests_total{version="1.4.2",status="error",processor="unknown"} 0
auth_requests_total{version="1.4.2",status="invalid",processor="visa"} 0
auth_requests_total{version="1.4.2",status="invalid",processor="mastercard"} 0
auth_requests_total{version="1.4.2",status="invalid",processor="amex"} 0
auth_requests_total{version="1.4.2",status="invalid",processor="discover"} 0
auth_requests_total{version="1.4.2",status="invalid",processor="unknown"} 2
# HELP auth_requests_total Authorize requests by outcome and card network.
# TYPE auth_requests_total counter
)");

  EXPECT_EQ(
      lines_starting_with(
          text, R"(auth_request_duration_seconds_count{version="1.4.2",status="approved",)"
                R"(processor="visa"})") +
          lines_starting_with(
              text, R"(auth_request_duration_seconds_sum{version="1.4.2",status="approved",)"
                    R"(processor="visa"})") +
          lines_starting_with(
              text, R"(auth_request_duration_seconds_bucket{version="1.4.2",status="approved",)"
                    R"(processor="visa",)"),
      R"(auth_request_duration_seconds_count{version="1.4.2",status="approved",processor="visa"} 3
auth_request_duration_seconds_sum{version="1.4.2",status="approved",processor="visa"} 0.4304
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="0.0005"} 1
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="0.001"} 1
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="0.0025"} 1
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="0.005"} 1
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="0.0075"} 1
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="0.01"} 1
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="0.025"} 1
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="0.05"} 1
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="0.1"} 1
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="0.15"} 1
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="0.175"} 1
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="0.2"} 2
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="0.225"} 2
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="0.25"} 3
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="0.275"} 3
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="0.3"} 3
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="0.325"} 3
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="0.35"} 3
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="0.5"} 3
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="1"} 3
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="2.5"} 3
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="5"} 3
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="10"} 3
auth_request_duration_seconds_bucket{version="1.4.2",status="approved",processor="visa",le="+Inf"} 3
)");

  EXPECT_EQ(lines_starting_with(
                text, R"(auth_request_duration_seconds_bucket{version="1.4.2",status="error",)"
                      R"(processor="discover",le="10"})"),
            "auth_request_duration_seconds_bucket{version=\"1.4.2\",status=\"error\","
            "processor=\"discover\",le=\"10\"} 0\n");

  std::string http_errors;  // one line per code given, in its order
  for (int code : {400, 404, 413, 503}) {
    const int count = code == 404 ? 2 : code == 413 ? 1 : 0;
    http_errors += "http_request_errors_total{code=\"" + std::to_string(code) + "\"} " +
                   std::to_string(count) + "\n";
  }
  EXPECT_EQ(lines_starting_with(text, "http_request_errors_total"), http_errors);

  EXPECT_EQ(lines_starting_with(text, "log_lines_dropped_total"), "log_lines_dropped_total 7\n");
  EXPECT_EQ(lines_starting_with(text, "auth_success_rate") +
                lines_starting_with(text, "circuit_breaker_") +
                lines_starting_with(text, "fault_injection_") +
                lines_starting_with(text, "http_connections_") +
                lines_starting_with(text, "reactor_") + lines_starting_with(text, "process_") +
                lines_starting_with(text, "auth_build_info"),
            R"(auth_success_rate 0.75
circuit_breaker_state 2
circuit_breaker_trips_total 3
fault_injection_enabled 1
fault_injection_latency_seconds 0.5
fault_injection_jitter_seconds 0.05
fault_injection_success_rate 0.9399999999999999
fault_injection_error_rate 1
fault_injection_slow_rate 0
fault_injection_slow_latency_seconds 0
fault_injection_reset_rate 0
http_connections_active 2
http_connections_rejected_total 1
reactor_requests_total{reactor="0"} 4
reactor_requests_total{reactor="1"} 1
process_cpu_seconds_total 1.5
process_resident_memory_bytes 4096
process_open_fds 12
process_start_time_seconds 1700000000
auth_build_info{version="1.4.2",revision="0123456789ab",service_version="0.1.0"} 1
)");
}

TEST_F(MetricsCollectorTest, ProcessorLinkSeries) {
  shards_[0].record_processor_call(ProcessorCallResult::answered, 180'000);
  shards_[1].record_processor_call(ProcessorCallResult::answered, 400);
  shards_[1].record_processor_call(ProcessorCallResult::busy, 0);
  ScrapeSources with_link = sources();
  with_link.processor_link = [] {
    return ProcessorLinkMetrics{.mode = ProcessorMode::http,
                                .connections_open = 5,
                                .connections_busy = 2,
                                .queue_depth = 3,
                                .retries = 4};
  };
  const std::string text = render_metrics(MetricsCollector(std::move(with_link)));
  for (const char* line : {
           "auth_processor_mode{mode=\"simulated\"} 0\n",
           "auth_processor_mode{mode=\"http\"} 1\n",
           "auth_processor_calls_total{result=\"answered\"} 2\n",
           "auth_processor_calls_total{result=\"busy\"} 1\n",
           "auth_processor_calls_total{result=\"timeout\"} 0\n",
           "auth_processor_upstream_duration_seconds_count 2\n",
           "auth_processor_upstream_duration_seconds_bucket{le=\"0.0005\"} 1\n",
           "auth_processor_upstream_duration_seconds_bucket{le=\"0.2\"} 2\n",
           "auth_processor_connections{state=\"busy\"} 2\n",
           "auth_processor_connections{state=\"idle\"} 3\n",
           "auth_processor_queue_depth 3\n",
           "auth_processor_retries_total 4\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
}

TEST_F(MetricsCollectorTest, EveryFamilyIsPresentWithItsType) {
  const std::string text = render_metrics(MetricsCollector(sources()));
  const std::vector<std::string> families = {
      "auth_requests_total counter",
      "auth_request_duration_seconds histogram",
      "auth_idempotency_requests_total counter",
      "auth_idempotency_store_duration_seconds histogram",
      "auth_idempotency_store_entries gauge",
      "auth_idempotency_store_capacity gauge",
      "auth_idempotency_store_evictions_total counter",
      "auth_idempotency_store_oldest_completed_age_seconds gauge",
      "auth_success_rate gauge",
      "auth_processor_mode gauge",
      "auth_processor_calls_total counter",
      "auth_processor_upstream_duration_seconds histogram",
      "auth_processor_connections gauge",
      "auth_processor_queue_depth gauge",
      "auth_processor_retries_total counter",
      "circuit_breaker_state gauge",
      "circuit_breaker_trips_total counter",
      "fault_injection_enabled gauge",
      "fault_injection_latency_seconds gauge",
      "fault_injection_jitter_seconds gauge",
      "fault_injection_success_rate gauge",
      "fault_injection_error_rate gauge",
      "fault_injection_slow_rate gauge",
      "fault_injection_slow_latency_seconds gauge",
      "fault_injection_reset_rate gauge",
      "http_connections_active gauge",
      "http_connections_rejected_total counter",
      "http_request_errors_total counter",
      "reactor_requests_total counter",
      "process_cpu_seconds_total counter",
      "process_resident_memory_bytes gauge",
      "process_open_fds gauge",
      "process_start_time_seconds gauge",
      "log_lines_dropped_total counter",
      "auth_build_info gauge",
  };
  for (const std::string& family : families) {
    EXPECT_NE(text.find("\n# TYPE " + family + "\n"), std::string::npos) << family;
  }
  EXPECT_EQ(lines_starting_with(text, "# TYPE ").size(), [&] {
    size_t bytes = 0;
    for (const std::string& family : families) bytes += 7 + family.size() + 1;
    return bytes;
  }());
}

TEST_F(MetricsCollectorTest, EveryLabelCombinationExistsFromStartUp) {
  const std::string text = render_metrics(MetricsCollector(sources()));
  for (std::string_view status : {"approved", "declined", "rejected", "error", "invalid"}) {
    for (std::string_view processor : {"visa", "mastercard", "amex", "discover", "unknown"}) {
      const std::string labels = "{version=\"1.4.2\",status=\"" + std::string(status) +
                                 "\",processor=\"" + std::string(processor) + "\"";
      EXPECT_NE(text.find("\nauth_requests_total" + labels + "} 0\n"), std::string::npos) << labels;
      EXPECT_NE(text.find("\nauth_request_duration_seconds_count" + labels + "} 0\n"),
                std::string::npos)
          << labels;
      EXPECT_NE(text.find("\nauth_request_duration_seconds_bucket" + labels + ",le=\"+Inf\"} 0\n"),
                std::string::npos)
          << labels;
    }
  }
  EXPECT_EQ(lines_starting_with(text, "auth_requests_total{").size(),
            lines_starting_with(text, "auth_requests_total{version=\"1.4.2\",status=").size());
  EXPECT_NE(text.find("\nauth_success_rate 1\n"), std::string::npos);
}

TEST_F(MetricsCollectorTest, EmptySourcesReadAsDefaults) {
  const std::string text = render_metrics(MetricsCollector(ScrapeSources{}));
  EXPECT_NE(text.find("\ncircuit_breaker_state 0\n"), std::string::npos);
  EXPECT_NE(text.find("\nfault_injection_enabled 0\n"), std::string::npos);
  EXPECT_NE(text.find("\nhttp_connections_active 0\n"), std::string::npos);
  EXPECT_NE(text.find("\n# TYPE http_request_errors_total counter\n"), std::string::npos);
}

TEST(MetricsSources, BreakerStateValues) {
  EXPECT_EQ(breaker_state_value(core::BreakerState::closed), 0);
  EXPECT_EQ(breaker_state_value(core::BreakerState::half_open), 1);
  EXPECT_EQ(breaker_state_value(core::BreakerState::open), 2);

  core::CircuitBreaker breaker(core::BreakerSettings{.failure_threshold = 1}, 0);
  const core::Admission admission = breaker.admit(0);
  breaker.report(admission.ticket, core::CallOutcome::failure, 0);
  const BreakerMetrics metrics = breaker_metrics(breaker, 0);
  EXPECT_EQ(metrics.state, core::BreakerState::open);
  EXPECT_EQ(metrics.trips, 1u);
}

TEST(MetricsSources, FaultMetricsShowTheEffectiveValues) {
  core::FaultStatePublisher publisher;
  const core::ProcessorParameters environment{200, 50, 0.94, 0};
  EXPECT_EQ(fault_metrics(publisher, environment).effective, environment);
  publisher.apply({.enabled = true, .error_rate = 1.0, .slow_rate = 0.04, .slow_latency_ms = 150});
  const FaultMetrics metrics = fault_metrics(publisher, environment);
  EXPECT_TRUE(metrics.enabled);
  EXPECT_EQ(metrics.effective, (core::ProcessorParameters{200, 50, 0.94, 1.0, 0.04, 150, 0.0}));
}

TEST_F(MetricsCollectorTest, IdempotencySeriesFromStartAndSummed) {
  const std::string empty = render_metrics(MetricsCollector(sources()));
  for (const char* result : {"new", "replayed", "in_use", "reused", "unknown", "store_error"}) {
    EXPECT_NE(
        empty.find(std::string("auth_idempotency_requests_total{result=\"") + result + "\"} 0\n"),
        std::string::npos)
        << result;
  }
  for (const char* op : {"claim", "complete", "release"}) {
    EXPECT_NE(empty.find(std::string("auth_idempotency_store_duration_seconds_count{op=\"") + op +
                         "\"} 0\n"),
              std::string::npos)
        << op;
  }
  shards_[0].record_idempotency(IdempotencyResult::new_key);
  shards_[1].record_idempotency(IdempotencyResult::new_key);
  shards_[1].record_idempotency(IdempotencyResult::replayed);
  shards_[0].record_store(StoreOp::claim, 3);    // le 5 us
  shards_[1].record_store(StoreOp::claim, 120);  // le 250 us
  const std::string text = render_metrics(MetricsCollector(sources()));
  EXPECT_NE(text.find("auth_idempotency_requests_total{result=\"new\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("auth_idempotency_requests_total{result=\"replayed\"} 1\n"),
            std::string::npos);
  EXPECT_NE(
      text.find("auth_idempotency_store_duration_seconds_bucket{op=\"claim\",le=\"5e-06\"} 1\n"),
      std::string::npos)
      << lines_starting_with(text, "auth_idempotency_store_duration_seconds_bucket{op=\"claim\"");
  EXPECT_NE(
      text.find("auth_idempotency_store_duration_seconds_bucket{op=\"claim\",le=\"0.00025\"} 2\n"),
      std::string::npos);
  EXPECT_NE(text.find("auth_idempotency_store_duration_seconds_count{op=\"claim\"} 2\n"),
            std::string::npos);
}

}  // namespace
}  // namespace paystream::core
