"""tools/bench --idempotency: the CPU cost of Idempotency-Key, as ratios in the same run.

Embedded store (gated): one paystream-authd (REACTORS=1, pinned to core 0) whose store is
made small (IDEMPOTENCY_MAX_BYTES, default 1 MiB: about 1,200 keys) so that, after a short
warm-up, every keyed request's claim evicts the oldest completed key. wrk (pinned to core 1)
runs N rounds of three runs on that one process: unkeyed (bench/wrk/authorize.lua), control
and keyed (both bench/wrk/authorize_keyed.lua: a unique counter per request, as
Idempotency-Key for keyed, as X-Bench-Key, which the service ignores, for control). Verdict:
the median of the rounds' keyed/control CPU-per-request ratios against --max-ratio (1.10).
Why control: wrk sends authorize.lua's request from a static buffer but builds the keyed one
in Lua per request, which lowers the rate it can drive, so the server batches less (fewer
requests per epoll wakeup) and spends more CPU per request for reasons that are not the
key's; control carries that part (control/unkeyed, reported), keyed/control the rest.

Redis (reported, not gated): Debian's redis-server on a free loopback port (no persistence,
pinned to core 1 next to wrk: core 0 is the service's alone), a second service with
IDEMPOTENCY_REDIS_URL and an HMAC key file, the same rounds; CPU per request of
the service and of redis-server (from /proc/<pid>/stat).

Every run is checked (else the verdict is INVALID, exit 2): no non-2xx response and no socket
error; the unkeyed and control runs move no idempotency counter; in the keyed run
auth_idempotency_requests_total{result="new"} grows by at least the responses wrk counted and
at most the requests its script wrote (those in flight when wrk stops are executed but not
counted), and every other result (replayed, in_use, reused, unknown, store_error) by 0.
Steady-state eviction is checked after every keyed run by sending some of its keys again: its
first five must come back as new requests (evicted), a key written shortly before the end as
a replay (the store keeps recent keys). The warm-path allocation guard (paystream-bench
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
FIRST_KEYS = 5  # the first keys of a run, which must have been evicted by its end


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
    """After a keyed run: its first keys must be gone (evicted), a recent one replayed. wrk
    calls request() once before it connects and never sends that request: the first key
    sent is <prefix>-2."""
    first = [keyed_post(server.port, f"{prefix}-{n}") for n in range(2, 2 + FIRST_KEYS)]
    recent = max(generated - RECENT_KEY_DISTANCE, 1)
    recent_status, recent_replayed = keyed_post(server.port, f"{prefix}-{recent}")
    ok = (all(status == 200 and not replayed for status, replayed in first)
          and recent_status == 200 and recent_replayed)
    return {"first_keys": [{"n": n, "status": st, "replayed": rp}
                           for n, (st, rp) in enumerate(first, 2)],
            "recent_key": {"n": recent, "status": recent_status, "replayed": recent_replayed},
            "steady_state_eviction": ok}


def rounds(server, n, seconds, client_cpu, label, probe, extra_procs=()):
    """n rounds of three runs on one process: unkeyed (authorize.lua: wrk's static request),
    control (unkeyed too, built per request by the keyed script's Lua code with the counter in
    a header the service ignores) and keyed; control and keyed swap places every round."""
    unkeyed_script = b.ROOT / "bench" / "wrk" / "authorize.lua"
    keyed_script = b.ROOT / "bench" / "wrk" / "authorize_keyed.lua"
    rows = []
    for i in range(n):
        u = measured_run(server, seconds, client_cpu, unkeyed_script, (), extra_procs)
        prefix = f"bench{secrets.token_hex(6)}"
        runs = {}
        for kind in (("control", "keyed") if i % 2 == 0 else ("keyed", "control")):
            args = ("--", prefix) if kind == "keyed" else ("--", f"ctl{prefix}", "X-Bench-Key")
            runs[kind] = measured_run(server, seconds, client_cpu, keyed_script, args,
                                      extra_procs)
        c, k = runs["control"], runs["keyed"]
        row = {"unkeyed": u, "control": c, "keyed": k, "prefix": prefix,
               "cpu_ratio": k["cpu_us_per_request"] / c["cpu_us_per_request"],
               "cpu_ratio_static": k["cpu_us_per_request"] / u["cpu_us_per_request"],
               "invalid_reasons": [f"unkeyed: {x}" for x in check_run(u, False)]
                                  + [f"control: {x}" for x in check_run(c, False)]
                                  + [f"keyed: {x}" for x in check_run(k, True)]}
        if probe and k.get("generated"):
            row["eviction"] = eviction_probe(server, prefix, k["generated"])
            if not row["eviction"]["steady_state_eviction"]:
                row["invalid_reasons"].append(f"eviction probe failed: {row['eviction']}")
        rows.append(row)
        extra = "".join(f"; {p.name} {k[p.name + '_cpu_us_per_request']:.2f} us/req"
                        for p in extra_procs)
        b.log(f"{label} round {i + 1}/{n}: unkeyed {u['rps']:.0f} req/s "
              f"{u['cpu_us_per_request']:.2f} us/req; control {c['rps']:.0f} req/s "
              f"{c['cpu_us_per_request']:.2f} us/req; keyed {k['rps']:.0f} req/s "
              f"{k['cpu_us_per_request']:.2f} us/req{extra}; keyed/control "
              f"{row['cpu_ratio']:.3f}, keyed/unkeyed {row['cpu_ratio_static']:.3f}"
              + (f" INVALID: {row['invalid_reasons']}" if row["invalid_reasons"] else ""))
    med = statistics.median
    summary = {
        "rounds": rows,
        "median_cpu_ratio": med(r["cpu_ratio"] for r in rows),
        "median_cpu_ratio_static": med(r["cpu_ratio_static"] for r in rows),
        "median_control_over_unkeyed": med(r["control"]["cpu_us_per_request"]
                                           / r["unkeyed"]["cpu_us_per_request"] for r in rows),
        "invalid_reasons": [f"round {i}: {x}" for i, r in enumerate(rows, 1)
                            for x in r["invalid_reasons"]],
    }
    for kind in ("unkeyed", "control", "keyed"):
        summary[f"median_{kind}_cpu_us"] = med(r[kind]["cpu_us_per_request"] for r in rows)
        summary[f"median_{kind}_rps"] = med(r[kind]["rps"] for r in rows)
        for p in extra_procs:
            summary[f"median_{kind}_{p.name}_cpu_us"] = med(
                r[kind][f"{p.name}_cpu_us_per_request"] for r in rows)
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
             f"{r['client_cpu']}; {r['rounds']} rounds of three runs: unkeyed "
             "(bench/wrk/authorize.lua), control (unkeyed, the same per-request Lua code and "
             "size as keyed, the counter in X-Bench-Key) and keyed "
             "(bench/wrk/authorize_keyed.lua, a unique Idempotency-Key per request). "
             "The gated ratio is keyed / control: the two differ only in what the service "
             "does with the key. keyed / unkeyed also carries the client's change from "
             "wrk's static request to a Lua-built one, which changes the request rate and so "
             "the server's batching (control / unkeyed shows that part).", ""]

    def table(d, extra=None):
        head = ("| round | unkeyed µs/req | control µs/req | keyed µs/req | keyed / control | "
                "keyed / unkeyed | req/s unkeyed, control, keyed |")
        sep = "|---|---|---|---|---|---|---|"
        if extra:
            head += f" {extra[0]} |"
            sep += "---|"
        out = [head, sep]
        for i, row in enumerate(d["rounds"], 1):
            line = (f"| {i} | {row['unkeyed']['cpu_us_per_request']:.2f} | "
                    f"{row['control']['cpu_us_per_request']:.2f} | "
                    f"{row['keyed']['cpu_us_per_request']:.2f} | {row['cpu_ratio']:.3f} | "
                    f"{row['cpu_ratio_static']:.3f} | {row['unkeyed']['rps']:.0f}, "
                    f"{row['control']['rps']:.0f}, {row['keyed']['rps']:.0f} |")
            if extra:
                line += f" {extra[1](row)} |"
            out.append(line)
        line = (f"| median | {d['median_unkeyed_cpu_us']:.2f} | {d['median_control_cpu_us']:.2f}"
                f" | {d['median_keyed_cpu_us']:.2f} | **{d['median_cpu_ratio']:.3f}** | "
                f"{d['median_cpu_ratio_static']:.3f} | {d['median_unkeyed_rps']:.0f}, "
                f"{d['median_control_rps']:.0f}, {d['median_keyed_rps']:.0f} |")
        if extra:
            line += f" {extra[2]} |"
        out.append(line)
        return out

    lines += [f"## Embedded store (IDEMPOTENCY_MAX_BYTES={r['max_bytes']}): gated", ""]
    lines += table(e, ("first keys evicted, recent one replayed",
                       lambda row: "yes" if row.get("eviction", {}).get(
                           "steady_state_eviction") else "NO", ""))
    lines += ["", f"**Median keyed / control {e['median_cpu_ratio']:.3f} (limit "
              f"{r['max_ratio']}) → {r['verdict']}**; median keyed / unkeyed "
              f"{e['median_cpu_ratio_static']:.3f}, control / unkeyed "
              f"{e['median_control_over_unkeyed']:.3f}.", ""]
    if r.get("redis"):
        d = r["redis"]
        lines += ["## Redis on loopback: reported, not gated", "",
                  f"redis-server {d['version']} on core {r['client_cpu']} (next to wrk), no "
                  "persistence; a second service with IDEMPOTENCY_REDIS_URL, "
                  f"IDEMPOTENCY_TTL_S={d['ttl_s']}. Redis CPU per keyed request from "
                  "/proc/<pid>/stat.", ""]
        lines += table(d, ("redis µs per keyed request",
                           lambda row: f"{row['keyed']['redis_cpu_us_per_request']:.2f}",
                           f"{d['median_keyed_redis_cpu_us']:.2f}"))
        lines.append("")
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
    print(f"embedded store: median CPU per request keyed / control {ratio:.3f} "
          f"(limit {args.max_ratio}): {report['verdict']}; keyed / unkeyed "
          f"{report['embedded']['median_cpu_ratio_static']:.3f}")
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
