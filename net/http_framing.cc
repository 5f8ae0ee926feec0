#include "net/http_framing.h"

#include <cstring>

namespace paystream::net {
namespace {

bool is_fold_start(char c) {
  return c == ' ' || c == '\t';
}

}  // namespace

FramingCheck::Verdict FramingCheck::scan(const char* data, size_t len) {
  if (len == 0) return Verdict::ok;
  const char* const end = data + len;
  // The line breaks decide everything, so jump from one to the next (memchr is SIMD):
  // a head is a few lines of printable bytes.
  if (prev_ == '\r' && data[0] != '\n') return Verdict::bare_cr;
  if (prev_ == '\n' && is_fold_start(data[0])) return Verdict::obs_fold;
  const char* p = data;
  while (p < end) {
    const auto* lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* line_end = lf != nullptr ? lf : end;
    // A CR is allowed only right before the LF (or as the last byte seen so far).
    const void* cr = std::memchr(p, '\r', static_cast<size_t>(line_end - p));
    if (cr != nullptr && static_cast<const char*>(cr) + 1 != line_end) return Verdict::bare_cr;
    if (lf == nullptr) break;
    if ((lf > data ? lf[-1] : prev_) != '\r') return Verdict::bare_lf;
    if (lf + 1 < end && is_fold_start(lf[1])) return Verdict::obs_fold;
    p = lf + 1;
  }
  prev_ = end[-1];
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
