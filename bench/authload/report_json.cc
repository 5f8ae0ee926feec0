#include "bench/authload/report_json.h"

#include <string>

#include "bench/authload/json_writer.h"

namespace paystream::bench {
namespace {

constexpr int kSchemaVersion = 1;

void write_percentiles(JsonWriter& w, std::string_view key, const Percentiles& p) {
  w.begin_object(key)
      .integer("count", p.count)
      .number("min", p.min)
      .number("mean", p.mean)
      .number("p50", p.p50)
      .number("p90", p.p90)
      .number("p99", p.p99)
      .number("p99_9", p.p99_9)
      .number("p99_99", p.p99_99)
      .number("max", p.max)
      .end_object();
}

// "latency_us_by_class": {"2xx": {…}, "5xx": {…}}, the classes that had answers.
void write_class_latency(JsonWriter& w, const TargetStats& s) {
  w.begin_object("latency_us_by_class");
  for (size_t i = 0; i < kStatusClassCount; ++i) {
    if (s.latency_by_class[i].count() == 0) continue;
    const std::string name = std::to_string(static_cast<int>(i) + kFirstStatusClass) + "xx";
    write_percentiles(w, name, percentiles_of(s.latency_by_class[i]));
  }
  w.end_object();
}

void write_counts(JsonWriter& w, const TargetStats& s) {
  w.begin_object("requests")
      .integer("scheduled", s.scheduled)
      .integer("sent", s.sent)
      .integer("resent", s.resent)
      .integer("responses", s.responses)
      .integer("late_responses", s.late_responses)
      .integer("errors", s.total_errors())
      .integer("waited_for_connection", s.waited_for_connection)
      .end_object();
  w.begin_object("status_codes");
  for (size_t code = 0; code < s.by_status.size(); ++code) {
    if (s.by_status[code] > 0) w.integer(std::to_string(code), s.by_status[code]);
  }
  w.end_object();
  w.begin_object("errors");
  for (size_t kind = 0; kind < kErrorKindCount; ++kind) {
    w.integer(error_kind_name(static_cast<ErrorKind>(kind)), s.errors[kind]);
  }
  for (size_t code = 0; code < s.by_status.size(); ++code) {
    const bool success = code >= 200 && code <= 299;
    if (!success && s.by_status[code] > 0) {
      w.integer("http_" + std::to_string(code), s.by_status[code]);
    }
  }
  w.end_object();
  w.begin_object("authorize")
      .integer("approved", s.approved)
      .integer("declined", s.declined)
      .end_object();
  w.begin_object("connection_events")
      .integer("connects", s.connects)
      .integer("connect_failures", s.connect_failures)
      .integer("closed_by_peer", s.closed_by_peer)
      .integer("closed_by_server_request", s.closed_by_server_request)
      .end_object();
}

void write_duplicates(JsonWriter& w, std::string_view key, const DuplicateCounts& d) {
  w.begin_object(key)
      .integer("scheduled", d.scheduled)
      .integer("unavailable", d.unavailable)
      .integer("responses", d.responses)
      .integer("replayed", d.replayed)
      .integer("matched", d.matched)
      .integer("mismatched", d.mismatched)
      .integer("in_use", d.in_use)
      .integer("reused", d.reused)
      .integer("other", d.other)
      .end_object();
}

void write_idempotency(JsonWriter& w, const IdempotencyStats& s) {
  w.begin_object("idempotency")
      .integer("keyed", s.keyed)
      .integer("originals", s.originals)
      .integer("responses", s.responses)
      .integer("replayed", s.replayed)
      .integer("http_409", s.http_409)
      .integer("in_use", s.in_use)
      .integer("outcome_unknown", s.outcome_unknown)
      .integer("http_422", s.http_422)
      .integer("reused", s.reused)
      .integer("store_unavailable", s.store_unavailable)
      .integer("retry_after_missing", s.retry_after_missing)
      .integer("executed_twice", s.executed_twice)
      .integer("untracked", s.untracked)
      .integer("failures", s.failures());
  write_duplicates(w, "sequential", s.sequential);
  write_duplicates(w, "concurrent", s.concurrent);
  write_duplicates(w, "conflicting", s.conflicting);
  w.end_object();
}

void write_config(JsonWriter& w, const Options& o) {
  w.begin_object("config");
  w.begin_array("targets");
  for (const TargetAddress& t : o.targets) w.string("", t.text);
  w.end_array();
  w.integer("weight", o.targets.size() == 2 ? static_cast<uint64_t>(o.weight) : 0)
      .string("method", o.method)
      .string("path", o.path)
      .string("body", !o.body_file.empty()                        ? "file:" + o.body_file
                      : (o.method == "POST" || o.method == "PUT") ? "mix"
                                                                  : "none")
      .number("rate", o.rate)
      .number("duration_s", o.duration_s)
      .number("warmup_s", o.warmup_s)
      .integer("connections", o.connections)
      .integer("pipeline", o.pipeline)
      .integer("threads", o.threads)
      .number("timeout_s", o.timeout_s)
      .number("spin_us", o.spin_us)
      .number("tick_us", o.tick_us)
      .boolean("idempotency_keys", o.idempotency_keys)
      .number("duplicate_fraction", o.duplicate_fraction)
      .string("duplicate_mode", duplicate_mode_name(o.duplicate_mode))
      .number("conflict_fraction", o.conflict_fraction);
  if (o.find_max) {
    w.number("find_max_time_s", o.find_max_time_s)
        .number("step_duration_s", o.step_s)
        .number("p99_bound_ms", o.p99_bound_ms);
  }
  w.end_object();
}

// The members of one run, written into the object that is open.
void write_run(JsonWriter& w, const RunSummary& run) {
  w.number("target_rate", run.target_rate)
      .number("achieved_rate", run.achieved_rate)
      .number("duration_s", run.duration_s)
      .number("send_window_s", run.send_window_s)
      .number("warmup_s", run.warmup_s)
      .integer("connections", run.connections)
      .integer("pipeline", run.pipeline)
      .integer("threads", run.threads)
      .boolean("valid", run.valid);
  w.begin_array("invalid_reasons");
  for (const std::string& reason : run.invalid_reasons) w.string("", reason);
  w.end_array();
  write_percentiles(w, "latency_us", run.latency);
  write_class_latency(w, run.all);
  write_percentiles(w, "send_lag_us", run.send_lag);
  write_counts(w, run.all);
  if (run.idempotency_keys) write_idempotency(w, run.idempotency);
  w.begin_array("targets");
  for (const TargetSummary& t : run.targets) {
    w.begin_object()
        .string("target", t.name)
        .number("share_percent", t.share_percent)
        .integer("connections", t.connections)
        .number("target_rate", t.target_rate)
        .number("achieved_rate", t.achieved_rate);
    write_percentiles(w, "latency_us", t.latency);
    write_class_latency(w, t.stats);
    write_percentiles(w, "send_lag_us", t.send_lag);
    write_counts(w, t.stats);
    w.end_object();
  }
  w.end_array();
}

}  // namespace

std::string run_report_json(const Options& options, const RunSummary& run) {
  JsonWriter w;
  w.begin_object().string("tool", "authload").integer("schema_version", kSchemaVersion);
  w.string("mode", "run");
  write_config(w, options);
  write_run(w, run);
  w.end_object();
  return w.text();
}

std::string find_max_report_json(const Options& options, const FindMaxResult& search,
                                 const RunSummary* best) {
  JsonWriter w;
  w.begin_object().string("tool", "authload").integer("schema_version", kSchemaVersion);
  w.string("mode", "find_max");
  write_config(w, options);
  w.number("p99_bound_ms", options.p99_bound_ms)
      .number("max_rate", search.best_rate)
      .string("stopped_because", search.stopped_because);
  w.begin_array("steps");
  for (const StepOutcome& s : search.steps) {
    w.begin_object()
        .number("target_rate", s.rate)
        .boolean("ran", s.ran)
        .number("achieved_rate", s.achieved_rate)
        .number("p99_us", s.p99_ms * 1e3)
        .boolean("valid", s.valid)
        .number("error_percent", s.error_share * 100)
        .boolean("passed", s.passed)
        .end_object();
  }
  w.end_array();
  if (best != nullptr) {
    w.begin_object("best");
    write_run(w, *best);
    w.end_object();
  } else {
    w.null("best");
  }
  w.end_object();
  return w.text();
}

}  // namespace paystream::bench
