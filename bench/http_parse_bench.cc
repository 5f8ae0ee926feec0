// HTTP/1.1 parsing: a realistic 250-byte authorize POST through the session layer
// (parser + dispatch + in-order response framing), with no socket involved.

#include <benchmark/benchmark.h>

#include <string>

#include "bench/alloc_counter.h"
#include "bench/authorize_post.h"
#include "net/http_parser.h"
#include "net/http_session.h"

namespace paystream::net {
namespace {

using bench::authorize_post;

void BM_ParseAuthorizePost(benchmark::State& state) {
  const std::string req = authorize_post();
  RequestParser parser(ParseLimits{});
  parser.feed(req.data(), req.size());  // warm: the parser's buffers reach their size
  bench::AllocationMeter meter;
  for ([[maybe_unused]] auto _ : state) {
    auto r = parser.feed(req.data(), req.size());
    benchmark::DoNotOptimize(parser.request().body.data());
    if (r.event != RequestParser::Event::request) state.SkipWithError("parse failed");
  }
  meter.report(state);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * req.size()));
  state.counters["request_bytes"] = static_cast<double>(req.size());
}
BENCHMARK(BM_ParseAuthorizePost);

class AnswerAtOnce : public RequestSink {
 public:
  void dispatch(const Request&, uint32_t seq) override {
    session->complete(seq, Response{.body = R"({"status":"approved"})"}, 0);
  }
  void protocol_error(int) override {}
  HttpSession* session = nullptr;
};

void BM_SessionRoundTrip(benchmark::State& state) {
  const std::string req = authorize_post();
  const std::string date = "Thu, 01 Jan 2026 00:00:00 GMT";
  AnswerAtOnce sink;
  HttpSession session(SessionLimits{}, sink, date, 0);
  sink.session = &session;
  session.on_data(req.data(), req.size(), 0);  // warm: the slot and output reach their size
  session.output().clear();
  bench::AllocationMeter meter;
  for ([[maybe_unused]] auto _ : state) {
    session.on_data(req.data(), req.size(), 0);
    benchmark::DoNotOptimize(session.output().data());
    session.output().clear();
  }
  meter.report(state);
}
BENCHMARK(BM_SessionRoundTrip);

}  // namespace
}  // namespace paystream::net

// main() is in harness_bench.cc.
