#include "svc/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <string>

#include "base/file.h"

namespace paystream::svc {
namespace {

constexpr size_t kMaxProcFileBytes = 256 * 1024;

// The n-th (0-based) space-separated field of `text`.
std::optional<uint64_t> field_as_number(std::string_view text, size_t n) {
  size_t index = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && text[pos] == ' ') ++pos;
    size_t end = pos;
    while (end < text.size() && text[end] != ' ' && text[end] != '\n') ++end;
    if (end == pos) break;
    if (index == n) {
      uint64_t value = 0;
      const auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + end, value);
      if (ec != std::errc{} || ptr != text.data() + end) return std::nullopt;
      return value;
    }
    ++index;
    pos = end;
  }
  return std::nullopt;
}

double cpu_seconds() {
  struct rusage usage;
  if (::getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double resident_memory_bytes() {
  const std::optional<std::string> statm =
      base::read_small_file("/proc/self/statm", kMaxProcFileBytes);
  const std::optional<uint64_t> pages = statm ? parse_resident_pages(*statm) : std::nullopt;
  return pages ? static_cast<double>(*pages) * static_cast<double>(::sysconf(_SC_PAGESIZE)) : 0;
}

double open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  const std::string own = std::to_string(::dirfd(dir));
  double count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != ".." && name != own) ++count;  // not the listing's own fd
  }
  ::closedir(dir);
  return count;
}

double start_time_seconds() {
  const std::optional<std::string> stat =
      base::read_small_file("/proc/self/stat", kMaxProcFileBytes);
  const std::optional<std::string> system = base::read_small_file("/proc/stat", kMaxProcFileBytes);
  if (!stat || !system) return 0;
  const std::optional<uint64_t> ticks = parse_start_time_ticks(*stat);
  const std::optional<uint64_t> boot = parse_boot_time_seconds(*system);
  if (!ticks || !boot) return 0;
  return static_cast<double>(*boot) +
         static_cast<double>(*ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace

std::optional<uint64_t> parse_start_time_ticks(std::string_view proc_pid_stat) {
  // The command name (field 2) is in parentheses and may hold spaces or ')': skip to the last ')'.
  const size_t close = proc_pid_stat.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  // After ") " come fields 3 (state) onwards: starttime, field 22, is the 20th of them.
  return field_as_number(proc_pid_stat.substr(close + 1), 19);
}

std::optional<uint64_t> parse_boot_time_seconds(std::string_view proc_stat) {
  constexpr std::string_view kPrefix = "btime ";
  size_t pos = 0;
  while (pos < proc_stat.size()) {
    size_t end = proc_stat.find('\n', pos);
    if (end == std::string_view::npos) end = proc_stat.size();
    const std::string_view line = proc_stat.substr(pos, end - pos);
    if (line.starts_with(kPrefix)) return field_as_number(line, 1);
    pos = end + 1;
  }
  return std::nullopt;
}

std::optional<uint64_t> parse_resident_pages(std::string_view proc_pid_statm) {
  return field_as_number(proc_pid_statm, 1);
}

core::ProcessMetrics read_process_metrics() {
  static const double start_time = start_time_seconds();  // constant: read once
  return {
      .cpu_seconds = cpu_seconds(),
      .resident_memory_bytes = resident_memory_bytes(),
      .open_fds = open_fds(),
      .start_time_seconds = start_time,
  };
}

}  // namespace paystream::svc
