#include "bench/authload/run_summary.h"

#include <gtest/gtest.h>

#include "bench/authload/report_json.h"

namespace paystream::bench {
namespace {

Percentiles with_p99(double p99_us, uint64_t count = 1000) {
  Percentiles p;
  p.count = count;
  p.p99 = p99_us;
  return p;
}

TEST(Validity, NormalRunIsValid) {
  EXPECT_TRUE(invalid_reasons(1000, 999, with_p99(5000), with_p99(100), 1000, 0).empty());
  EXPECT_TRUE(invalid_reasons(1000, 980, with_p99(5000), with_p99(500), 1000, 0).empty());
}

TEST(Validity, RateUnder98PercentIsInvalid) {
  const auto reasons = invalid_reasons(1000, 979, with_p99(5000), with_p99(100), 1000, 0);
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_NE(reasons[0].find("achieved rate 979.0/s is below 98% of the target 1000.0/s"),
            std::string::npos)
      << reasons[0];
}

TEST(Validity, SendLagOverTenPercentOfP99IsInvalid) {
  auto reasons = invalid_reasons(1000, 1000, with_p99(5000), with_p99(501), 1000, 0);
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_NE(reasons[0].find("send lag p99 0.501 ms exceeds 10% of latency p99 5.000 ms"),
            std::string::npos)
      << reasons[0];
  EXPECT_EQ(reasons[0].find("--connections"), std::string::npos);
  reasons = invalid_reasons(1000, 1000, with_p99(5000), with_p99(4000), 1000, 300);
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_NE(reasons[0].find("30.0% of requests found every connection busy"), std::string::npos)
      << reasons[0];
}

TEST(Validity, NoResponsesIsInvalid) {
  const auto reasons = invalid_reasons(1000, 1000, with_p99(0, 0), with_p99(10), 1000, 0);
  ASSERT_FALSE(reasons.empty());
  EXPECT_EQ(reasons[0], "no responses");
}

TEST(Summary, AchievedRateOverTheSendWindow) {
  std::vector<RunTarget> targets(2);
  targets[0].name = "a:1";
  targets[1].name = "b:2";
  RunSpec spec;
  spec.targets = &targets;
  spec.weight = 20;
  spec.rate = 1000;
  spec.duration_s = 2;
  RunResult result;
  result.ok = true;
  result.measured_requests = 2000;
  result.measured_start_ns = 1'000'000'000;
  result.connections = {8, 2};
  result.targets.resize(2);
  result.targets[0].sent = 1600;
  result.targets[1].sent = 400;
  for (int i = 0; i < 1600; ++i) result.targets[0].record_response(200, 2'000'000);
  for (int i = 0; i < 400; ++i) result.targets[1].record_response(503, 1'000'000);
  for (auto& t : result.targets) {
    for (uint64_t i = 0; i < t.sent; ++i) t.send_lag.record(10'000);
  }
  // The last send went out 0.5 s late: the window stretches, the rate falls under 98%.
  result.targets[0].last_send_ns = result.measured_start_ns + 2'500'000'000;
  const RunSummary s = summarize_run(spec, result);
  EXPECT_DOUBLE_EQ(s.send_window_s, 2.5);
  EXPECT_DOUBLE_EQ(s.achieved_rate, 800);
  EXPECT_FALSE(s.valid);
  ASSERT_EQ(s.targets.size(), 2u);
  EXPECT_EQ(s.targets[1].share_percent, 20);
  EXPECT_DOUBLE_EQ(s.targets[1].target_rate, 200);
  EXPECT_DOUBLE_EQ(s.targets[1].achieved_rate, 160);
  EXPECT_EQ(s.targets[1].stats.non_2xx(), 400u);
  EXPECT_EQ(s.all.responses, 2000u);
  EXPECT_NEAR(s.latency.p99, 2000, 20);

  result.targets[0].last_send_ns = result.measured_start_ns + 1'999'000'000;
  const RunSummary on_time = summarize_run(spec, result);
  EXPECT_DOUBLE_EQ(on_time.send_window_s, 2);
  EXPECT_DOUBLE_EQ(on_time.achieved_rate, 1000);
  EXPECT_TRUE(on_time.valid);
}

TEST(Summary, LatencyKeptApartByStatusClass) {
  std::vector<RunTarget> targets(1);
  targets[0].name = "a:1";
  RunSpec spec;
  spec.targets = &targets;
  spec.rate = 1000;
  spec.duration_s = 1;
  RunResult result;
  result.ok = true;
  result.measured_requests = 1000;
  result.connections = {4};
  result.targets.resize(1);
  // Slow successes and fast rejections: the overall p50 is a rejection's, the p99 a success's.
  for (int i = 0; i < 100; ++i) result.targets[0].record_response(200, 200'000'000);
  for (int i = 0; i < 899; ++i) result.targets[0].record_response(503, 1'000'000);
  result.targets[0].record_response(404, 50'000'000);
  const RunSummary s = summarize_run(spec, result);
  const TargetStats& all = s.all;
  EXPECT_EQ(all.latency.count(), 1000u);
  EXPECT_EQ(all.latency_by_class[0].count(), 100u);  // 2xx
  EXPECT_EQ(all.latency_by_class[1].count(), 0u);    // 3xx
  EXPECT_EQ(all.latency_by_class[2].count(), 1u);    // 4xx
  EXPECT_EQ(all.latency_by_class[3].count(), 899u);  // 5xx
  EXPECT_NEAR(percentiles_of(all.latency_by_class[3]).p99, 1000, 10);
  EXPECT_NEAR(percentiles_of(all.latency_by_class[0]).p50, 200'000, 2000);
  EXPECT_NEAR(s.latency.p99, 200'000, 2000);

  std::string json = run_report_json(Options{}, s);
  std::erase_if(json, [](char c) { return c == ' ' || c == '\n'; });
  const size_t by_class = json.find("\"latency_us_by_class\":{\"2xx\":{\"count\":100,");
  ASSERT_NE(by_class, std::string::npos) << json;
  EXPECT_NE(json.find("\"4xx\":{\"count\":1,", by_class), std::string::npos) << json;
  EXPECT_NE(json.find("\"5xx\":{\"count\":899,", by_class), std::string::npos) << json;
  EXPECT_EQ(json.find("\"3xx\""), std::string::npos) << json;
}

}  // namespace
}  // namespace paystream::bench
