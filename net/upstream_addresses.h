#pragma once
// The addresses of one upstream, as new connections use them: IPv4 first, then IPv6, each
// once, taken in turn. A resolution that fails (or finds nothing) keeps the addresses there
// were: an upstream's DNS hiccup does not take the upstream away.

#include <netdb.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace paystream::net {

class UpstreamAddresses {
 public:
  explicit UpstreamAddresses(uint16_t port) : port_(port) {}

  // `host` as an IP literal (IPv6 without brackets): the one address, never resolved. False
  // when it is a name.
  bool set_literal(const std::string& host);
  // A resolution's outcome (uv_getaddrinfo's status and list). True when it replaced the
  // addresses; false when it failed or found none, and the old ones stay.
  bool update(int status, const addrinfo* found);

  bool empty() const { return addresses_.empty(); }
  size_t size() const { return addresses_.size(); }
  // The next address in turn; not empty().
  const sockaddr* next();
  const sockaddr_storage& at(size_t i) const { return addresses_[i]; }

 private:
  uint16_t port_;
  std::vector<sockaddr_storage> addresses_;
  std::vector<sockaddr_storage> fresh_;  // swapped in: no allocation once both have grown
  size_t next_ = 0;
};

}  // namespace paystream::net
