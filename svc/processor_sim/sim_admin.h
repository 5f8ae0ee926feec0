#pragma once
// The simulator's admin port: GET/PUT/DELETE /admin/faults, GET /admin/stats, GET /metrics.

#include "net/router.h"
#include "svc/processor_sim/sim_state.h"

namespace paystream::svc::sim {

void add_sim_admin_routes(net::Router& router, SimShared& shared);

}  // namespace paystream::svc::sim
