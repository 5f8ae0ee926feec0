#pragma once
// The real file access behind core::SecretReloader: stat() follows symlinks, so Kubernetes'
// `..data` swap shows as a new inode behind the same path.

#include <string>

#include "core/secret_reload.h"

namespace paystream::svc {

// Secret files larger than this are refused as unreadable.
inline constexpr size_t kMaxSecretFileBytes = 64 * 1024;

core::SecretFileAccess secret_file_access(std::string path);

}  // namespace paystream::svc
