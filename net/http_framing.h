#pragma once
// Line rules for the framing bytes of a request stream: everything that is not body
// data (request line, header lines, the empty line ending the head, chunk-size lines
// with their extensions, the CRLF after chunk data, trailers). Every line ends in
// CRLF: a bare CR, a bare LF and a line starting with whitespace (obs-fold) are
// refused. llhttp 8.1, even in strict mode, lets some of these through.

#include <cstddef>
#include <string_view>

namespace paystream::net {

class FramingCheck {
 public:
  enum class Verdict { ok, bare_cr, bare_lf, obs_fold };

  // The next framing bytes of the stream, in order; state carries across calls.
  Verdict scan(const char* data, size_t len);
  // Body data came between the framing bytes scanned before and after.
  Verdict body_between();

  static std::string_view message(Verdict v);

 private:
  char prev_ = 0;  // the previous framing byte, 0 at the start or after body data
};

}  // namespace paystream::net
