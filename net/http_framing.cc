#include "net/http_framing.h"

namespace paystream::net {

FramingCheck::Verdict FramingCheck::scan(const char* data, size_t len) {
  char prev = prev_;
  for (size_t i = 0; i < len; ++i) {
    const char c = data[i];
    if (prev == '\r' && c != '\n') return Verdict::bare_cr;
    if (c == '\n' && prev != '\r') return Verdict::bare_lf;
    if ((c == ' ' || c == '\t') && prev == '\n') return Verdict::obs_fold;
    prev = c;
  }
  prev_ = prev;
  return Verdict::ok;
}

FramingCheck::Verdict FramingCheck::body_between() {
  if (prev_ == '\r') return Verdict::bare_cr;
  prev_ = 0;
  return Verdict::ok;
}

std::string_view FramingCheck::message(Verdict v) {
  switch (v) {
    case Verdict::bare_cr:
      return "carriage return not followed by a line feed";
    case Verdict::bare_lf:
      return "line feed without a carriage return: lines end in CRLF";
    case Verdict::obs_fold:
      return "obsolete line folding: a line starts with whitespace";
    case Verdict::ok:
      break;
  }
  return "malformed HTTP request";
}

}  // namespace paystream::net
