#include "base/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace paystream::base {

std::optional<std::string> read_small_file(const char* path, size_t max_bytes) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string content;
  char buffer[4096];
  bool ok = true;
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || content.size() + static_cast<size_t>(n) > max_bytes) {
      ok = false;
      break;
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  if (!ok) return std::nullopt;
  return content;
}

}  // namespace paystream::base
