#pragma once
// Kubernetes probes on the public port. /livez: 200 while every reactor's
// heartbeat is fresh (stays 200 during drain). /readyz: 503 once draining starts.

#include "net/router.h"
#include "net/server.h"

namespace paystream::net {

inline constexpr uint64_t kStalledHeartbeatMs = 2000;

void add_probes(Router& router, const Server& server);

}  // namespace paystream::net
