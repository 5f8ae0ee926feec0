#pragma once
// The --json report. Schema: bench/authload/README.md.

#include <string>
#include <vector>

#include "bench/authload/find_max.h"
#include "bench/authload/options.h"
#include "bench/authload/run_summary.h"

namespace paystream::bench {

std::string run_report_json(const Options& options, const RunSummary& run);

// `best`: the summary of the best passing step, or null when none passed.
std::string find_max_report_json(const Options& options, const FindMaxResult& search,
                                 const RunSummary* best);

}  // namespace paystream::bench
