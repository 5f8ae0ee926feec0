#include "bench/authload/request_pool.h"

#include <string_view>

namespace paystream::bench {

std::string build_request(const RequestSpec& spec, const std::string* body) {
  std::string request = spec.method + " " + spec.path + " HTTP/1.1\r\nHost: " + spec.host + "\r\n";
  for (const std::string& header : spec.extra_headers) request += header + "\r\n";
  if (body != nullptr) {
    request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body->size()) +
               "\r\n\r\n" + *body;
  } else {
    request += "\r\n";
  }
  return request;
}

size_t header_insert_offset(const RequestSpec& spec) {
  return spec.method.size() + 1 + spec.path.size() +
         std::string_view(" HTTP/1.1\r\nHost: ").size() + spec.host.size() + 2;
}

std::vector<std::string> build_request_pool(const RequestSpec& spec,
                                            const std::vector<std::string>& bodies) {
  std::vector<std::string> pool;
  if (bodies.empty()) {
    pool.push_back(build_request(spec, nullptr));
    return pool;
  }
  pool.reserve(bodies.size());
  for (const std::string& body : bodies) pool.push_back(build_request(spec, &body));
  return pool;
}

}  // namespace paystream::bench
