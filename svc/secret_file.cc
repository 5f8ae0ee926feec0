#include "svc/secret_file.h"

#include <sys/stat.h>

#include <utility>

#include "base/file.h"

namespace paystream::svc {

core::SecretFileAccess secret_file_access(std::string path) {
  return {
      [path]() -> std::optional<core::FileIdentity> {
        struct stat info;
        if (::stat(path.c_str(), &info) != 0) return std::nullopt;
        return core::FileIdentity{
            .device = static_cast<uint64_t>(info.st_dev),
            .inode = static_cast<uint64_t>(info.st_ino),
            .size = static_cast<int64_t>(info.st_size),
            .mtime_ns =
                static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec,
        };
      },
      [path = std::move(path)]() {
        return base::read_small_file(path.c_str(), kMaxSecretFileBytes);
      },
  };
}

}  // namespace paystream::svc
