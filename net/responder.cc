#include "net/responder.h"

#include "net/connection.h"
#include "net/reactor.h"

namespace paystream::net {

void Responder::respond(const Response& response) const {
  Connection* c = reactor_->connection(connection_, generation_);
  if (c != nullptr) c->complete(seq_, response);
}

void Responder::reset() const {
  Connection* c = reactor_->connection(connection_, generation_);
  if (c != nullptr) c->reset();
}

void Responder::send_raw_then_reset(std::string_view bytes) const {
  Connection* c = reactor_->connection(connection_, generation_);
  if (c != nullptr) c->send_raw_then_reset(bytes);
}

bool Responder::connected() const {
  return reactor_->connection(connection_, generation_) != nullptr;
}

}  // namespace paystream::net
