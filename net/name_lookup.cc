#include "net/name_lookup.h"

namespace paystream::net {

int NameLookup::start(const std::string& host) {
  auto* r = new Request{{}, this};
  r->req.data = r;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  const int rc = uv_getaddrinfo(loop_, &r->req, on_resolved, host.c_str(), nullptr, &hints);
  if (rc != 0) {
    delete r;
    return rc;
  }
  request_ = r;
  return 0;
}

void NameLookup::cancel() {
  if (request_ == nullptr) return;
  request_->lookup = nullptr;
  uv_cancel(reinterpret_cast<uv_req_t*>(&request_->req));  // its callback still runs, and frees
  request_ = nullptr;
}

void NameLookup::on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* result) {
  auto* r = static_cast<Request*>(req->data);
  NameLookup* lookup = r->lookup;
  delete r;
  if (lookup != nullptr) {
    lookup->request_ = nullptr;  // `done` may start the next lookup
    lookup->done_(lookup->owner_, status, result);
  }
  if (result != nullptr) uv_freeaddrinfo(result);
}

}  // namespace paystream::net
