// libFuzzer target: one HttpSession fed a byte stream cut at fuzzer-chosen points, its
// requests answered in a fuzzer-chosen order, timers fired and drains begun, while a strict
// client-side reader checks every byte the session writes.
//
// Input layout (FuzzedDataProvider takes integers from the end, bytes from the front):
// the request stream first, then the actions in reverse order, then one options byte last.
//   options: bit 0  answer each request inside dispatch() (as synchronous handlers do)
//            bit 1  small limits (head 256 bytes, body 64 bytes, 4 headers)
//            bits 2-5  max_in_flight = 16 - value
//            bit 6  feed only while wants_read() (else answer the oldest request first)
//            bit 7  each answer also carries a header whose value holds a line break
//   actions: 0x00       feed all the remaining stream bytes, then stop
//            0x01-0x9f  feed the next N stream bytes
//            0xa0-0xbf  answer pending request number (b & 0x0f) modulo the pending count;
//                       with bit 4 set, also answer an already answered request again
//            0xc0-0xdf  let ((b & 0x1f) + 1) * 250 ms pass and fire the timer
//            0xe0-0xef  begin draining
//            0xf0-0xff  feed the next ((b & 0x0f) + 1) * 256 stream bytes
// Then every pending request is answered and an hour passes.
//
// Invariants: responses come in request order, one per answered request, each at most once,
// plus at most one error response that closes the stream; a 100 Continue only once every
// earlier request is answered; nothing follows a response that says `Connection: close`; every
// response is well-formed HTTP/1.1 with an exact Content-Length and no header split by a
// handler's line break; dispatched requests respect the limits, carry no CR or LF in their
// target or headers, and have the body their Content-Length states (none without it or
// Transfer-Encoding); every request dispatched is answered by the end.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "base/ascii.h"
#include "net/http_session.h"

namespace {

using paystream::net::HttpSession;
using paystream::net::Request;
using paystream::net::RequestSink;
using paystream::net::Response;
using paystream::net::ResponseHeader;
using paystream::net::SessionLimits;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "http_session_fuzz: invariant violated: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) violated(what);
}

bool has_cr_or_lf(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

// Digits only, leading zeros allowed, at most 19 significant digits.
bool parse_decimal(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  const size_t significant = s.find_first_not_of('0');
  if (significant != std::string_view::npos && s.size() - significant > 19) return false;
  out = 0;
  for (char c : s) {
    if (!paystream::base::is_digit(c)) return false;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

// Reads the session's output as a strict client would, and checks it against what was asked.
class OutputChecker {
 public:
  // Per dispatched request, in sequence order: HEAD (no body) and whether it was answered.
  std::vector<bool> head_request;
  std::vector<bool> answered;

  void take(std::string& out) {
    if (out.empty()) return;
    check(!closed_, "bytes written after a response with Connection: close");
    buffer_ += out;
    out.clear();
    while (parse_one()) {
    }
  }

  uint32_t responses() const { return next_seq_; }
  bool closed() const { return closed_; }
  bool partial() const { return !buffer_.empty(); }

 private:
  // Parses one complete response at the front of buffer_; false when incomplete.
  bool parse_one() {
    check(!closed_ || buffer_.empty(), "bytes written after a response with Connection: close");
    const size_t head_end = buffer_.find("\r\n\r\n");
    if (head_end == std::string::npos) {
      check(buffer_.size() < 65536, "response head without an end");
      return false;
    }
    const std::string_view head = std::string_view(buffer_).substr(0, head_end);
    check(head.starts_with("HTTP/1.1 ") && head.size() >= 13, "bad status line");
    uint64_t status = 0;
    check(parse_decimal(head.substr(9, 3), status) && status >= 100 && status <= 599,
          "bad status code");
    check(head[12] == ' ', "bad status line");
    if (status == 100) {
      check(head == "HTTP/1.1 100 Continue", "interim response with header fields");
      // It belongs to the request being received: every earlier one must be answered.
      check(next_seq_ == answered.size(), "100 Continue before an earlier request's answer");
      buffer_.erase(0, head_end + 4);
      return true;
    }

    std::string_view rest = head.substr(
        head.find("\r\n") == std::string_view::npos ? head.size() : head.find("\r\n") + 2);
    bool has_length = false;
    bool has_date = false;
    bool has_seq = false;
    bool close = false;
    uint64_t length = 0;
    uint64_t seq = 0;
    while (!rest.empty()) {
      const size_t eol = rest.find("\r\n");
      const std::string_view line = rest.substr(0, eol);
      rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 2);
      check(line.find_first_of("\r\n") == std::string_view::npos, "bare CR or LF in a header");
      const size_t colon = line.find(": ");
      check(colon != std::string_view::npos && colon > 0, "header line without a name");
      const std::string_view name = line.substr(0, colon);
      const std::string_view value = line.substr(colon + 2);
      check(!paystream::base::equals_ignore_case(name, "injected"),
            "a handler's line break split the head");
      if (paystream::base::equals_ignore_case(name, "content-length")) {
        check(!has_length && parse_decimal(value, length), "bad or repeated Content-Length");
        has_length = true;
      } else if (paystream::base::equals_ignore_case(name, "date")) {
        has_date = true;
      } else if (paystream::base::equals_ignore_case(name, "x-seq")) {
        check(!has_seq && parse_decimal(value, seq), "bad X-Seq");
        has_seq = true;
      } else if (paystream::base::equals_ignore_case(name, "connection")) {
        check(value == "close" || value == "keep-alive", "bad Connection value");
        close = value == "close";
      }
    }
    check(has_length && has_date, "response without Content-Length or Date");

    bool body_sent = true;
    if (has_seq) {
      check(seq == next_seq_, "response out of request order, repeated or invented");
      check(seq < answered.size() && answered[seq], "response to a request nobody answered");
      body_sent = !head_request[seq];
    } else {
      // The session's own error answer: JSON, 4xx or 5xx, and the end of the stream.
      check(status >= 400, "unanswered request got a non-error response");
      check(close, "error response without Connection: close");
    }
    const size_t body_start = head_end + 4;
    if (body_sent) {
      if (buffer_.size() < body_start + length) return false;
      if (!has_seq) {
        const std::string_view body = std::string_view(buffer_).substr(body_start, length);
        check(body.starts_with("{\"error\":\"") && body.ends_with("\"}"), "error body not JSON");
      }
    }
    buffer_.erase(0, body_start + (body_sent ? length : 0));
    if (has_seq) ++next_seq_;
    if (close) closed_ = true;
    return true;
  }

  std::string buffer_;
  uint32_t next_seq_ = 0;
  bool closed_ = false;
};

class Harness : public RequestSink {
 public:
  Harness(const SessionLimits& limits, uint8_t options)
      : limits_(limits),
        answer_at_once_((options & 0x01) != 0),
        inject_line_break_((options & 0x80) != 0),
        session_(limits, *this, date_, 0) {}

  void dispatch(const Request& r, uint32_t seq) override {
    checker_.take(session_.output());  // what was written before this request existed
    check(seq == checker_.answered.size(), "sequence numbers not consecutive from 0");
    check(!r.method.empty(), "request without a method");
    check(r.path.starts_with("/"), "request path not absolute");
    check(!has_cr_or_lf(r.target), "CR or LF in the request target");
    check(r.version_minor <= 1, "request version beyond HTTP/1.1");
    check(r.body.size() <= limits_.parse.max_body_bytes, "body over the limit");
    check(r.headers.size() <= limits_.parse.max_headers, "more headers than the limit");
    int hosts = 0;
    for (const auto& h : r.headers) {
      check(!h.name.empty(), "empty header name");
      check(!has_cr_or_lf(h.name) && !has_cr_or_lf(h.value), "CR or LF in a header");
      if (paystream::base::equals_ignore_case(h.name, "host")) ++hosts;
    }
    check(hosts <= 1 && (r.version_minor == 0 || hosts == 1), "Host header count");
    // The framing a handler sees is the framing the body was read with. CONNECT and Upgrade
    // end the HTTP stream at their head (answered, then closed): their bytes are not read.
    check(r.method != "CONNECT" || !r.keep_alive, "CONNECT kept alive");
    const bool switches = !r.keep_alive && (r.method == "CONNECT" || r.has_header("upgrade"));
    if (!switches && !r.has_header("transfer-encoding")) {
      uint64_t length = 0;
      if (r.has_header("content-length")) {
        check(parse_decimal(r.header("content-length"), length) && length == r.body.size(),
              "body length differs from Content-Length");
      } else {
        check(r.body.empty(), "body without Content-Length or Transfer-Encoding");
      }
    }
    checker_.head_request.push_back(r.method == "HEAD");
    checker_.answered.push_back(false);
    pending_.push_back(seq);
    check(session_.in_flight() <= limits_.max_in_flight, "more in flight than max_in_flight");
    if (answer_at_once_) answer(pending_.size() - 1);
  }

  void protocol_error(int status) override {
    check(status >= 400 && status <= 599, "protocol error status");
    check(++protocol_errors_ == 1, "more than one protocol error on a stream");
  }

  void answer(size_t index) {
    const uint32_t seq = pending_[index];
    pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(index));
    checker_.answered[seq] = true;
    last_answered_ = seq;
    const std::string seq_text = std::to_string(seq);
    const std::string body = "answer " + seq_text;
    std::vector<ResponseHeader> headers{{"X-Seq", seq_text}};
    if (inject_line_break_) headers.push_back({"X-Note", "a\r\nInjected: 1"});
    session_.complete(seq, Response{.content_type = "text/plain", .body = body, .headers = headers},
                      now_);
  }

  void answer_again() {
    // Unknown or repeated: the session must ignore it.
    session_.complete(last_answered_, Response{.body = "again"}, now_);
    session_.complete(1u << 30, Response{.body = "never"}, now_);
  }

  void step_done() {
    checker_.take(session_.output());
    check(!session_.wants_read() || !session_.should_close(), "wants to read while closing");
  }

  HttpSession& session() { return session_; }
  std::deque<uint32_t>& pending() { return pending_; }
  OutputChecker& checker() { return checker_; }
  uint64_t now_ = 0;

 private:
  SessionLimits limits_;
  bool answer_at_once_;
  bool inject_line_break_;
  std::string date_ = "Thu, 01 Jan 2026 00:00:00 GMT";
  HttpSession session_;
  OutputChecker checker_;
  std::deque<uint32_t> pending_;
  uint32_t last_answered_ = 0;
  int protocol_errors_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  const uint8_t options = provider.ConsumeIntegral<uint8_t>();
  SessionLimits limits;
  if ((options & 0x02) != 0)
    limits.parse = {.max_header_bytes = 256, .max_body_bytes = 64, .max_headers = 4};
  limits.max_in_flight = 16 - ((options >> 2) & 0x0f);
  const bool honour_wants_read = (options & 0x40) != 0;

  Harness h(limits, options);
  HttpSession& session = h.session();
  auto feed = [&](size_t n) {
    if (honour_wants_read && !session.wants_read()) {
      if (!h.pending().empty()) h.answer(0);
      return;
    }
    const std::string bytes = provider.ConsumeBytesAsString(n);
    session.on_data(bytes.data(), bytes.size(), h.now_);
  };

  bool done = false;
  while (!done) {
    const uint8_t action = provider.ConsumeIntegral<uint8_t>();
    if (action == 0x00) {
      // The rest of the stream in reads of at most 64 KiB, as the connection reads it.
      for (int guard = 0; provider.remaining_bytes() > 0 && guard < 4096; ++guard) {
        feed(65536);
        h.step_done();
      }
      done = true;
    } else if (action < 0xa0) {
      feed(action);
    } else if (action < 0xc0) {
      if (!h.pending().empty()) h.answer((action & 0x0f) % h.pending().size());
      if ((action & 0x10) != 0) h.answer_again();
    } else if (action < 0xe0) {
      h.now_ += (static_cast<uint64_t>(action & 0x1f) + 1) * 250;
      session.on_timer(h.now_);
    } else if (action < 0xf0) {
      session.begin_drain(h.now_);
    } else {
      feed((static_cast<size_t>(action & 0x0f) + 1) * 256);
    }
    h.step_done();
  }

  // Every handler answers in the end (answering may let stashed requests in: bounded by them).
  while (!h.pending().empty()) {
    h.answer(0);
    h.step_done();
  }
  h.now_ += 3'600'000;
  session.on_timer(h.now_);
  h.step_done();

  OutputChecker& checker = h.checker();
  check(checker.responses() == checker.answered.size(), "a dispatched request was never answered");
  check(!checker.partial(), "a response left incomplete");
  if (checker.closed()) check(session.should_close(), "closed in the output, open in the session");
  return 0;
}
