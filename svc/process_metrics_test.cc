#include "svc/process_metrics.h"

#include <gtest/gtest.h>

#include <ctime>

namespace paystream::svc {
namespace {

TEST(ProcessMetrics, ParsesStartTimePastTheCommandName) {
  // The command name may hold spaces and parentheses.
  const std::string_view stat =
      "4242 (we ird) name)) S 1 4242 4242 0 -1 4194560 1234 0 0 0 17 3 0 0 20 0 9 0 "
      "987654 123456789 2000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n";
  EXPECT_EQ(parse_start_time_ticks(stat), 987654u);
  EXPECT_FALSE(parse_start_time_ticks("4242 no parenthesis"));
  EXPECT_FALSE(parse_start_time_ticks("4242 (short) S 1 2"));
}

TEST(ProcessMetrics, ParsesBootTime) {
  EXPECT_EQ(parse_boot_time_seconds("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"),
            1'700'000'000u);
  EXPECT_FALSE(parse_boot_time_seconds("cpu 1 2 3\n"));
}

TEST(ProcessMetrics, ParsesResidentPages) {
  EXPECT_EQ(parse_resident_pages("10523 2210 1750 233 0 1120 0\n"), 2210u);
  EXPECT_FALSE(parse_resident_pages("10523"));
}

TEST(ProcessMetrics, ReadsThisProcess) {
  const core::ProcessMetrics m = read_process_metrics();
  EXPECT_GE(m.cpu_seconds, 0.0);
  EXPECT_GT(m.resident_memory_bytes, 0.0);
  EXPECT_GE(m.open_fds, 3.0);  // stdin, stdout, stderr
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(m.start_time_seconds, now + 1);
  EXPECT_GT(m.start_time_seconds, now - 3600);
}

}  // namespace
}  // namespace paystream::svc
