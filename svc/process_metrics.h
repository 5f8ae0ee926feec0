#pragma once
// The standard process_* metrics, read from the kernel at scrape time.

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/metrics_collector.h"

namespace paystream::svc {

// getrusage(), /proc/self/statm, /proc/self/fd, and (once) /proc/self/stat with /proc/stat.
// A value that cannot be read is 0.
core::ProcessMetrics read_process_metrics();

// Field 22 (starttime, clock ticks after boot) of a /proc/<pid>/stat line.
std::optional<uint64_t> parse_start_time_ticks(std::string_view proc_pid_stat);
// The `btime` line of /proc/stat: boot time in Unix seconds.
std::optional<uint64_t> parse_boot_time_seconds(std::string_view proc_stat);
// Field 2 (resident pages) of /proc/<pid>/statm.
std::optional<uint64_t> parse_resident_pages(std::string_view proc_pid_statm);

}  // namespace paystream::svc
