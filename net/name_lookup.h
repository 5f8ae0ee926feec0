#pragma once
// One name resolution at a time on a reactor's loop (uv_getaddrinfo, TCP, any family), for
// an owner that may stop waiting or go away before the answer: cancel() (or the destructor)
// detaches it, and the request, which libuv still completes, then only frees itself.
// On the loop's thread only.

#include <netdb.h>
#include <uv.h>

#include <string>

namespace paystream::net {

class NameLookup {
 public:
  // Called with the answer; `result` (null on error) is freed once it returns.
  using Done = void (*)(void* owner, int status, const addrinfo* result);

  NameLookup(uv_loop_t* loop, Done done, void* owner) : loop_(loop), done_(done), owner_(owner) {}
  NameLookup(const NameLookup&) = delete;
  NameLookup& operator=(const NameLookup&) = delete;
  ~NameLookup() { cancel(); }

  // 0, or the libuv error of a lookup that could not start (`done` is not called then).
  int start(const std::string& host);
  bool running() const { return request_ != nullptr; }
  // `done` will not be called for the lookup in progress, if any.
  void cancel();

 private:
  struct Request {
    uv_getaddrinfo_t req;
    NameLookup* lookup;  // null once cancelled
  };
  static void on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* result);

  uv_loop_t* loop_;
  Done done_;
  void* owner_;
  Request* request_ = nullptr;
};

}  // namespace paystream::net
