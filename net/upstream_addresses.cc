#include "net/upstream_addresses.h"

#include <netinet/in.h>
#include <uv.h>

#include <algorithm>
#include <cstring>

namespace paystream::net {

bool UpstreamAddresses::set_literal(const std::string& host) {
  sockaddr_storage s{};
  if (uv_ip4_addr(host.c_str(), port_, reinterpret_cast<sockaddr_in*>(&s)) != 0) {
    s = {};
    if (uv_ip6_addr(host.c_str(), port_, reinterpret_cast<sockaddr_in6*>(&s)) != 0) return false;
  }
  addresses_.assign(1, s);
  return true;
}

bool UpstreamAddresses::update(int status, const addrinfo* found) {
  if (status != 0) return false;
  fresh_.clear();
  for (int family : {AF_INET, AF_INET6}) {
    for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
      if (a->ai_family != family || a->ai_addr == nullptr) continue;
      const size_t len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
      if (a->ai_addrlen < len) continue;
      sockaddr_storage s{};
      std::memcpy(&s, a->ai_addr, len);
      if (family == AF_INET) {
        reinterpret_cast<sockaddr_in*>(&s)->sin_port = htons(port_);
      } else {
        reinterpret_cast<sockaddr_in6*>(&s)->sin6_port = htons(port_);
      }
      const bool seen = std::any_of(fresh_.begin(), fresh_.end(), [&](const sockaddr_storage& o) {
        return std::memcmp(&o, &s, sizeof s) == 0;
      });
      if (!seen) fresh_.push_back(s);
    }
  }
  if (fresh_.empty()) return false;
  addresses_.swap(fresh_);
  return true;
}

const sockaddr* UpstreamAddresses::next() {
  const sockaddr_storage& s = addresses_[next_++ % addresses_.size()];
  return reinterpret_cast<const sockaddr*>(&s);
}

}  // namespace paystream::net
