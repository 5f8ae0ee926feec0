#include "net/upstream_addresses.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <uv.h>

#include <string>
#include <vector>

namespace paystream::net {
namespace {

// A getaddrinfo-like list built by hand (port 0, as a lookup without a service gives).
class List {
 public:
  List& v4(const char* ip) {
    auto& s = storage_.emplace_back();
    auto* in = reinterpret_cast<sockaddr_in*>(&s);
    in->sin_family = AF_INET;
    inet_pton(AF_INET, ip, &in->sin_addr);
    families_.push_back(AF_INET);
    return *this;
  }
  List& v6(const char* ip) {
    auto& s = storage_.emplace_back();
    auto* in = reinterpret_cast<sockaddr_in6*>(&s);
    in->sin6_family = AF_INET6;
    inet_pton(AF_INET6, ip, &in->sin6_addr);
    families_.push_back(AF_INET6);
    return *this;
  }
  const addrinfo* get() {
    nodes_.assign(storage_.size(), addrinfo{});
    for (size_t i = 0; i < nodes_.size(); ++i) {
      nodes_[i].ai_family = families_[i];
      nodes_[i].ai_socktype = SOCK_STREAM;
      nodes_[i].ai_addr = reinterpret_cast<sockaddr*>(&storage_[i]);
      nodes_[i].ai_addrlen = families_[i] == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
      nodes_[i].ai_next = i + 1 < nodes_.size() ? &nodes_[i + 1] : nullptr;
    }
    return nodes_.empty() ? nullptr : nodes_.data();
  }

 private:
  std::vector<sockaddr_storage> storage_;
  std::vector<int> families_;
  std::vector<addrinfo> nodes_;
};

std::string name(const sockaddr* a) {
  char ip[INET6_ADDRSTRLEN] = {};
  uint16_t port;
  if (a->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(a);
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
    port = ntohs(in->sin_port);
  } else {
    const auto* in = reinterpret_cast<const sockaddr_in6*>(a);
    inet_ntop(AF_INET6, &in->sin6_addr, ip, sizeof ip);
    port = ntohs(in->sin6_port);
  }
  return std::string(ip) + "/" + std::to_string(port);
}

TEST(UpstreamAddresses, Ipv4FirstEachOnceInTurnWithThePort) {
  UpstreamAddresses a(9090);
  List list;
  list.v6("::1").v4("10.0.0.1").v4("10.0.0.2").v4("10.0.0.1");
  ASSERT_TRUE(a.update(0, list.get()));
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(name(a.next()), "10.0.0.1/9090");
  EXPECT_EQ(name(a.next()), "10.0.0.2/9090");
  EXPECT_EQ(name(a.next()), "::1/9090");
  EXPECT_EQ(name(a.next()), "10.0.0.1/9090");
}

TEST(UpstreamAddresses, FailedOrEmptyResolutionKeepsTheOldAddresses) {
  UpstreamAddresses a(80);
  List first;
  first.v4("10.0.0.1");
  ASSERT_TRUE(a.update(0, first.get()));
  EXPECT_FALSE(a.update(UV_EAI_AGAIN, nullptr));
  EXPECT_FALSE(a.update(0, nullptr));
  List ignored;
  ignored.v4("10.9.9.9");
  EXPECT_FALSE(a.update(UV_EAI_NONAME, ignored.get()));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(name(a.next()), "10.0.0.1/80");
  // A successful one replaces them: the Service moved.
  List moved;
  moved.v4("10.0.0.7");
  ASSERT_TRUE(a.update(0, moved.get()));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(name(a.next()), "10.0.0.7/80");
}

TEST(UpstreamAddresses, Literals) {
  UpstreamAddresses a(8080);
  EXPECT_FALSE(a.set_literal("processor.internal"));
  EXPECT_TRUE(a.empty());
  ASSERT_TRUE(a.set_literal("fd00::5"));
  EXPECT_EQ(name(a.next()), "fd00::5/8080");
  ASSERT_TRUE(a.set_literal("127.0.0.1"));
  EXPECT_EQ(a.size(), 1u);
  EXPECT_EQ(name(a.next()), "127.0.0.1/8080");
}

}  // namespace
}  // namespace paystream::net
