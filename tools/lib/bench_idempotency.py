"""tools/bench --idempotency: the CPU cost of Idempotency-Key, as ratios in the same run.

Embedded store (gated): one paystream-authd (REACTORS=1, pinned to core 0) whose store is
made small (IDEMPOTENCY_MAX_BYTES, default 1 MiB: about 1,200 keys) so that, after a short
warm-up, every keyed request's claim evicts the oldest completed key. wrk (pinned to core 1)
runs N interleaved rounds of (unkeyed: bench/wrk/authorize.lua, keyed:
bench/wrk/authorize_keyed.lua, a unique key per request) on that one process. Verdict: the
median of the rounds' keyed/unkeyed CPU-per-request ratios against --max-ratio (1.10).

Redis (reported, not gated): Debian's redis-server on a free loopback port (no persistence,
pinned to core 1 next to wrk: core 0 is the service's alone), a second service with
IDEMPOTENCY_REDIS_URL and an HMAC key file, the same interleaved rounds; CPU per request of
the service and of redis-server (from /proc/<pid>/stat).

Every run is checked (else the verdict is INVALID, exit 2): no non-2xx response and no socket
error; the unkeyed run moves no idempotency counter; in the keyed run
auth_idempotency_requests_total{result="new"} grows by at least the responses wrk counted and
at most the requests its script wrote (those in flight when wrk stops are executed but not
counted), and every other result (replayed, in_use, reused, unknown, store_error) by 0.
Steady-state eviction is checked after every keyed run by replaying two of its keys: its first
key must come back as a new request (evicted), a key written shortly before the end as a
replay (the store keeps recent keys). The warm-path allocation guard (paystream-bench
--benchmark_filter=WarmRequestPath) runs once, niced: it counts allocations, not time.

Only 127.0.0.1 is ever sent to; every load is bounded in time."""

import http.client
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import bench as b

RESULTS = ("new", "replayed", "in_use", "reused", "unknown", "store_error")
SERVICE_ENV = {"SUCCESS_RATE": "1"}  # every request approved: one code path in every round
# Keys written after this many from the end of a run must still be in the store (1 MiB keeps
# about 1,200): the replay probe that shows the store works and only old keys are gone.
RECENT_KEY_DISTANCE = 200


def idempotency_counters(admin_port):
    """auth_idempotency_requests_total by result, from the admin port's /metrics."""
    conn = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=5)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    counts = {}
    for result in RESULTS:
        m = re.search(r'^auth_idempotency_requests_total\{result="%s"\} (\S+)$' % result, text,
                      re.M)
        counts[result] = int(float(m.group(1))) if m else None
    return counts


def keyed_post(port, key):
    """One keyed authorize request (the wrk scripts' body): (status, replayed?)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("POST", "/v1/authorize", body=b.AUTHORIZE_BODY,
                     headers={"Content-Type": "application/json", "Idempotency-Key": key})
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("Idempotent-Replayed") == "true"
    finally:
        conn.close()


def measured_run(server, seconds, client_cpu, script, wrk_args=(), extra_procs=()):
    """One wrk run: CPU per request of the service (and of extra processes), the counters'
    deltas and wrk's own figures."""
    before = idempotency_counters(server.admin_port)
    extra_before = [p.cpu() for p in extra_procs]
    r = b.cpu_per_request(server, seconds, client_cpu, script, wrk_args)
    after = idempotency_counters(server.admin_port)
    r["counters"] = {k: (after[k] - before[k]) if None not in (after[k], before[k]) else None
                     for k in RESULTS}
    for proc, cpu0 in zip(extra_procs, extra_before):
        used = proc.cpu() - cpu0
        r[f"{proc.name}_cpu_seconds"] = used
        r[f"{proc.name}_cpu_us_per_request"] = used / max(r["requests"], 1) * 1e6
    return r


def check_run(r, keyed):
    """Why this run is invalid ([] when valid)."""
    reasons = []
    if not r["requests"]:
        reasons.append("no request completed")
    if r["non_2xx"]:
        reasons.append(f"{r['non_2xx']} responses not 2xx")
    if r.get("socket_errors"):
        reasons.append(f"socket errors: {r['socket_errors']}")
    c = r["counters"]
    if None in c.values():
        return reasons + ["auth_idempotency_requests_total missing from /metrics"]
    others = {k: v for k, v in c.items() if k != "new" and v}
    if others:
        reasons.append(f"results other than new: {others}")
    if not keyed:
        if c["new"]:
            reasons.append(f"unkeyed run counted {c['new']} keyed requests")
        return reasons
    generated = r.get("generated")
    if generated is None:
        reasons.append("the keyed script did not report its count")
    elif not r["requests"] <= c["new"] <= generated:
        reasons.append(f"new keys {c['new']} outside [completed {r['requests']}, "
                       f"written {generated}]")
    return reasons


def eviction_probe(server, prefix, generated):
    """After a keyed run: its first key must be gone (evicted), a recent one replayed."""
    first_status, first_replayed = keyed_post(server.port, f"{prefix}-1")
    recent = max(generated - RECENT_KEY_DISTANCE, 1)
    recent_status, recent_replayed = keyed_post(server.port, f"{prefix}-{recent}")
    ok = (first_status == 200 and not first_replayed and recent_status == 200
          and recent_replayed)
    return {"first_key": {"status": first_status, "replayed": first_replayed},
            "recent_key": {"n": recent, "status": recent_status, "replayed": recent_replayed},
            "steady_state_eviction": ok}


def rounds(server, n, seconds, client_cpu, label, probe, extra_procs=()):
    unkeyed_script = b.ROOT / "bench" / "wrk" / "authorize.lua"
    keyed_script = b.ROOT / "bench" / "wrk" / "authorize_keyed.lua"
    rows = []
    for i in range(n):
        u = measured_run(server, seconds, client_cpu, unkeyed_script, (), extra_procs)
        prefix = f"bench{secrets.token_hex(6)}"
        k = measured_run(server, seconds, client_cpu, keyed_script, ("--", prefix), extra_procs)
        row = {"unkeyed": u, "keyed": k, "prefix": prefix,
               "cpu_ratio": k["cpu_us_per_request"] / u["cpu_us_per_request"],
               "invalid_reasons": [f"unkeyed: {x}" for x in check_run(u, False)]
                                  + [f"keyed: {x}" for x in check_run(k, True)]}
        if probe and k.get("generated"):
            row["eviction"] = eviction_probe(server, prefix, k["generated"])
            if not row["eviction"]["steady_state_eviction"]:
                row["invalid_reasons"].append(f"eviction probe failed: {row['eviction']}")
        rows.append(row)
        extra = "".join(f"; {p.name} {k[p.name + '_cpu_us_per_request']:.2f} us/req"
                        for p in extra_procs)
        b.log(f"{label} round {i + 1}/{n}: unkeyed {u['rps']:.0f} req/s "
              f"{u['cpu_us_per_request']:.2f} us/req; keyed {k['rps']:.0f} req/s "
              f"{k['cpu_us_per_request']:.2f} us/req{extra}; ratio {row['cpu_ratio']:.3f}"
              + (f" INVALID: {row['invalid_reasons']}" if row["invalid_reasons"] else ""))
    summary = {
        "rounds": rows,
        "median_cpu_ratio": statistics.median(r["cpu_ratio"] for r in rows),
        "median_unkeyed_cpu_us": statistics.median(r["unkeyed"]["cpu_us_per_request"]
                                                   for r in rows),
        "median_keyed_cpu_us": statistics.median(r["keyed"]["cpu_us_per_request"] for r in rows),
        "median_unkeyed_rps": statistics.median(r["unkeyed"]["rps"] for r in rows),
        "median_keyed_rps": statistics.median(r["keyed"]["rps"] for r in rows),
        "invalid_reasons": [f"round {i}: {x}" for i, r in enumerate(rows, 1)
                            for x in r["invalid_reasons"]],
    }
    for p in extra_procs:
        summary[f"median_keyed_{p.name}_cpu_us"] = statistics.median(
            r["keyed"][f"{p.name}_cpu_us_per_request"] for r in rows)
        summary[f"median_unkeyed_{p.name}_cpu_us"] = statistics.median(
            r["unkeyed"][f"{p.name}_cpu_us_per_request"] for r in rows)
    return summary


def start_redis(workdir, cpu):
    port = b.free_port()
    return b.Server("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(port),
                              "--save", "", "--appendonly", "no", "--dir", str(workdir),
                              "--loglevel", "warning"], cpu=cpu, port=port)


def allocation_guard(bench_bin):
    """The warm-path allocation check of tools/test, run once here (it counts, not times)."""
    if not bench_bin.is_file():
        return {"ran": False, "passed": None, "note": f"{bench_bin} not built"}
    proc = subprocess.run(["nice", "-n", "10", str(bench_bin),
                           "--benchmark_filter=WarmRequestPath", "--benchmark_min_time=0.05"],
                          capture_output=True, text=True, timeout=300)
    return {"ran": True, "passed": proc.returncode == 0, "exit_code": proc.returncode,
            "output": (proc.stdout + proc.stderr)[-1500:]}


def write_markdown(r, path):
    e = r["embedded"]
    lines = ["# Idempotency keys: CPU per request, keyed / unkeyed (same process, same run)", "",
             f"Run {r['started']} on {r['machine']['cpu']}, {r['machine']['cores']} cores "
             f"(1-minute load {r['machine']['load_avg_1m']:.2f} at start, "
             f"{r['load_avg_1m_end']:.2f} at the end). paystream-authd REACTORS=1 on core "
             f"{r['server_cpu']}, wrk -t1 -c50 ({r['seconds']} s per run) on core "
             f"{r['client_cpu']}; {r['rounds']} interleaved rounds (unkeyed, keyed).", "",
             f"## Embedded store (IDEMPOTENCY_MAX_BYTES={r['max_bytes']}): gated", "",
             "| round | unkeyed µs/req | keyed µs/req | keyed / unkeyed | unkeyed req/s | "
             "keyed req/s | first key evicted, recent replayed |",
             "|---|---|---|---|---|---|---|"]
    for i, row in enumerate(e["rounds"], 1):
        ev = row.get("eviction", {}).get("steady_state_eviction")
        lines.append(f"| {i} | {row['unkeyed']['cpu_us_per_request']:.2f} | "
                     f"{row['keyed']['cpu_us_per_request']:.2f} | {row['cpu_ratio']:.3f} | "
                     f"{row['unkeyed']['rps']:.0f} | {row['keyed']['rps']:.0f} | "
                     f"{'yes' if ev else 'NO'} |")
    lines += [f"| median | {e['median_unkeyed_cpu_us']:.2f} | {e['median_keyed_cpu_us']:.2f} | "
              f"**{e['median_cpu_ratio']:.3f}** | {e['median_unkeyed_rps']:.0f} | "
              f"{e['median_keyed_rps']:.0f} | |", "",
              f"**Median ratio {e['median_cpu_ratio']:.3f} (limit {r['max_ratio']}) → "
              f"{r['verdict']}**", ""]
    if r.get("redis"):
        d = r["redis"]
        lines += ["## Redis on loopback: reported, not gated", "",
                  f"redis-server {d['version']} on core {r['client_cpu']} (next to wrk), no "
                  "persistence; the service with IDEMPOTENCY_REDIS_URL, "
                  f"IDEMPOTENCY_TTL_S={d['ttl_s']}.", "",
                  "| round | service unkeyed µs/req | service keyed µs/req | keyed / unkeyed | "
                  "redis µs per keyed req | keyed req/s |", "|---|---|---|---|---|---|"]
        for i, row in enumerate(d["rounds"], 1):
            lines.append(f"| {i} | {row['unkeyed']['cpu_us_per_request']:.2f} | "
                         f"{row['keyed']['cpu_us_per_request']:.2f} | {row['cpu_ratio']:.3f} | "
                         f"{row['keyed']['redis_cpu_us_per_request']:.2f} | "
                         f"{row['keyed']['rps']:.0f} |")
        lines += [f"| median | {d['median_unkeyed_cpu_us']:.2f} | {d['median_keyed_cpu_us']:.2f}"
                  f" | {d['median_cpu_ratio']:.3f} | {d['median_keyed_redis_cpu_us']:.2f} | "
                  f"{d['median_keyed_rps']:.0f} |", ""]
    g = r["allocation_guard"]
    lines += ["## Unkeyed warm path allocations", "",
              "paystream-bench --benchmark_filter=WarmRequestPath (the check tools/test runs as "
              "warm_request_path_allocations): "
              + ("passed (no allocation per request)" if g["passed"] else
                 f"FAILED (exit {g.get('exit_code')})" if g["ran"] else g["note"]), ""]
    reasons = r["invalid_reasons"]
    if reasons:
        lines += ["## Invalid run", ""] + [f"- {x}" for x in reasons] + [""]
    path.write_text("\n".join(lines))


def main(args, build, out):
    cores = os.cpu_count() or 1
    server_cpu, client_cpu = (0, 1) if cores >= 2 else (None, None)
    n, seconds = args.rounds, (3 if args.quick else 10)
    binary = build / "svc" / "paystream-authd"
    report = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": b.machine_info(),
              "server_cpu": server_cpu, "client_cpu": client_cpu, "rounds": n,
              "seconds": seconds, "max_ratio": args.max_ratio,
              "max_bytes": args.idempotency_max_bytes}
    report["allocation_guard"] = allocation_guard(build / "bench" / "paystream-bench")
    workdir = Path(tempfile.mkdtemp(prefix="paystream-bench-idem-"))
    servers = []
    try:
        service = b.start_service(binary, server_cpu, extra_env=dict(
            SERVICE_ENV, IDEMPOTENCY_MAX_BYTES=str(args.idempotency_max_bytes)))
        servers.append(service)
        b.log(f"embedded store: service :{service.port} (admin :{service.admin_port})")
        # Warm-up: fills the store (every later claim evicts) and warms caches.
        b.run_wrk(service.port, 2, client_cpu, b.ROOT / "bench" / "wrk" / "authorize_keyed.lua",
                  ("--", f"warm{secrets.token_hex(6)}"))
        b.run_wrk(service.port, 1, client_cpu, b.ROOT / "bench" / "wrk" / "authorize.lua")
        report["embedded"] = rounds(service, n, seconds, client_cpu, "embedded", probe=True)
        service.stop()
        if not args.no_redis:
            report["redis"] = redis_rounds(binary, workdir, n, seconds, server_cpu, client_cpu,
                                           servers)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    report["load_avg_1m_end"] = os.getloadavg()[0]
    reasons = [f"embedded {x}" for x in report["embedded"]["invalid_reasons"]]
    if report.get("redis"):
        reasons += [f"redis {x}" for x in report["redis"]["invalid_reasons"]]
    report["invalid_reasons"] = reasons
    ratio = report["embedded"]["median_cpu_ratio"]
    if report["allocation_guard"]["passed"] is False:
        report["verdict"] = "FAIL"
    elif reasons:
        report["verdict"] = "INVALID"
    else:
        report["verdict"] = "pass" if ratio <= args.max_ratio else "FAIL"
    (out / "idempotency.json").write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(report, out / "idempotency.md")
    print(f"embedded store: median CPU per request keyed / unkeyed {ratio:.3f} "
          f"(limit {args.max_ratio}): {report['verdict']}")
    if report.get("redis"):
        d = report["redis"]
        print(f"redis: service {d['median_keyed_cpu_us']:.2f} us per keyed request "
              f"(unkeyed {d['median_unkeyed_cpu_us']:.2f}), redis-server "
              f"{d['median_keyed_redis_cpu_us']:.2f} us per keyed request")
    for reason in reasons:
        print(f"invalid: {reason}")
    b.log(f"report: {out / 'idempotency.md'}")
    return {"pass": 0, "FAIL": 1}.get(report["verdict"], 2)


def redis_rounds(binary, workdir, n, seconds, server_cpu, client_cpu, servers):
    redis = start_redis(workdir, client_cpu)
    servers.append(redis)
    version = subprocess.run(["redis-server", "--version"], capture_output=True,
                             text=True).stdout.split()
    version = next((w.split("=", 1)[1] for w in version if w.startswith("v=")), "?")
    hmac_file = workdir / "hmac-key"
    hmac_file.write_text(secrets.token_hex(32) + "\n")
    hmac_file.chmod(0o600)
    # A short TTL: the rounds write hundreds of thousands of keys, which Redis then expires.
    ttl_s = 60
    service = b.start_service(binary, server_cpu, extra_env=dict(
        SERVICE_ENV, IDEMPOTENCY_REDIS_URL=f"redis://127.0.0.1:{redis.port}",
        IDEMPOTENCY_HMAC_KEY_FILE=str(hmac_file), IDEMPOTENCY_TTL_S=str(ttl_s)))
    servers.append(service)
    b.log(f"redis: service :{service.port}, redis-server {version} :{redis.port}")
    b.run_wrk(service.port, 1, client_cpu, b.ROOT / "bench" / "wrk" / "authorize_keyed.lua",
              ("--", f"warm{secrets.token_hex(6)}"))
    b.run_wrk(service.port, 1, client_cpu, b.ROOT / "bench" / "wrk" / "authorize.lua")
    result = rounds(service, n, seconds, client_cpu, "redis", probe=False, extra_procs=[redis])
    result.update(version=version, ttl_s=ttl_s)
    return result
