#pragma once
// The way a handler answers one request, now or later. Use it on the reactor's
// own thread (from another thread: reactor().post(...) first). A response for a
// connection that has closed meanwhile is dropped.

#include <cstdint>
#include <string_view>

#include "net/http_types.h"

namespace paystream::net {

class Reactor;

class Responder {
 public:
  Responder(Reactor* reactor, uint32_t connection, uint32_t generation, uint32_t seq)
      : reactor_(reactor), connection_(connection), generation_(generation), seq_(seq) {}

  void respond(const Response& response) const;
  // Abort the connection with a TCP RST instead of answering (fault injection).
  void reset() const;
  // Writes `bytes` as they are (no HTTP framing) when nothing else is waiting to be sent on
  // the connection, then aborts it with a TCP RST: a client sees a cut answer (fault
  // injection). Bytes the kernel did not take at once are dropped.
  void send_raw_then_reset(std::string_view bytes) const;
  Reactor& reactor() const { return *reactor_; }
  // False once the connection is gone: the answer would be dropped.
  bool connected() const;

 private:
  Reactor* reactor_;
  uint32_t connection_;
  uint32_t generation_;
  uint32_t seq_;
};

}  // namespace paystream::net
