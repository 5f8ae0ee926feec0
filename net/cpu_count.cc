#include "net/cpu_count.h"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <string>

#include "base/ascii.h"
#include "base/file.h"

namespace paystream::net {
namespace {

// cgroup and /proc entries are a few lines; anything larger is not what we look for.
constexpr size_t kMaxFileBytes = 64 * 1024;

std::string read_file(const std::string& path) {
  return base::read_small_file(path.c_str(), kMaxFileBytes).value_or(std::string());
}

bool parse_u64(std::string_view s, uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::optional<int> cpus_from_cpu_max(std::string_view cpu_max) {
  cpu_max = base::trim_right(cpu_max, " \n");
  const size_t space = cpu_max.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  uint64_t quota = 0;
  uint64_t period = 0;
  if (!parse_u64(cpu_max.substr(0, space), quota) ||
      !parse_u64(cpu_max.substr(space + 1), period) || period == 0 || quota == 0) {
    return std::nullopt;  // "max" (no quota) or unreadable
  }
  return static_cast<int>(std::max<uint64_t>(1, (quota + period - 1) / period));
}

std::optional<std::string_view> cgroup_v2_path(std::string_view proc_self_cgroup) {
  size_t start = 0;
  while (start < proc_self_cgroup.size()) {
    size_t end = proc_self_cgroup.find('\n', start);
    if (end == std::string_view::npos) end = proc_self_cgroup.size();
    std::string_view line = proc_self_cgroup.substr(start, end - start);
    if (line.starts_with("0::")) return line.substr(3);
    start = end + 1;
  }
  return std::nullopt;
}

int usable_cpus() {
  int cpus = 1;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) cpus = std::max(1, CPU_COUNT(&set));
  const std::string cgroups = read_file("/proc/self/cgroup");
  if (auto path = cgroup_v2_path(cgroups)) {
    const std::string dir = "/sys/fs/cgroup" + std::string(*path == "/" ? "" : *path);
    if (auto quota = cpus_from_cpu_max(read_file(dir + "/cpu.max"))) cpus = std::min(cpus, *quota);
  }
  return cpus;
}

}  // namespace paystream::net
