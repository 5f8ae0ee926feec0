#include "bench/authload/options.h"

#include <gtest/gtest.h>

#include <vector>

namespace paystream::bench {
namespace {

ParsedOptions parse(std::vector<const char*> args) {
  args.insert(args.begin(), "authload");
  return parse_options(static_cast<int>(args.size()), args.data());
}

TEST(Options, DefaultsAndEveryFlag) {
  auto p = parse({"--target", "127.0.0.1:8080", "--rate", "2500.5"});
  ASSERT_TRUE(p.options) << p.error;
  const Options& d = *p.options;
  EXPECT_EQ(d.targets.size(), 1u);
  EXPECT_EQ(d.targets[0].host, "127.0.0.1");
  EXPECT_EQ(d.targets[0].port, 8080);
  EXPECT_EQ(d.rate, 2500.5);
  EXPECT_EQ(d.duration_s, 10);
  EXPECT_EQ(d.warmup_s, 1);
  EXPECT_EQ(d.connections, 16u);
  EXPECT_EQ(d.pipeline, 1u);
  EXPECT_EQ(d.threads, 1u);
  EXPECT_EQ(d.timeout_s, 5);
  EXPECT_EQ(d.method, "POST");
  EXPECT_EQ(d.path, "/v1/authorize");
  EXPECT_FALSE(d.find_max);
  EXPECT_FALSE(d.idempotency_keys);
  EXPECT_EQ(d.duplicate_fraction, 0);
  EXPECT_EQ(d.duplicate_mode, DuplicateMode::mixed);
  EXPECT_EQ(d.conflict_fraction, 0);

  p = parse({"--target=[::1]:9000",
             "--target",
             "localhost:9001",
             "--weight",
             "10",
             "--rate=100",
             "--duration",
             "0.5",
             "--warmup",
             "0",
             "--connections",
             "4",
             "--pipeline",
             "8",
             "--threads",
             "2",
             "--timeout",
             "0.25",
             "--method",
             "GET",
             "--path",
             "/livez",
             "--body",
             "b.json",
             "--host",
             "auth.test",
             "--header",
             "X-A: 1",
             "--seed",
             "7",
             "--json",
             "out.json",
             "--quiet",
             "--find-max",
             "--find-max-time",
             "20",
             "--p99-bound-ms",
             "5",
             "--step-duration",
             "1",
             "--spin-us",
             "30",
             "--tick-us",
             "1000"});
  ASSERT_TRUE(p.options) << p.error;
  const Options& o = *p.options;
  EXPECT_EQ(o.targets[0].host, "::1");
  EXPECT_EQ(o.targets[1].text, "localhost:9001");
  EXPECT_EQ(o.weight, 10);
  EXPECT_EQ(o.duration_s, 0.5);
  EXPECT_EQ(o.warmup_s, 0);
  EXPECT_EQ(o.pipeline, 8u);
  EXPECT_EQ(o.threads, 2u);
  EXPECT_EQ(o.timeout_s, 0.25);
  EXPECT_EQ(o.method, "GET");
  EXPECT_EQ(o.path, "/livez");
  EXPECT_EQ(o.body_file, "b.json");
  EXPECT_EQ(o.host_header, "auth.test");
  EXPECT_EQ(o.headers, std::vector<std::string>{"X-A: 1"});
  EXPECT_EQ(o.seed, 7u);
  EXPECT_EQ(o.json_file, "out.json");
  EXPECT_TRUE(o.quiet);
  EXPECT_TRUE(o.find_max);
  EXPECT_EQ(o.find_max_time_s, 20);
  EXPECT_EQ(o.p99_bound_ms, 5);
  EXPECT_EQ(o.step_s, 1);
  EXPECT_EQ(o.spin_us, 30);
  EXPECT_EQ(o.tick_us, 1000);
}

TEST(Options, UsageErrors) {
  const std::vector<std::vector<const char*>> bad = {
      {},
      {"--rate", "10"},
      {"--target", "127.0.0.1:8080"},
      {"--target", "127.0.0.1", "--rate", "10"},
      {"--target", "127.0.0.1:0", "--rate", "10"},
      {"--target", "127.0.0.1:70000", "--rate", "10"},
      {"--target", "::1:80", "--rate", "10"},
      {"--target", "a:1", "--target", "b:2", "--target", "c:3", "--rate", "10"},
      {"--target", "a:1", "--weight", "5", "--rate", "10"},
      {"--target", "a:1", "--target", "b:2", "--weight", "101", "--rate", "10"},
      {"--target", "a:1", "--rate", "0"},
      {"--target", "a:1", "--rate", "ten"},
      {"--target", "a:1", "--rate", "10", "--timeout", "61"},
      {"--target", "a:1", "--rate", "10", "--pipeline", "0"},
      {"--target", "a:1", "--rate", "10", "--threads", "4", "--connections", "3"},
      {"--target", "a:1", "--target", "b:2", "--rate", "10", "--connections", "1"},
      {"--target", "a:1", "--rate", "10", "--method", "get"},
      {"--target", "a:1", "--rate", "10", "--path", "nope"},
      {"--target", "a:1", "--rate", "10", "--header", "NoColon"},
      {"--target", "a:1", "--rate", "10", "--quiet=1"},
      {"--target", "a:1", "--rate"},
      {"--target", "a:1", "--rate", "10", "--bogus"},
  };
  for (const auto& args : bad) {
    auto p = parse(args);
    EXPECT_FALSE(p.options) << (args.empty() ? "(none)" : args.back());
    EXPECT_FALSE(p.error.empty());
  }
}

TEST(Options, IdempotencyFlags) {
  auto p = parse({"--target", "a:1", "--rate", "10", "--idempotency-keys"});
  ASSERT_TRUE(p.options) << p.error;
  EXPECT_TRUE(p.options->idempotency_keys);
  EXPECT_EQ(p.options->duplicate_fraction, 0);

  p = parse({"--target", "a:1", "--rate", "10", "--idempotency-keys", "--duplicate-fraction",
             "0.25", "--duplicate-mode", "concurrent", "--conflict-fraction=0.05"});
  ASSERT_TRUE(p.options) << p.error;
  EXPECT_EQ(p.options->duplicate_fraction, 0.25);
  EXPECT_EQ(p.options->duplicate_mode, DuplicateMode::concurrent);
  EXPECT_EQ(p.options->conflict_fraction, 0.05);

  p = parse({"--target", "a:1", "--rate", "10", "--idempotency-keys", "--duplicate-mode",
             "sequential", "--duplicate-fraction", "0.5", "--connections", "1"});
  ASSERT_TRUE(p.options) << p.error;
  EXPECT_EQ(p.options->duplicate_mode, DuplicateMode::sequential);
}

TEST(Options, IdempotencyUsageErrors) {
  const std::vector<std::vector<const char*>> bad = {
      // Reuses need keys.
      {"--target", "a:1", "--rate", "10", "--duplicate-fraction", "0.1"},
      {"--target", "a:1", "--rate", "10", "--duplicate-mode", "mixed"},
      {"--target", "a:1", "--rate", "10", "--conflict-fraction", "0.1"},
      {"--target", "a:1", "--rate", "10", "--idempotency-keys=yes"},
      {"--target", "a:1", "--rate", "10", "--idempotency-keys", "--duplicate-fraction", "0.95"},
      {"--target", "a:1", "--rate", "10", "--idempotency-keys", "--duplicate-fraction", "-0.1"},
      {"--target", "a:1", "--rate", "10", "--idempotency-keys", "--duplicate-fraction", "0.5",
       "--conflict-fraction", "0.5"},
      {"--target", "a:1", "--rate", "10", "--idempotency-keys", "--duplicate-mode", "parallel"},
      // Conflicting reuses change the amount of the generated mix.
      {"--target", "a:1", "--rate", "10", "--idempotency-keys", "--conflict-fraction", "0.1",
       "--body", "b.json"},
      {"--target", "a:1", "--rate", "10", "--idempotency-keys", "--conflict-fraction", "0.1",
       "--method", "GET"},
      // Concurrent duplicates need a second connection per thread and target.
      {"--target", "a:1", "--rate", "10", "--idempotency-keys", "--duplicate-fraction", "0.1",
       "--connections", "1"},
      {"--target", "a:1", "--rate", "10", "--idempotency-keys", "--duplicate-fraction", "0.1",
       "--duplicate-mode", "concurrent", "--threads", "2", "--connections", "3"},
  };
  for (const auto& args : bad) {
    auto p = parse(args);
    EXPECT_FALSE(p.options) << args[args.size() - 2] << " " << args.back();
    EXPECT_FALSE(p.error.empty());
  }
}

TEST(Options, FindMaxNeedsNoRate) {
  EXPECT_TRUE(parse({"--target", "a:1", "--find-max"}).options);
  EXPECT_TRUE(parse({"--target", "a:1", "--target", "b:2", "--weight", "100", "--connections", "1",
                     "--rate", "1"})
                  .options);
}

TEST(Options, HelpDocumentsEveryFlag) {
  EXPECT_TRUE(parse({"--help"}).help);
  EXPECT_TRUE(parse({"--target", "a:1", "-h"}).help);
  const std::string help = usage_text();
  for (const char* flag : {"--target",
                           "--weight",
                           "--rate",
                           "--duration",
                           "--warmup",
                           "--connections",
                           "--pipeline",
                           "--threads",
                           "--timeout",
                           "--method",
                           "--path",
                           "--body",
                           "--host",
                           "--header",
                           "--seed",
                           "--json",
                           "--quiet",
                           "--find-max",
                           "--find-max-time",
                           "--p99-bound-ms",
                           "--step-duration",
                           "--spin-us",
                           "--tick-us",
                           "--idempotency-keys",
                           "--duplicate-fraction",
                           "--duplicate-mode",
                           "--conflict-fraction"}) {
    EXPECT_NE(help.find(std::string("\n  ") + flag + " "), std::string::npos) << flag;
  }
  EXPECT_NE(help.find("Exit status"), std::string::npos);
}

}  // namespace
}  // namespace paystream::bench
