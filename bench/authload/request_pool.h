#pragma once
// The raw HTTP/1.1 requests one target is sent, built once before the run so sending is a
// plain write of prepared bytes.

#include <string>
#include <vector>

namespace paystream::bench {

struct RequestSpec {
  std::string method = "POST";
  std::string path = "/v1/authorize";
  std::string host;                        // Host header value
  std::vector<std::string> extra_headers;  // "Name: value"
};

// One request; `body` is sent with Content-Type: application/json and its Content-Length.
std::string build_request(const RequestSpec& spec, const std::string* body);

// Where a header line can be inserted in every request built from `spec`: right after Host.
size_t header_insert_offset(const RequestSpec& spec);

// One request per body, or a single body-less request when `bodies` is empty.
std::vector<std::string> build_request_pool(const RequestSpec& spec,
                                            const std::vector<std::string>& bodies);

}  // namespace paystream::bench
