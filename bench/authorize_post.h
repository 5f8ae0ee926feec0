#pragma once
// The request the benchmarks send through the session: a realistic 250-byte authorize POST.

#include <string>

namespace paystream::bench {

inline std::string authorize_post() {
  const std::string body =
      R"({"card_number":"4111111111111111","amount":"2450.00","currency":"USD",)"
      R"("merchant":"Amazon Web Services","cardholder_name":"Maria Garcia"})";
  return "POST /v1/authorize HTTP/1.1\r\n"
         "Host: auth.paystream.test\r\n"
         "Content-Type: application/json\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace paystream::bench
