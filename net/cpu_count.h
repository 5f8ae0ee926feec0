#pragma once
// How many CPUs this process may really use: the smaller of its affinity mask and
// its cgroup v2 quota (cpu.max, rounded up). Kubernetes sets the quota from the
// container's CPU limit, so a pod sizes its reactors from its own limit.

#include <optional>
#include <string_view>

namespace paystream::net {

// "max 100000" → nullopt; "250000 100000" → 3.
std::optional<int> cpus_from_cpu_max(std::string_view cpu_max);
// "0::/kubepods/pod1/ctr\n" → "/kubepods/pod1/ctr".
std::optional<std::string_view> cgroup_v2_path(std::string_view proc_self_cgroup);

int usable_cpus();

}  // namespace paystream::net
