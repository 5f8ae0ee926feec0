#pragma once
// HOST:PORT to a socket address. Only the address given is ever connected to.

#include <sys/socket.h>

#include <string>

#include "bench/authload/options.h"

namespace paystream::bench {

// Empty on success, else why the name did not resolve.
std::string resolve_target(const TargetAddress& target, sockaddr_storage& out);

}  // namespace paystream::bench
