// Idempotency keys end to end: the real paystream-authd, with the embedded store (one
// process, several reactors) and with Redis (two processes sharing Debian's redis-server,
// started here on a free loopback port). The same behavioural suite runs on both.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/testing/redis_server.h"
#include "svc/testing/authd.h"

namespace paystream::svc::testing {
namespace {

using net::testing::RedisServer;

std::string body_for(const std::string& merchant, const std::string& amount = "24.50") {
  return R"({"card_number":"4111111111111111","amount":")" + amount +
         R"(","currency":"USD","merchant":")" + merchant + R"("})";
}

std::optional<ParsedResponse> keyed_post(const Authd& authd, const std::string& key,
                                         const std::string& body,
                                         const std::string& request_id = {}) {
  std::string headers = "Content-Type: application/json\r\nIdempotency-Key: " + key + "\r\n";
  if (!request_id.empty()) headers += "X-Request-Id: " + request_id + "\r\n";
  return authd.post("/v1/authorize", body, headers);
}

// auth_idempotency_requests_total{result="<result>"}.
long idempotency_count(const Authd& authd, const std::string& result) {
  return metric(authd, "auth_idempotency_requests_total{result=\"" + result + "\"}");
}

struct Backend {
  const char* name;
  bool redis;
};

// One store, and the service instances that share it: one process with four reactors for the
// embedded store, two processes with two reactors each for Redis.
class Idempotency : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    EnvVars env = {{"LATENCY_BASE_MS", "60"},
                   {"LATENCY_JITTER_MS", "0"},
                   {"SUCCESS_RATE", "1"},
                   {"IDEMPOTENCY_TTL_S", "600"}};
    size_t processes = 1;
    if (GetParam().redis) {
      ASSERT_TRUE(redis_.start()) << redis_.log_text();
      env.emplace_back("IDEMPOTENCY_REDIS_URL",
                       "redis://127.0.0.1:" + std::to_string(redis_.port()));
      env.emplace_back("IDEMPOTENCY_REDIS_PASSWORD_FILE",
                       write_test_file("redis-password", "a-redis-password"));
      env.emplace_back("IDEMPOTENCY_HMAC_KEY_FILE",
                       write_test_file("hmac", "an HMAC secret that is long enough, 32+ bytes"));
      env.emplace_back("REACTORS", "2");
      processes = 2;
    } else {
      env.emplace_back("REACTORS", "4");
    }
    for (size_t i = 0; i < processes; ++i) {
      instances_.push_back(std::make_unique<Authd>());
      ASSERT_TRUE(instances_.back()->start(env)) << instances_.back()->process.stderr_text();
    }
    // A process listens before its reactors' Redis connections are up (keyed requests get
    // 503 until then; the store is not part of readiness): wait for both reactors of each.
    if (GetParam().redis) {
      for (const auto& instance : instances_) {
        ASSERT_TRUE(wait_for_lines(*instance, R"("msg":"redis connected")", 2))
            << instance->process.stderr_text();
      }
    }
  }

  static bool wait_for_lines(Authd& authd, const std::string& needle, size_t count) {
    for (int attempt = 0; attempt < 200; ++attempt) {
      const std::string text = authd.process.stderr_text();
      size_t found = 0;
      for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
        ++found;
      }
      if (found >= count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  void TearDown() override {
    for (auto& instance : instances_) {
      EXPECT_EQ(instance->stop(), 0);
      EXPECT_EQ(instance->process.stderr_text().find("4111111111111111"), std::string::npos);
      EXPECT_EQ(instance->process.sanitizer_report(), "");
    }
  }

  long sum(const std::string& result) const {
    long total = 0;
    for (const auto& instance : instances_) total += idempotency_count(*instance, result);
    return total;
  }

  const Authd& instance(size_t i) const { return *instances_[i % instances_.size()]; }

  RedisServer redis_{"a-redis-password"};
  std::vector<std::unique_ptr<Authd>> instances_;
};

TEST_P(Idempotency, ConcurrentDuplicatesExecuteOnceAndReplayByteForByte) {
  constexpr int kKeys = 24;
  constexpr int kCopies = 6;  // of each key, sent at once on separate connections
  std::mutex mutex;
  std::map<int, std::vector<ParsedResponse>> answers;
  std::vector<std::thread> threads;
  std::atomic<int> no_answer{0};
  for (int copy = 0; copy < kCopies; ++copy) {
    threads.emplace_back([&, copy] {
      for (int k = 0; k < kKeys; ++k) {
        // Different instances (and, through SO_REUSEPORT, reactors) for the copies of a key.
        auto r = keyed_post(instance(copy + k), "key-" + std::to_string(k),
                            body_for("Shop " + std::to_string(k)));
        std::lock_guard lock(mutex);
        if (!r) {
          ++no_answer;
        } else {
          answers[k].push_back(std::move(*r));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(no_answer, 0);

  EXPECT_EQ(sum("new"), kKeys) << "every key executed exactly once";
  for (int k = 0; k < kKeys; ++k) {
    std::string first_body;
    int executed = 0;
    for (const ParsedResponse& r : answers[k]) {
      ASSERT_TRUE(r.status == 200 || r.status == 409) << r.status << " " << r.body;
      if (r.status == 409) {
        EXPECT_NE(r.body.find("idempotency_key_in_use"), std::string::npos);
        EXPECT_EQ(r.header("Retry-After"), "1");
        continue;
      }
      if (r.header("Idempotent-Replayed").empty()) ++executed;
      if (first_body.empty()) first_body = r.body;
      EXPECT_EQ(r.body, first_body) << "key " << k;
    }
    EXPECT_LE(executed, 1) << "key " << k;
    // Sequential retries, on every instance: the stored answer, byte for byte.
    for (size_t i = 0; i < instances_.size(); ++i) {
      auto again = keyed_post(instance(i), "key-" + std::to_string(k),
                              body_for("Shop " + std::to_string(k)));
      ASSERT_TRUE(again);
      EXPECT_EQ(again->status, 200);
      EXPECT_EQ(again->header("Idempotent-Replayed"), "true");
      if (!first_body.empty()) {
        EXPECT_EQ(again->body, first_body);
      }
      first_body = again->body;
    }
  }
  EXPECT_EQ(sum("new"), kKeys);
  EXPECT_GE(sum("replayed"), kKeys * static_cast<long>(instances_.size()));
}

TEST_P(Idempotency, ReplayKeepsTheOriginalRequestIdAndStatus) {
  auto first = keyed_post(instance(0), "\"order-1\"", body_for("Shop"), "original-id");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  EXPECT_TRUE(first->header("Idempotent-Replayed").empty());
  // The unquoted spelling is the same key; a different request id does not matter.
  auto again = keyed_post(instance(1), "order-1", body_for("Shop"), "retry-id");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(again->body, first->body);
  EXPECT_EQ(again->header("X-Request-Id"), "original-id");
  EXPECT_EQ(again->header("Idempotent-Replayed"), "true");
}

TEST_P(Idempotency, ADifferentRequestWithTheSameKeyIs422AndMerchantsAreApart) {
  ASSERT_EQ(keyed_post(instance(0), "order-2", body_for("Shop"))->status, 200);
  auto reused = keyed_post(instance(1), "order-2", body_for("Shop", "24.51"));
  ASSERT_TRUE(reused);
  EXPECT_EQ(reused->status, 422);
  EXPECT_NE(reused->body.find("\"idempotency_key_reused\""), std::string::npos) << reused->body;
  EXPECT_EQ(sum("reused"), 1);
  long conflicts = 0;
  for (const auto& i : instances_)
    conflicts += metric(*i, R"(http_request_errors_total{code="422"})");
  EXPECT_EQ(conflicts, 1);
  auto other_merchant = keyed_post(instance(1), "order-2", body_for("Other shop", "24.51"));
  ASSERT_TRUE(other_merchant);
  EXPECT_EQ(other_merchant->status, 200);
  EXPECT_TRUE(other_merchant->header("Idempotent-Replayed").empty());
  EXPECT_EQ(sum("new"), 2);
}

TEST_P(Idempotency, BadOrRepeatedHeaderIs400) {
  auto twice = instance(0).post(
      "/v1/authorize", body_for("Shop"),
      "Content-Type: application/json\r\nIdempotency-Key: a\r\nIdempotency-Key: a\r\n");
  ASSERT_TRUE(twice);
  EXPECT_EQ(twice->status, 400);
  EXPECT_NE(twice->body.find(R"("field":"Idempotency-Key")"), std::string::npos) << twice->body;
  auto too_long = keyed_post(instance(0), std::string(256, 'k'), body_for("Shop"));
  ASSERT_TRUE(too_long);
  EXPECT_EQ(too_long->status, 400);
  EXPECT_EQ(too_long->body.find(std::string(256, 'k')), std::string::npos);
  EXPECT_EQ(sum("new"), 0);
}

INSTANTIATE_TEST_SUITE_P(Stores, Idempotency,
                         ::testing::Values(Backend{"embedded", false}, Backend{"redis", true}),
                         [](const auto& info) { return std::string(info.param.name); });

// Redis only: the store going away and coming back, and a drain's lost answer.
class IdempotencyRedis : public Idempotency {};

TEST_P(IdempotencyRedis, StoreDownRefusesKeyedRequestsOnlyAndRecoversWithoutRestart) {
  ASSERT_EQ(keyed_post(instance(0), "before", body_for("Shop"))->status, 200);
  redis_.stop();
  auto keyed = keyed_post(instance(0), "during", body_for("Shop"));
  ASSERT_TRUE(keyed);
  EXPECT_EQ(keyed->status, 503);
  EXPECT_NE(keyed->body.find("\"idempotency_store_unavailable\""), std::string::npos);
  EXPECT_EQ(keyed->header("Retry-After"), "1");
  auto unkeyed = instance(1).authorize(body_for("Shop"));
  ASSERT_TRUE(unkeyed);
  EXPECT_EQ(unkeyed->status, 200);
  const auto ready = instance(0).get(instance(0).port, "/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);  // the store stays out of readiness
  EXPECT_GE(sum("store_error"), 1);

  ASSERT_TRUE(redis_.restart());
  // Both processes reconnect by themselves (jittered backoff, at most a few seconds).
  for (size_t i = 0; i < instances_.size(); ++i) {
    int status = 0;
    for (int attempt = 0; attempt < 100 && status != 200; ++attempt) {
      auto r = keyed_post(instance(i), "after-" + std::to_string(i), body_for("Shop"));
      status = r ? r->status : 0;
      if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(status, 200) << "instance " << i << " did not recover";
  }
}

// The first process takes a request and is told to drain; the client never gets the answer.
// The request finishes during the drain, and its retry on the other process is a replay.
void lose_an_answer_to_a_drain(Authd& draining, const Authd& other, bool reset_first) {
  const std::string body = body_for("Shop");
  net::testing::RawClient client;
  ASSERT_TRUE(client.connect(draining.port));
  ASSERT_TRUE(
      client.send("POST /v1/authorize HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  "Idempotency-Key: drained\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // at the processor (60 ms)
  if (reset_first) {
    // The merchant's connection is cut (a reset) before the answer: the drain must still
    // wait for the authorization, so its answer is stored.
    const linger reset{.l_onoff = 1, .l_linger = 0};
    ASSERT_EQ(setsockopt(client.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset), 0);
    client.close();
  }
  draining.process.send_signal(SIGTERM);
  EXPECT_EQ(draining.process.wait_exit(), 0);
  client.close();  // otherwise the answer, sent with `Connection: close`, is never read

  auto retry = keyed_post(other, "drained", body);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->status, 200) << retry->body;
  EXPECT_EQ(retry->header("Idempotent-Replayed"), "true");
  EXPECT_EQ(idempotency_count(other, "new"), 0);  // not executed a second time
}

TEST_P(IdempotencyRedis, AnAnswerNeverReadIsRecoveredOnTheOtherProcess) {
  lose_an_answer_to_a_drain(*instances_[0], instance(1), false);
  instances_.erase(instances_.begin());
}

TEST_P(IdempotencyRedis, AnAnswerToAClientThatWentIsRecoveredOnTheOtherProcess) {
  lose_an_answer_to_a_drain(*instances_[0], instance(1), true);
  instances_.erase(instances_.begin());
}

INSTANTIATE_TEST_SUITE_P(Stores, IdempotencyRedis, ::testing::Values(Backend{"redis", true}),
                         [](const auto& info) { return std::string(info.param.name); });

// The embedded store: a key ends with its TTL, counted from completion.
TEST(IdempotencyEmbedded, KeyExpiresAfterItsTtl) {
  Authd authd;
  ASSERT_TRUE(authd.start(
      {{"LATENCY_BASE_MS", "0"}, {"LATENCY_JITTER_MS", "0"}, {"IDEMPOTENCY_TTL_S", "1"}}));
  ASSERT_EQ(keyed_post(authd, "short-lived", body_for("Shop"))->status, 200);
  EXPECT_EQ(keyed_post(authd, "short-lived", body_for("Shop"))->header("Idempotent-Replayed"),
            "true");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto after = keyed_post(authd, "short-lived", body_for("Shop"));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  EXPECT_TRUE(after->header("Idempotent-Replayed").empty());
  EXPECT_EQ(idempotency_count(authd, "new"), 2);
  EXPECT_EQ(metric(authd, "auth_idempotency_store_entries"), 1);  // expired, then reclaimed
  EXPECT_GT(metric(authd, "auth_idempotency_store_capacity"), 30000);
  EXPECT_EQ(metric(authd, "auth_idempotency_store_evictions_total"), 0);
  EXPECT_EQ(authd.stop(), 0);
}

TEST(IdempotencyStartup, RedisNeedsAUsableHmacSecret) {
  Authd without;
  EXPECT_FALSE(without.start({{"IDEMPOTENCY_REDIS_URL", "redis://127.0.0.1:1"}}));
  EXPECT_EQ(without.process.wait_exit(), 2);
  EXPECT_NE(without.process.stderr_text().find("IDEMPOTENCY_HMAC_KEY_FILE"), std::string::npos);
  Authd too_short;
  EXPECT_FALSE(too_short.start({{"IDEMPOTENCY_HMAC_KEY_FILE", write_test_file("short", "tiny")}}));
  EXPECT_EQ(too_short.process.wait_exit(), 2);
  EXPECT_EQ(too_short.process.stderr_text().find("tiny"), std::string::npos);
}

}  // namespace
}  // namespace paystream::svc::testing
