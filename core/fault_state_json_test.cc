#include "core/fault_state_json.h"

#include <gtest/gtest.h>

#include <string>

namespace paystream::core {
namespace {

FaultUpdate parsed(std::string_view body) {
  FaultUpdateResult result = parse_fault_update(body);
  EXPECT_FALSE(result.error) << body << ": " << result.error->field << " " << result.error->message;
  return result.update;
}

FaultUpdateError rejected(std::string_view body) {
  FaultUpdateResult result = parse_fault_update(body);
  EXPECT_TRUE(result.error) << body;
  return result.error.value_or(FaultUpdateError{"<accepted>", ""});
}

TEST(FaultUpdateJson, ParsesEveryField) {
  EXPECT_EQ(parsed(R"({"enabled":true,"latency_ms":60000,"jitter_ms":0,"success_rate":0.5,)"
                   R"("error_rate":1})"),
            (FaultUpdate{true, 60000u, 0u, 0.5, 1.0}));
  EXPECT_EQ(parsed(R"({"slow_rate":0.005,"slow_latency_ms":60000,"reset_rate":1})"),
            (FaultUpdate{.slow_rate = 0.005, .slow_latency_ms = 60000u, .reset_rate = 1.0}));
}

TEST(FaultUpdateJson, AbsentFieldsStayAbsent) {
  EXPECT_EQ(parsed(R"({"latency_ms":500})"), (FaultUpdate{.latency_ms = 500u}));
  EXPECT_EQ(parsed(" { } \n"), FaultUpdate{});
  EXPECT_EQ(parsed(R"({"error_rate":0})"), (FaultUpdate{.error_rate = 0.0}));
  EXPECT_EQ(parsed(R"({"success_rate":1e-1})"), (FaultUpdate{.success_rate = 0.1}));
  EXPECT_EQ(parsed(R"({"enabled":false})"), (FaultUpdate{.enabled = false}));
}

TEST(FaultUpdateJson, KeysAreComparedUnescaped) {
  EXPECT_EQ(parsed(R"({"jitter\u005fms":20})"), (FaultUpdate{.jitter_ms = 20u}));
  const FaultUpdateError e = rejected(R"({"enabled":true,"enabl\u0065d":false})");
  EXPECT_EQ(e.field, "enabled");
  EXPECT_EQ(e.message, "appears more than once");
}

struct Rejection {
  const char* body;
  const char* field;  // "" for the whole body
  const char* message;
};

class FaultUpdateRejects : public ::testing::TestWithParam<Rejection> {};

TEST_P(FaultUpdateRejects, NamesTheField) {
  const FaultUpdateError e = rejected(GetParam().body);
  EXPECT_EQ(e.field, GetParam().field) << GetParam().body;
  EXPECT_EQ(e.message, GetParam().message) << GetParam().body;
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, FaultUpdateRejects,
    ::testing::Values(
        Rejection{"", "", "body is not valid JSON"},  // empty
        Rejection{"{", "", "body is not valid JSON"},
        Rejection{R"({"enabled":true} {})", "", "body is not valid JSON"},
        Rejection{R"({"enabled":tru})", "", "body is not valid JSON"},
        Rejection{R"({"latency_ms":01})", "", "body is not valid JSON"},
        Rejection{R"({"latency_ms":1e400})", "", "body is not valid JSON"},
        Rejection{"[]", "", "body must be a JSON object"},
        Rejection{"true", "", "body must be a JSON object"},
        Rejection{R"({"enable":true})", "enable", "is not a fault injection field"},
        Rejection{R"({"latency_ms":5,"Latency_ms":5})", "Latency_ms",
                  "is not a fault injection field"},
        Rejection{R"({"latency_ms":5,"latency_ms":6})", "latency_ms", "appears more than once"},
        Rejection{R"({"enabled":1})", "enabled", "must be true or false"},
        Rejection{R"({"enabled":"true"})", "enabled", "must be true or false"},
        Rejection{R"({"enabled":null})", "enabled", "must be true or false"},
        Rejection{R"({"latency_ms":-1})", "latency_ms", "must be an integer from 0 to 60000"},
        Rejection{R"({"latency_ms":60001})", "latency_ms", "must be an integer from 0 to 60000"},
        Rejection{R"({"latency_ms":100.0})", "latency_ms", "must be an integer from 0 to 60000"},
        Rejection{R"({"latency_ms":"100"})", "latency_ms", "must be an integer from 0 to 60000"},
        Rejection{R"({"latency_ms":null})", "latency_ms", "must be an integer from 0 to 60000"},
        Rejection{R"({"latency_ms":18446744073709551615})", "latency_ms",
                  "must be an integer from 0 to 60000"},
        Rejection{R"({"jitter_ms":10001})", "jitter_ms", "must be an integer from 0 to 10000"},
        Rejection{R"({"success_rate":1.0000001})", "success_rate", "must be a number from 0 to 1"},
        Rejection{R"({"success_rate":-0.1})", "success_rate", "must be a number from 0 to 1"},
        Rejection{R"({"error_rate":"0.5"})", "error_rate", "must be a number from 0 to 1"},
        Rejection{R"({"error_rate":[0.5]})", "error_rate", "must be a number from 0 to 1"},
        Rejection{R"({"slow_rate":1.5})", "slow_rate", "must be a number from 0 to 1"},
        Rejection{R"({"slow_rate":null})", "slow_rate", "must be a number from 0 to 1"},
        Rejection{R"({"slow_latency_ms":60001})", "slow_latency_ms",
                  "must be an integer from 0 to 60000"},
        Rejection{R"({"slow_latency_ms":0.5})", "slow_latency_ms",
                  "must be an integer from 0 to 60000"},
        Rejection{R"({"slow_latency_ms":-1})", "slow_latency_ms",
                  "must be an integer from 0 to 60000"},
        Rejection{R"({"reset_rate":-0.01})", "reset_rate", "must be a number from 0 to 1"},
        Rejection{R"({"reset_rate":true})", "reset_rate", "must be a number from 0 to 1"}));

TEST(FaultUpdateJson, LongUnknownKeysAreCutAtACharacterBoundary) {
  const std::string key = std::string(63, 'k') + "\xC3\xA9" + "tail";  // é straddles byte 64
  const FaultUpdateError e = rejected("{\"" + key + "\":1}");
  EXPECT_EQ(e.field, std::string(63, 'k'));
}

TEST(FaultUpdateJson, AnInvalidUpdateChangesNothing) {
  FaultState state;
  state.apply({.enabled = true, .latency_ms = 300});
  const FaultState before = state;
  const FaultUpdateResult result = parse_fault_update(R"({"jitter_ms":5,"error_rate":2})");
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->field, "error_rate");
  if (!result.error) state.apply(result.update);  // the caller's rule: apply only on success
  EXPECT_EQ(state, before);
}

TEST(FaultStateJson, RendersOverridesAndEffectiveValues) {
  const ProcessorParameters environment{200, 50, 0.94, 0, 0.005, 150, 0};
  FaultState state;
  EXPECT_EQ(fault_injection_json(state, environment),
            R"({"fault_injection":{"enabled":false,"latency_ms":null,"jitter_ms":null,)"
            R"("success_rate":null,"error_rate":null,"slow_rate":null,"slow_latency_ms":null,)"
            R"("reset_rate":null,"effective":{"latency_ms":200,)"
            R"("jitter_ms":50,"success_rate":0.94,"error_rate":0,"slow_rate":0.005,)"
            R"("slow_latency_ms":150,"reset_rate":0}}})");

  state.apply({.enabled = true,
               .latency_ms = 500,
               .error_rate = 0.25,
               .slow_rate = 0.04,
               .reset_rate = 0.5});
  EXPECT_EQ(fault_state_json(state),
            R"({"enabled":true,"latency_ms":500,"jitter_ms":null,"success_rate":null,)"
            R"("error_rate":0.25,"slow_rate":0.04,"slow_latency_ms":null,"reset_rate":0.5})");
  EXPECT_EQ(fault_injection_json(state, environment),
            R"({"fault_injection":{"enabled":true,"latency_ms":500,"jitter_ms":null,)"
            R"("success_rate":null,"error_rate":0.25,"slow_rate":0.04,"slow_latency_ms":null,)"
            R"("reset_rate":0.5,"effective":{"latency_ms":500,)"
            R"("jitter_ms":50,"success_rate":0.94,"error_rate":0.25,"slow_rate":0.04,)"
            R"("slow_latency_ms":150,"reset_rate":0.5}}})");
}

TEST(FaultStateJson, RenderedStateParsesBack) {
  FaultState state;
  state.apply({.enabled = true,
               .latency_ms = 1,
               .jitter_ms = 2,
               .success_rate = 0.1,
               .error_rate = 0.3,
               .slow_rate = 0.02,
               .slow_latency_ms = 400,
               .reset_rate = 0.1});
  const FaultUpdate update = parsed(fault_state_json(state));
  FaultState copy;
  copy.apply(update);
  EXPECT_EQ(copy, state);
}

}  // namespace
}  // namespace paystream::core
