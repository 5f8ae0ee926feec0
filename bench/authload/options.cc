#include "bench/authload/options.h"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string_view>

#include "bench/authload/load_plan.h"

namespace paystream::bench {
namespace {

using Setter = std::function<std::string(Options&, std::string_view)>;

// Some requests must carry fresh keys for duplicates to have originals.
constexpr double kMaxReuseFraction = 0.9;

struct Flag {
  std::string_view name;
  bool takes_value;
  Setter set;
};

bool has_control_chars(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

std::string parse_number(std::string_view flag, std::string_view text, double low, double high,
                         double& out) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !(value >= low && value <= high)) {
    char range[80];
    std::snprintf(range, sizeof range, " must be a number from %g to %g", low, high);
    return std::string(flag) + range + ", got '" + std::string(text) + "'";
  }
  out = value;
  return {};
}

template <typename Int>
std::string parse_integer(std::string_view flag, std::string_view text, uint64_t low, uint64_t high,
                          Int& out) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < low || value > high) {
    return std::string(flag) + " must be an integer from " + std::to_string(low) + " to " +
           std::to_string(high) + ", got '" + std::string(text) + "'";
  }
  out = static_cast<Int>(value);
  return {};
}

std::string parse_target(std::string_view text, TargetAddress& out) {
  const std::string error =
      "--target must be HOST:PORT or [IPv6]:PORT, got '" + std::string(text) + "'";
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return error;
  std::string_view host = text.substr(0, colon);
  if (host.starts_with('[')) {
    if (!host.ends_with(']') || host.size() < 3) return error;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return error;
  }
  if (has_control_chars(host) || host.find(' ') != std::string_view::npos) return error;
  int port = 0;
  if (!parse_integer("--target port", text.substr(colon + 1), 1, 65535, port).empty()) {
    return error;
  }
  out = TargetAddress{std::string(host), port, std::string(text)};
  return {};
}

const std::vector<Flag>& flags() {
  static const std::vector<Flag> table = {
      {"--target", true,
       [](Options& o, std::string_view v) {
         if (o.targets.size() == 2) return std::string("--target may be given at most twice");
         TargetAddress t;
         std::string error = parse_target(v, t);
         if (error.empty()) o.targets.push_back(t);
         return error;
       }},
      {"--weight", true,
       [](Options& o, std::string_view v) {
         return parse_integer("--weight", v, 0, 100, o.weight);
       }},
      {"--rate", true,
       [](Options& o, std::string_view v) {
         return parse_number("--rate", v, 0.001, 10'000'000, o.rate);
       }},
      {"--duration", true,
       [](Options& o, std::string_view v) {
         return parse_number("--duration", v, 0.01, 86'400, o.duration_s);
       }},
      {"--warmup", true,
       [](Options& o, std::string_view v) {
         return parse_number("--warmup", v, 0, 3600, o.warmup_s);
       }},
      {"--connections", true,
       [](Options& o, std::string_view v) {
         return parse_integer("--connections", v, 1, 100'000, o.connections);
       }},
      {"--pipeline", true,
       [](Options& o, std::string_view v) {
         return parse_integer("--pipeline", v, 1, 1024, o.pipeline);
       }},
      {"--threads", true,
       [](Options& o, std::string_view v) {
         return parse_integer("--threads", v, 1, 64, o.threads);
       }},
      {"--timeout", true,
       [](Options& o, std::string_view v) {
         return parse_number("--timeout", v, 0.001, 60, o.timeout_s);
       }},
      {"--method", true,
       [](Options& o, std::string_view v) {
         for (char c : v) {
           if (c < 'A' || c > 'Z') return std::string("--method must be uppercase letters");
         }
         if (v.empty()) return std::string("--method must not be empty");
         o.method = v;
         return std::string();
       }},
      {"--path", true,
       [](Options& o, std::string_view v) {
         if (!v.starts_with('/') || has_control_chars(v) || v.find(' ') != std::string_view::npos) {
           return std::string("--path must start with / and contain no spaces");
         }
         o.path = v;
         return std::string();
       }},
      {"--body", true,
       [](Options& o, std::string_view v) {
         o.body_file = v;
         return std::string();
       }},
      {"--host", true,
       [](Options& o, std::string_view v) {
         if (v.empty() || has_control_chars(v)) return std::string("--host must be printable");
         o.host_header = v;
         return std::string();
       }},
      {"--header", true,
       [](Options& o, std::string_view v) {
         const size_t colon = v.find(':');
         if (colon == 0 || colon == std::string_view::npos || has_control_chars(v)) {
           return std::string("--header must be 'Name: value'");
         }
         o.headers.emplace_back(v);
         return std::string();
       }},
      {"--seed", true,
       [](Options& o, std::string_view v) {
         return parse_integer("--seed", v, 0, UINT64_MAX, o.seed);
       }},
      {"--json", true,
       [](Options& o, std::string_view v) {
         o.json_file = v;
         return std::string();
       }},
      {"--quiet", false,
       [](Options& o, std::string_view) {
         o.quiet = true;
         return std::string();
       }},
      {"--find-max", false,
       [](Options& o, std::string_view) {
         o.find_max = true;
         return std::string();
       }},
      {"--find-max-time", true,
       [](Options& o, std::string_view v) {
         return parse_number("--find-max-time", v, 1, 3600, o.find_max_time_s);
       }},
      {"--p99-bound-ms", true,
       [](Options& o, std::string_view v) {
         return parse_number("--p99-bound-ms", v, 0.001, 60'000, o.p99_bound_ms);
       }},
      {"--step-duration", true,
       [](Options& o, std::string_view v) {
         return parse_number("--step-duration", v, 0.1, 600, o.step_s);
       }},
      {"--spin-us", true,
       [](Options& o, std::string_view v) {
         return parse_number("--spin-us", v, 0, 10'000, o.spin_us);
       }},
      {"--tick-us", true,
       [](Options& o, std::string_view v) {
         return parse_number("--tick-us", v, 0, 1'000'000, o.tick_us);
       }},
      {"--idempotency-keys", false,
       [](Options& o, std::string_view) {
         o.idempotency_keys = true;
         return std::string();
       }},
      {"--duplicate-fraction", true,
       [](Options& o, std::string_view v) {
         return parse_number("--duplicate-fraction", v, 0, kMaxReuseFraction, o.duplicate_fraction);
       }},
      {"--duplicate-mode", true,
       [](Options& o, std::string_view v) {
         for (DuplicateMode mode :
              {DuplicateMode::sequential, DuplicateMode::concurrent, DuplicateMode::mixed}) {
           if (v == duplicate_mode_name(mode)) {
             o.duplicate_mode = mode;
             return std::string();
           }
         }
         return "--duplicate-mode must be sequential, concurrent or mixed, got '" + std::string(v) +
                "'";
       }},
      {"--conflict-fraction", true,
       [](Options& o, std::string_view v) {
         return parse_number("--conflict-fraction", v, 0, kMaxReuseFraction, o.conflict_fraction);
       }},
  };
  return table;
}

std::string check_keys(const Options& o, bool mode_given, size_t needed_connections) {
  const bool reuses = o.duplicate_fraction > 0 || o.conflict_fraction > 0;
  if (!o.idempotency_keys && (reuses || mode_given)) {
    return "--duplicate-fraction, --duplicate-mode and --conflict-fraction need "
           "--idempotency-keys";
  }
  if (o.duplicate_fraction + o.conflict_fraction > kMaxReuseFraction) {
    return "--duplicate-fraction plus --conflict-fraction must be at most 0.9";
  }
  const bool mix = o.body_file.empty() && (o.method == "POST" || o.method == "PUT");
  if (o.conflict_fraction > 0 && !mix) {
    return "--conflict-fraction needs the generated body mix (POST or PUT without --body)";
  }
  const bool concurrent = o.duplicate_mode != DuplicateMode::sequential;
  if (o.duplicate_fraction > 0 && concurrent && o.connections < 2 * needed_connections) {
    return "concurrent duplicates need another connection than their original's: "
           "--connections must be at least " +
           std::to_string(2 * needed_connections) + " (two per thread and per target in use)";
  }
  return {};
}

std::string check_consistency(const Options& o, bool mode_given) {
  if (o.targets.empty()) return "--target is required";
  if (o.rate == 0 && !o.find_max) return "--rate is required (or --find-max)";
  const size_t needed = min_connections(o.threads, o.targets.size(), o.weight);
  if (o.connections < needed) {
    return "--connections must be at least " + std::to_string(needed) +
           " (one per thread and per target in use)";
  }
  return check_keys(o, mode_given, needed);
}

}  // namespace

ParsedOptions parse_options(int argc, const char* const* argv) {
  ParsedOptions parsed;
  Options options;
  bool weight_given = false;
  bool mode_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      parsed.help = true;
      return parsed;
    }
    std::string_view value;
    bool inline_value = false;
    if (const size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      inline_value = true;
    }
    const Flag* flag = nullptr;
    for (const Flag& f : flags()) {
      if (f.name == arg) flag = &f;
    }
    if (flag == nullptr) {
      parsed.error = "unknown option '" + std::string(argv[i]) + "' (see --help)";
      return parsed;
    }
    if (flag->takes_value && !inline_value) {
      if (i + 1 >= argc) {
        parsed.error = std::string(arg) + " needs a value";
        return parsed;
      }
      value = argv[++i];
    } else if (!flag->takes_value && inline_value) {
      parsed.error = std::string(arg) + " takes no value";
      return parsed;
    }
    if (arg == "--weight") weight_given = true;
    if (arg == "--duplicate-mode") mode_given = true;
    if (std::string error = flag->set(options, value); !error.empty()) {
      parsed.error = error;
      return parsed;
    }
  }
  if (weight_given && options.targets.size() != 2) {
    parsed.error = "--weight needs two --target";
    return parsed;
  }
  if (std::string error = check_consistency(options, mode_given); !error.empty()) {
    parsed.error = error;
    return parsed;
  }
  parsed.options = options;
  return parsed;
}

std::string usage_text() {
  return R"(Usage: authload --target HOST:PORT [--target HOST:PORT --weight W] --rate R [options]
       authload --target HOST:PORT --find-max [options]

Open-loop HTTP load generator: sends requests at a constant rate whatever the server does,
and measures each request's latency from the time it was scheduled to be sent, so a server
that stalls shows up in the tail (corrected for coordinated omission, as wrk2 does). It sends
only to the targets given.

Load:
  --target HOST:PORT     server to load (IPv6: [::1]:8080); may be given twice
  --weight W             with two targets: percent (0-100) of requests and connections for the
                         second one, by weighted round-robin (default 50)
  --rate R               requests per second over all connections and threads (required
                         unless --find-max, where it is the first rate tried; default 1000 there)
  --duration S           measured seconds, fractions allowed (default 10)
  --warmup S             seconds at the same rate before measuring, not counted (default 1)
  --connections N        keep-alive connections, split over threads and targets (default 16)
  --pipeline N           requests in flight per connection (default 1, up to 1024)
  --threads N            client threads, each with its own event loop and a share of the
                         connections and of the schedule (default 1)
  --timeout S            a request without a response this long after its scheduled send time
                         is a timeout error; also the connect timeout (default 5, at most 60)

Requests:
  --method M             HTTP method (default POST)
  --path P               request target (default /v1/authorize)
  --body FILE            send this file as the body of every request; without it POST and PUT
                         send a generated mix of authorize bodies (4 networks, 14 currencies
                         with their decimals, merchants; 1% Luhn-invalid cards), other methods
                         no body
  --host NAME            Host header (default: the target as given)
  --header 'N: V'        extra request header; may be repeated
  --seed N               seed of the generated body mix and of the duplicate picks (default 1)

Idempotency (POST /v1/authorize with Idempotency-Key):
  --idempotency-keys     every request carries an Idempotency-Key header, unique per request:
                         a random prefix per run, then the request's number; a request sent
                         again after a Connection: close keeps its key
  --duplicate-fraction F this fraction (0-0.9) of the requests are deliberate duplicates: the
                         same key and the same body as an earlier request (default 0)
  --duplicate-mode M     sequential: the duplicated request has been answered, and the
                         duplicate must be replayed with its status and body byte for byte;
                         concurrent: the duplicated request is still in flight, and the
                         duplicate goes out on another connection (expect 409); mixed: half of
                         each (default mixed)
  --conflict-fraction F  this fraction (0-0.9) of the requests reuse the key of an answered
                         request with another amount (expect 422); needs the generated mix
                         A replayed duplicate whose status or body differs from its original's,
                         a replayed conflicting reuse, or a key executed twice (two 2xx answers
                         without Idempotent-Replayed) is an idempotency failure: exit status 3

Output:
  --json FILE            write every figure to FILE (schema: bench/authload/README.md)
  --quiet                no live status line on stderr (printed once per second otherwise)

Search:
  --find-max             find the highest rate that gives a valid run with p99 under the bound:
                         doubling from --rate, then bisecting, in steps of --step-duration
  --find-max-time S      total time budget of the search (default 30)
  --p99-bound-ms MS      p99 latency bound of the search (default 50)
  --step-duration S      measured seconds per step, after a warm-up of a quarter of that
                         (default 2)

Scheduler:
  --spin-us N            busy-poll instead of sleeping when the next send is due within N
                         microseconds: sharper send times for a core of CPU (default 0)
  --tick-us N            testing: wake the scheduler at most once per N microseconds, so sends
                         come in late bursts (default 0: at each due time)

A run is INVALID (printed, and "valid": false in JSON) when the achieved send rate is under 98%
of the target, or the p99 send lag (actual - scheduled send time) exceeds 10% of the p99 latency:
then the generator, not the server, set the numbers.

Exit status: 0 the run completed (valid or not: see the report), 1 run error (cannot connect
to a target, no response at all, cannot write --json), 2 usage error, 3 idempotency failures
(see --idempotency-keys).
)";
}

}  // namespace paystream::bench
