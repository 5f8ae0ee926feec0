#include "net/redis_uv_events.h"

#include <hiredis/async.h>

namespace paystream::net {
namespace {

struct Events {
  uv_poll_t handle;
  redisAsyncContext* ac;  // null once hiredis has freed it
  int events = 0;
  RedisGoneFn on_gone;
  void* owner;
};

void on_poll(uv_poll_t* handle, int status, int events) {
  auto* e = static_cast<Events*>(handle->data);
  if (e->ac == nullptr) return;
  if (status < 0) {
    // POLLERR: libuv has stopped the poll. Let hiredis meet the error: a connect in progress
    // reads SO_ERROR, a connected socket reads the pending error; either frees the context.
    if ((e->ac->c.flags & REDIS_CONNECTED) == 0) {
      redisAsyncHandleWrite(e->ac);
    } else {
      redisAsyncHandleRead(e->ac);
    }
    return;
  }
  if ((events & UV_READABLE) != 0) redisAsyncHandleRead(e->ac);
  // Reading may have freed the context (on_gone cleared e->ac).
  if (e->ac != nullptr && (events & UV_WRITABLE) != 0) redisAsyncHandleWrite(e->ac);
}

void update(Events* e) {
  if (e->events != 0) {
    uv_poll_start(&e->handle, e->events, on_poll);
  } else {
    uv_poll_stop(&e->handle);
  }
}

void add_read(void* data) {
  auto* e = static_cast<Events*>(data);
  e->events |= UV_READABLE;
  update(e);
}

void del_read(void* data) {
  auto* e = static_cast<Events*>(data);
  e->events &= ~UV_READABLE;
  update(e);
}

void add_write(void* data) {
  auto* e = static_cast<Events*>(data);
  e->events |= UV_WRITABLE;
  update(e);
}

void del_write(void* data) {
  auto* e = static_cast<Events*>(data);
  e->events &= ~UV_WRITABLE;
  update(e);
}

// hiredis frees the context right after this returns (and closes the socket): stop polling
// first, then tell the owner.
void cleanup(void* data) {
  auto* e = static_cast<Events*>(data);
  const redisAsyncContext* ac = e->ac;
  e->ac = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&e->handle),
           [](uv_handle_t* h) { delete static_cast<Events*>(h->data); });
  e->on_gone(e->owner, ac);
}

}  // namespace

bool attach_redis_to_loop(redisAsyncContext* ac, uv_loop_t* loop, RedisGoneFn on_gone,
                          void* owner) {
  if (ac->ev.data != nullptr) return false;
  auto* e = new Events{{}, ac, 0, on_gone, owner};
  if (uv_poll_init(loop, &e->handle, ac->c.fd) != 0) {
    delete e;
    return false;
  }
  e->handle.data = e;
  uv_unref(reinterpret_cast<uv_handle_t*>(&e->handle));
  ac->ev.data = e;
  ac->ev.addRead = add_read;
  ac->ev.delRead = del_read;
  ac->ev.addWrite = add_write;
  ac->ev.delWrite = del_write;
  ac->ev.cleanup = cleanup;
  return true;
}

}  // namespace paystream::net
