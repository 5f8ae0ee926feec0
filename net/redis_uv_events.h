#pragma once
// net-internal: hiredis' event hooks on a libuv loop, for net/redis_client.cc. Modelled on
// hiredis 0.14's adapters/libuv.h, with three differences:
//   - a poll error is handed to hiredis: libuv 1.44 reports POLLERR (a refused connect, a
//     reset connection) as status UV_EBADF with the poll stopped, which that adapter drops,
//     leaving the context waiting for our deadline; here hiredis reads the socket error and
//     frees the context at once;
//   - the poll handle is unreferenced: an idle Redis connection never keeps a drained
//     reactor's loop running;
//   - `on_gone` runs when hiredis frees the context (every path: an error, EOF, a refused
//     connect, redisAsyncFree), after the context's pending callbacks have run with a NULL
//     reply and before the context's memory is released.

#include <uv.h>

struct redisAsyncContext;

namespace paystream::net {

using RedisGoneFn = void (*)(void* owner, const redisAsyncContext* ac);

// Attaches `ac` to `loop`. Returns false (nothing attached) when the poll cannot be created;
// the caller then frees `ac`.
bool attach_redis_to_loop(redisAsyncContext* ac, uv_loop_t* loop, RedisGoneFn on_gone, void* owner);

}  // namespace paystream::net
