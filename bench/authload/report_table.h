#pragma once
// The human-readable report printed on stdout.

#include <string>

#include "bench/authload/find_max.h"
#include "bench/authload/run_summary.h"

namespace paystream::bench {

std::string run_table(const RunSummary& run, const std::string& request_line);
std::string find_max_table(const FindMaxResult& search, double p99_bound_ms);

}  // namespace paystream::bench
