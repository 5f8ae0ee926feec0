#include "bench/authload/target_address.h"

#include <netdb.h>

#include <cstring>

namespace paystream::bench {

std::string resolve_target(const TargetAddress& target, sockaddr_storage& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(target.port);
  const int rc = getaddrinfo(target.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    return "cannot resolve " + target.text + ": " + gai_strerror(rc);
  }
  std::memset(&out, 0, sizeof out);
  std::memcpy(&out, found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);
  return {};
}

}  // namespace paystream::bench
