#pragma once
// The versions of the libraries net is built on, for the start-up log.

#include <string>

namespace paystream::net {

std::string libuv_version();
std::string llhttp_version();

}  // namespace paystream::net
