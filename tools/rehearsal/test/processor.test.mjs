// The shared processor's settings: pool sizing by Little's law, the simulator's flags (the
// baseline the Monte Carlo assumes too), the services' environment, the pool's series.
import { test } from "node:test";
import assert from "node:assert/strict";
import { poolSizing, simulatorArgs, serviceEnv, processorSeries, processorSummary, SIM_BASELINE, PROCESSOR_TIMEOUT_MS } from "../src/processor.mjs";
import { BASE } from "../src/montecarlo.mjs";

test("pool sizing: Little's law at the default rate (27.8 x 20 = 556 calls/s)", () => {
  const p = poolSizing(556);
  assert.equal(p.worstCallMs, 400, "200 + 50 jitter + 150 slow");
  assert.ok(Math.abs(p.meanCallMs - 200.75) < 1e-9);
  assert.ok(Math.abs(p.busyMean - 111.6) < 0.1, `mean busy ${p.busyMean}`);
  assert.ok(Math.abs(p.busyWorst - 222.4) < 0.1, `worst busy ${p.busyWorst}`);
  assert.equal(p.maxConnections, 512);
  assert.equal(p.maxQueue, 2048);
});

test("pool sizing: twice the worst-case concurrency, the queue one deadline of arrivals, bounded", () => {
  for (const rps of [1, 8.34, 55.6, 166.8, 556, 1112, 5560, 55600]) {
    const p = poolSizing(rps);
    assert.ok(p.maxConnections >= Math.min(4096, 2 * p.busyWorst), `${rps}: pool ${p.maxConnections} < 2 x ${p.busyWorst}`);
    assert.ok(p.maxQueue >= Math.min(65536, (rps * PROCESSOR_TIMEOUT_MS) / 1000), `${rps}: queue ${p.maxQueue}`);
    assert.ok(p.maxConnections >= 16 && p.maxConnections <= 4096, "PROCESSOR_MAX_CONNECTIONS range");
    assert.ok(p.maxQueue >= 64 && p.maxQueue <= 65536, "PROCESSOR_MAX_QUEUE range");
    assert.ok(Number.isInteger(p.maxConnections) && Number.isInteger(p.maxQueue));
  }
  assert.ok(poolSizing(166.8).maxConnections < poolSizing(556).maxConnections, "thin traffic: a smaller pool");
});

test("the simulator's flags carry the baseline the Monte Carlo models", () => {
  const a = simulatorArgs(SIM_BASELINE, { seed: 7, apiKeyFile: "/tmp/k" });
  const flag = (f) => a[a.indexOf(f) + 1];
  assert.equal(Number(flag("--error-rate")), BASE.err);
  assert.equal(Number(flag("--slow-rate")), BASE.slow);
  assert.equal(Number(flag("--success-rate")), BASE.approve);
  assert.ok(Number(flag("--latency-ms")) + Number(flag("--jitter-ms")) < 300, "an ordinary call answers within the 0.3 s SLO");
  // At the bottom of the jitter a slow call takes exactly 0.3 s at the simulator; the hop
  // and the service add to it.
  assert.ok(Number(flag("--latency-ms")) - Number(flag("--jitter-ms")) + Number(flag("--slow-latency-ms")) >= 300, "a slow call is over it");
  assert.equal(flag("--reactors"), "1");
  assert.equal(flag("--port"), "0");
  assert.equal(flag("--admin-port"), "0");
  assert.equal(flag("--bind"), "127.0.0.1");
  assert.equal(flag("--admin-bind"), "127.0.0.1");
  assert.equal(flag("--api-key-file"), "/tmp/k");
  assert.equal(flag("--seed"), "7");
});

test("the services' environment: http mode to the simulator, the sized pool, the key", () => {
  const e = serviceEnv({ port: 4242, apiKeyFile: "/tmp/k" }, poolSizing(556));
  assert.deepEqual(e, { PROCESSOR_MODE: "http", PROCESSOR_URL: "http://127.0.0.1:4242/v1/authorizations", PROCESSOR_MAX_CONNECTIONS: "512", PROCESSOR_MAX_QUEUE: "2048", PROCESSOR_TIMEOUT_MS: "2000", PROCESSOR_API_KEY_FILE: "/tmp/k" });
});

test("processor series: the service's pool metrics, not the authorize counters; busy and mode", () => {
  const text = [
    "# TYPE auth_processor_mode gauge",
    'auth_processor_mode{mode="simulated"} 0',
    'auth_processor_mode{mode="http"} 1',
    'auth_processor_calls_total{result="answered"} 900',
    'auth_processor_calls_total{result="busy"} 2',
    'auth_processor_calls_total{result="timeout"} 1',
    'auth_processor_connections{state="busy"} 7',
    "auth_processor_retries_total 3",
    'auth_requests_total{version="1",status="rejected",processor="visa"} 10',
    'auth_processor_upstream_duration_seconds_bucket{le="0.1"} 5',
    "auth_processor_upstream_duration_seconds_count 5",
  ].join("\n");
  const series = processorSeries(text);
  assert.equal(series['auth_processor_connections{state="busy"}'], 7);
  assert.equal(series.auth_processor_upstream_duration_seconds_count, 5);
  assert.ok(!Object.keys(series).some((k) => k.startsWith("auth_requests_total") || k.endsWith("_bucket")));
  const sum = processorSummary(series);
  assert.equal(sum.mode, "http");
  assert.equal(sum.busy, 2, "the calls answered processor_busy, not the busy connections");
  assert.deepEqual(sum.calls, { answered: 900, busy: 2, timeout: 1 });
  assert.equal(sum.retries, 3);
  assert.equal(processorSummary(processorSeries('auth_processor_mode{mode="simulated"} 1')).mode, "simulated");
});
