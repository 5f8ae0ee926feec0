"""tools/bench --processor-link: the outbound processor link, as ratios and fractions.

Three measurements, each against paystream-processor-sim (the simulated processor as a
server of its own) on 127.0.0.1:

1. CPU per authorization through the link (gated: median service / nginx <= --max-ratio).
   paystream-authd (REACTORS=1, PROCESSOR_MODE=http, PROCESSOR_URL to the simulator) and
   Debian's nginx (worker_processes 1, proxy_pass to the same simulator through an
   `upstream { keepalive N; }` block, HTTP/1.1, Connection ""), both pinned to core 0; the
   simulator (latency 0, jitter 0) and authload pinned to core 1. Both proxies get the same
   request bytes at the same fixed open-loop rate over the same connections: a body in the
   processor contract's format, which the service reads as an authorize request (it ignores
   transaction_id and network) and nginx forwards as is, adding the Idempotency-Key the
   simulator requires ($request_id, 32 random hex characters, unique per request), as the
   service adds its transaction id. CPU per request = the proxy process's utime + stime
   delta (/proc/<pid>/stat) / the requests authload got answered; every answer must be a 200
   and every request must have reached the simulator once. Rounds of (service, nginx), the
   side measured first alternating; the verdict is the median of the rounds' ratios.

2. Little's law (gated: served / (connections / latency) >= --littles-min): the simulator at
   200 ms, jitter 0; the service with PROCESSOR_MAX_CONNECTIONS=2048; authload with 2,000
   connections (one request in flight each) offering the Little's-law rate (10,000/s). When
   the link answers slower than 200 ms the requests due wait at the client for a free
   connection, and each connection sends its next request as soon as the previous one is
   answered: a closed loop, whose rate is connections / round trip (wrk's closed loop counts
   only the requests completed within its run, which at 50 round trips per connection loses
   up to 2%). Served = 200 answers to measured requests / authload's send window; latency is
   counted from the scheduled send time, so it includes that wait. Reported: p50/p99, the
   service's RSS (idle, peak while loaded) and CPU per request, and the same load through
   nginx (upstream keepalive 2048) as what this machine and simulator allow: when the
   service falls short and nginx does too, the run is INVALID (the machine set the rate),
   not a failure.

3. Pool exhaustion (gated): the same load against a service with PROCESSOR_MAX_CONNECTIONS=256
   and a small PROCESSOR_MAX_QUEUE: 200s at about pool / latency (1,280/s; served / that
   within [--pool-min, --pool-max]), every other answer a 503 (no timeout, no other status),
   the 503s' p99 latency at most --busy-max-fraction of the simulator's latency (answered at
   once, never queued behind the pool; INVALID rather than failed when authload's own send
   lag p99 is over that limit too, since latency counts from the scheduled send time), and a
   probe on its own connection during the load checking that they are processor_busy with
   Retry-After.

Only 127.0.0.1 is ever sent to; every load is bounded in time."""

import http.client
import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import bench as b

# A request in the processor contract's format (docs/api.md): the simulator accepts exactly
# these members; the service's authorize decoder ignores the two it does not know.
CONTRACT_BODY = ('{"transaction_id":"txn_01JD8X3Q7Z9K2M4N6P8R0T2V4W","amount":"24.50",'
                 '"currency":"USD","card_number":"4111111111111111","merchant":"Acme",'
                 '"network":"visa"}')
SIM_PATH = "/v1/authorizations"
SERVICE_PATH = "/v1/authorize"


def http_request(port, method, path, body=None, headers=None, timeout=5):
    """(status, headers dict with lowercase names, body text) of one request on its own
    connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        text = resp.read().decode(errors="replace")
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, text
    finally:
        conn.close()


def metrics_text(port):
    return http_request(port, "GET", "/metrics")[2]


def metric_sum(text, name):
    """Sum of every series of a counter or gauge in Prometheus text."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and line[len(name):len(name) + 1] in ("{", " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def processor_series(text):
    """The service's processor-link series (pool, queue, retries, upstream latency)."""
    return [line for line in text.splitlines()
            if not line.startswith("#") and "processor" in line.split("{")[0].split(" ")[0]]


def start_sim(sim_bin, cpu, latency_ms):
    port, admin = b.free_port(), b.free_port()
    argv = [str(sim_bin), "--bind", "127.0.0.1", "--port", str(port), "--admin-bind",
            "127.0.0.1", "--admin-port", str(admin), "--reactors", "1", "--latency-ms",
            str(latency_ms), "--jitter-ms", "0", "--success-rate", "1", "--error-rate", "0",
            "--seed", "1"]
    sim = b.Server("processor-sim", argv, env=dict(os.environ), cpu=cpu, port=port)
    sim.admin_port = admin
    if not b.wait_port(admin):
        sim.stop()
        raise RuntimeError(f"processor-sim did not listen on its admin port {admin}")
    return sim


def sim_stats(sim):
    return json.loads(http_request(sim.admin_port, "GET", "/admin/stats")[2])


def start_link_service(binary, cpu, sim, extra_env=None):
    env = {"PROCESSOR_MODE": "http",
           "PROCESSOR_URL": f"http://127.0.0.1:{sim.port}{SIM_PATH}"}
    env.update(extra_env or {})
    return b.start_service(binary, cpu, extra_env=env)


def unprivileged():
    """setpriv argv that drops root to nobody (nginx never needs root here), or nothing."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return []
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def start_proxy_nginx(workdir, sim, cpu, keepalive):
    """nginx as a reverse proxy to the simulator: one process (no master), upstream
    keep-alive, its own config and temporary paths under workdir, not root."""
    port = b.free_port()
    ngx = workdir / "nginx-proxy"
    ngx.mkdir()
    conf = ngx / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
master_process off;
daemon off;
worker_rlimit_nofile 20000;
error_log {ngx}/error.log warn;
pid {ngx}/nginx.pid;
events {{ worker_connections 20000; }}
http {{
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 60s;
  client_body_temp_path {ngx}/client_body;
  proxy_temp_path {ngx}/proxy;
  fastcgi_temp_path {ngx}/fastcgi;
  uwsgi_temp_path {ngx}/uwsgi;
  scgi_temp_path {ngx}/scgi;
  upstream processor {{
    server 127.0.0.1:{sim.port};
    keepalive {keepalive};
    keepalive_requests 100000000;
    keepalive_timeout 30s;
  }}
  server {{
    listen 127.0.0.1:{port};
    location = {SERVICE_PATH} {{
      proxy_pass http://processor{SIM_PATH};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Idempotency-Key $request_id;
    }}
  }}
}}
""")
    drop = unprivileged()
    if drop:
        shutil.chown(ngx, user="nobody", group="nogroup")
    return b.Server("nginx", drop + ["nginx", "-e", str(ngx / "error.log"), "-c", str(conf),
                                     "-p", str(ngx)], cpu=cpu, port=port)


def load(authload_bin, port, body_file, rate, seconds, warmup, connections, client_cpu,
         timeout_s=5):
    args = ["--target", f"127.0.0.1:{port}", "--rate", str(int(rate)), "--duration",
            str(seconds), "--warmup", str(warmup), "--connections", str(connections),
            "--threads", "1", "--timeout", str(timeout_s), "--body", str(body_file)]
    return b.authload(authload_bin, args, client_cpu, timeout=seconds + warmup + 120)


def status_counts(report):
    return {int(k): v for k, v in report.get("status_codes", {}).items()}


def transport_errors(report):
    errors = report.get("errors", {})
    return {k: v for k, v in errors.items() if not k.startswith("http_") and v}


# 1. CPU per request, service / nginx ------------------------------------------------------

def cpu_run(proxy, sim, authload_bin, body_file, rate, seconds, connections, client_cpu):
    """One measured run (no warm-up: every request sent is counted and answered)."""
    sim_before, sim_cpu_before = sim_stats(sim), sim.cpu()
    before = proxy.cpu()
    report = load(authload_bin, proxy.port, body_file, rate, seconds, 0, connections, client_cpu)
    used = proxy.cpu() - before
    sim_used = sim.cpu() - sim_cpu_before
    sim_after = sim_stats(sim)
    answered = report["requests"]["responses"]
    statuses = status_counts(report)
    reached = sim_after["requests"] - sim_before["requests"]
    executed = sim_after["executed"] - sim_before["executed"]
    reasons = []
    if statuses.keys() - {200}:
        reasons.append(f"answers other than 200: {statuses}")
    if transport_errors(report):
        reasons.append(f"transport errors: {transport_errors(report)}")
    if report["achieved_rate"] < 0.98 * rate:
        reasons.append(f"achieved {report['achieved_rate']:.0f}/s of {rate}/s")
    if not answered or reached != executed or reached < answered:
        reasons.append(f"{answered} answered, {reached} reached the simulator, "
                       f"{executed} executed there")
    return {"requests": answered, "achieved_rate": report["achieved_rate"],
            "cpu_seconds": used, "cpu_us_per_request": used / max(answered, 1) * 1e6,
            "sim_requests": reached, "sim_cpu_us_per_request": sim_used / max(reached, 1) * 1e6,
            "latency_us": b.percentiles(report), "invalid_reasons": reasons}


def check_exchange(sim, *proxies):
    """One request through each proxy: each must come back approved, having reached the
    simulator (a service in simulated mode would approve without it)."""
    problems = []
    headers = {"Content-Type": "application/json"}
    for proxy in proxies:
        before = sim_stats(sim)["requests"]
        status, _, text = http_request(proxy.port, "POST", SERVICE_PATH, CONTRACT_BODY, headers)
        reached = sim_stats(sim)["requests"] - before
        if status != 200 or '"status":"approved"' not in text or reached != 1:
            problems.append(f"{proxy.name} answered {status} {text[:300]}; {reached} request(s) "
                            "reached the simulator")
    return problems


def cpu_part(args, binary, sim_bin, authload_bin, body_file, workdir, cores, servers):
    server_cpu, client_cpu = cores
    sim = start_sim(sim_bin, client_cpu, 0)
    servers.append(sim)
    pool = args.link_pool
    service = start_link_service(binary, server_cpu, sim,
                                 {"PROCESSOR_MAX_CONNECTIONS": str(pool)})
    servers.append(service)
    nginx = start_proxy_nginx(workdir, sim, server_cpu, pool)
    servers.append(nginx)
    b.log(f"link CPU: simulator :{sim.port}, service :{service.port}, nginx :{nginx.port}")
    problems = check_exchange(sim, service, nginx)
    if problems:
        return {"invalid_reasons": problems, "rounds": []}
    rate, seconds, conns = args.link_rate, args.link_seconds, args.link_connections
    for proxy in (service, nginx):  # warm-up: connections, page faults, caches
        load(authload_bin, proxy.port, body_file, rate, 1, 0, conns, client_cpu)
    rows = []
    for i in range(args.rounds):
        order = ("service", "nginx") if i % 2 == 0 else ("nginx", "service")
        runs = {}
        for who in order:
            proxy = service if who == "service" else nginx
            runs[who] = cpu_run(proxy, sim, authload_bin, body_file, rate, seconds, conns,
                                client_cpu)
        s, n = runs["service"], runs["nginx"]
        row = {"first": order[0], "service": s, "nginx": n,
               "cpu_ratio": s["cpu_us_per_request"] / n["cpu_us_per_request"],
               "invalid_reasons": [f"service: {x}" for x in s["invalid_reasons"]]
                                  + [f"nginx: {x}" for x in n["invalid_reasons"]]}
        rows.append(row)
        b.log(f"link CPU round {i + 1}/{args.rounds}: service {s['cpu_us_per_request']:.2f} "
              f"us/req, nginx {n['cpu_us_per_request']:.2f} us/req, ratio "
              f"{row['cpu_ratio']:.3f} (simulator {s['sim_cpu_us_per_request']:.2f} / "
              f"{n['sim_cpu_us_per_request']:.2f} us/req)"
              + (f" INVALID: {row['invalid_reasons']}" if row["invalid_reasons"] else ""))
    med = statistics.median
    result = {
        "rate": rate, "seconds": seconds, "connections": conns, "pool": pool, "rounds": rows,
        "median_cpu_ratio": med(r["cpu_ratio"] for r in rows),
        "median_service_cpu_us": med(r["service"]["cpu_us_per_request"] for r in rows),
        "median_nginx_cpu_us": med(r["nginx"]["cpu_us_per_request"] for r in rows),
        "median_sim_cpu_us_service_side": med(r["service"]["sim_cpu_us_per_request"]
                                              for r in rows),
        "median_sim_cpu_us_nginx_side": med(r["nginx"]["sim_cpu_us_per_request"] for r in rows),
        "service_processor_metrics": processor_series(metrics_text(service.admin_port)),
        "invalid_reasons": [f"round {i}: {x}" for i, r in enumerate(rows, 1)
                            for x in r["invalid_reasons"]],
    }
    if args.perf:
        result["perf"] = {who: perf_profile(proxy, authload_bin, body_file, rate, conns,
                                            client_cpu, workdir / f"perf-{who}.data")
                          for who, proxy in (("service", service), ("nginx", nginx))}
    for server in (service, nginx, sim):
        server.stop()
    return result


def perf_profile(proxy, authload_bin, body_file, rate, conns, client_cpu, data):
    """perf record of the proxy during one more run; the top symbols by self time."""
    if shutil.which("perf") is None:
        return {"note": "perf is not installed"}
    seconds = 5
    rec = subprocess.Popen(["perf", "record", "-F", "2999", "-o", str(data), "-p",
                            str(proxy.pid), "--", "sleep", str(seconds + 1)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    load(authload_bin, proxy.port, body_file, rate, seconds, 0, conns, client_cpu)
    rec.wait(timeout=60)
    out = subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--stdio",
                          "--percent-limit", "0.7", "--sort", "dso,sym"],
                         capture_output=True, text=True, timeout=120).stdout
    by_dso = subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--stdio",
                             "--percent-limit", "1", "--sort", "dso"],
                            capture_output=True, text=True, timeout=120).stdout

    def rows(text, n):
        return [line.rstrip() for line in text.splitlines()
                if line.strip() and not line.startswith("#")][:n]
    return {"by_dso": rows(by_dso, 10), "top": rows(out, 40)}


# 2 and 3. Many connections at 200 ms ------------------------------------------------------

def sample_rss(pid, stop, peak):
    while not stop.is_set():
        try:
            peak[0] = max(peak[0], b.rss_bytes(pid))
        except OSError:
            return
        stop.wait(0.2)


def probe_busy(port, start_after, count, out):
    """During the pool run: requests on a connection of its own; what the 503s say."""
    time.sleep(start_after)
    headers = {"Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        for _ in range(count):
            t0 = time.monotonic()
            conn.request("POST", SERVICE_PATH, body=CONTRACT_BODY, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode(errors="replace")
            ms = (time.monotonic() - t0) * 1e3
            error = None
            if resp.status != 200:
                try:
                    error = json.loads(text).get("error")
                except ValueError:
                    error = "not JSON"
            out.append({"status": resp.status, "error": error, "ms": ms,
                        "retry_after": resp.getheader("Retry-After")})
            time.sleep(0.01)
    except OSError as e:
        out.append({"status": None, "error": f"probe failed: {e}", "ms": None,
                    "retry_after": None})
    finally:
        conn.close()


def answered_count(proxy, sim):
    """Requests the proxy answered: the service's auth_requests_total (every outcome), or for
    nginx the requests that reached the simulator."""
    if hasattr(proxy, "admin_port"):
        return metric_sum(metrics_text(proxy.admin_port), "auth_requests_total")
    return sim_stats(sim)["requests"]


def crowd_run(start, sim, drive, client_cpu, env, connections, probe=False, probe_after=2.5):
    """One proxy (start() returns it) in front of the 200 ms simulator, under the load
    drive(port) runs: what was served, at what latency, memory and CPU."""
    service = start()
    try:
        time.sleep(0.3)
        idle_rss = b.rss_bytes(service.pid)
        answered_before = answered_count(service, sim)
        cpu_before = service.cpu()
        sim_before = sim_stats(sim)
        stop, peak = threading.Event(), [idle_rss]
        sampler = threading.Thread(target=sample_rss, args=(service.pid, stop, peak))
        sampler.start()
        probes = []
        prober = None
        if probe:
            prober = threading.Thread(target=probe_busy,
                                      args=(service.port, probe_after, 100, probes))
            prober.start()
        try:
            result = drive(service.port)
        finally:
            stop.set()
            sampler.join()
            if prober:
                prober.join(timeout=30)
        cpu_used = service.cpu() - cpu_before
        answered = answered_count(service, sim) - answered_before
        sim_after = sim_stats(sim)
        status = Path(f"/proc/{service.pid}/status").read_text()
        hwm = next(int(line.split()[1]) * 1024 for line in status.splitlines()
                   if line.startswith("VmHWM:"))
        metrics = (processor_series(metrics_text(service.admin_port))
                   if hasattr(service, "admin_port") else [])
    finally:
        service.stop()
    result.update({
            "proxy": service.name, "env": env, "connections": connections,
            "rss_idle_bytes": idle_rss, "rss_peak_sampled_bytes": peak[0],
            "rss_hwm_bytes": hwm,
            "service_answered": answered, "service_cpu_seconds": cpu_used,
            "service_cpu_us_per_request": cpu_used / max(answered, 1) * 1e6,
            "sim_requests": sim_after["requests"] - sim_before["requests"],
            "service_processor_metrics": metrics, "probe": probes})
    return result


# The crowd runs' client timeout: a request due while every connection is busy waits at the
# client, and its latency (and timeout) counts from when it was due; a short timeout would
# count a backlog there as lost requests that the link in fact answered.
CROWD_TIMEOUT_S = 30


def open_loop_drive(authload_bin, body_file, rate, connections, seconds, warmup, client_cpu):
    def drive(port):
        report = load(authload_bin, port, body_file, rate, seconds, warmup, connections,
                      client_cpu, timeout_s=CROWD_TIMEOUT_S)
        statuses = status_counts(report)
        window = report["send_window_s"]
        by_class = report.get("latency_us_by_class", {})
        return {"driver": f"authload {rate:.0f}/s over {connections} connections (open loop)",
                "offered_rate": rate, "achieved_send_rate": report["achieved_rate"],
                "seconds": window, "send_window_s": window,
                "served_200_per_s": statuses.get(200, 0) / window, "status_codes": statuses,
                "non_2xx": sum(v for k, v in statuses.items() if k != 200),
                "transport_errors": transport_errors(report),
                "late_responses": report["requests"].get("late_responses", 0),
                "latency_us": b.percentiles(report),
                "send_lag_us": {k: report["send_lag_us"].get(k) for k in ("p50", "p99", "max")},
                "latency_us_by_class": {k: {p: v.get(p) for p in ("count", "p50", "p99", "max")}
                                        for k, v in by_class.items()},
                "authload_valid": report["valid"],
                "authload_invalid_reasons": report.get("invalid_reasons", [])}
    return drive


def crowd_parts(args, binary, sim_bin, authload_bin, body_file, workdir, cores, servers):
    server_cpu, client_cpu = cores
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    need = 3 * args.crowd_connections + 200  # service: clients + pool; simulator; authload
    if want < need:
        return {"skipped": f"open files limited to {want}, the run needs about {need}"}
    latency_ms = args.crowd_latency_ms
    sim = start_sim(sim_bin, client_cpu, latency_ms)
    servers.append(sim)
    conns, seconds, warmup = args.crowd_connections, args.crowd_seconds, 2
    bound = conns / (latency_ms / 1000)
    out = {"latency_ms": latency_ms, "connections": conns, "littles_law_rps": bound}
    try:
        if "littles" in args.link_parts:
            b.log(f"Little's law: {conns} connections at {latency_ms} ms, pool 2048, "
                  f"offered {bound:.0f}/s")
            env = {"PROCESSOR_MAX_CONNECTIONS": "2048"}
            drive = open_loop_drive(authload_bin, body_file, bound, conns, seconds, warmup,
                                    client_cpu)
            r = crowd_run(lambda: start_link_service(binary, server_cpu, sim, env), sim, drive,
                          client_cpu, env, conns)
            r["served_over_bound"] = r["served_200_per_s"] / bound
            reasons = []
            # Timeouts count from the scheduled send time: a backlog at the client (a machine
            # too loaded to keep the rate) makes them too; they are judged with the rate.
            broken = {k: v for k, v in r["transport_errors"].items() if k != "timeout"}
            if r["non_2xx"] or broken:
                reasons.append(f"{r['non_2xx']} answers other than 2xx; transport errors "
                               f"{broken}")
            if r["sim_requests"] < r["service_answered"]:
                reasons.append(f"{r['service_answered']:.0f} answered, only "
                               f"{r['sim_requests']} reached the simulator")
            r["failures"] = reasons
            out["littles"] = r
            b.log(f"Little's law: served {r['served_200_per_s']:.0f}/s = "
                  f"{r['served_over_bound']:.3f} of {bound:.0f}; p50 "
                  f"{r['latency_us']['p50'] / 1e3:.1f} ms p99 {r['latency_us']['p99'] / 1e3:.1f}"
                  f" ms; RSS peak {r['rss_peak_sampled_bytes'] / 2**20:.1f} MiB; "
                  f"{r['service_cpu_us_per_request']:.1f} us/req")
            # The same load through nginx (upstream keepalive 2048): what this machine and this
            # simulator allow, reported next to the service's figure, not gated.
            ref_dir = workdir / "littles-nginx"
            ref_dir.mkdir()
            ref = crowd_run(lambda: start_proxy_nginx(ref_dir, sim, server_cpu, 2048), sim,
                            drive, client_cpu, {"upstream keepalive": 2048}, conns)
            ref["served_over_bound"] = ref["served_200_per_s"] / bound
            out["littles_nginx"] = ref
            b.log(f"Little's law through nginx: served {ref['served_200_per_s']:.0f}/s = "
                  f"{ref['served_over_bound']:.3f}; p50 {ref['latency_us']['p50'] / 1e3:.1f} ms "
                  f"p99 {ref['latency_us']['p99'] / 1e3:.1f} ms; "
                  f"{ref['service_cpu_us_per_request']:.1f} us/req")
        if "pool" in args.link_parts:
            pool, queue = args.pool_size, args.pool_queue
            pool_bound = pool / (latency_ms / 1000)
            b.log(f"pool: {conns} connections at {latency_ms} ms, pool {pool}, queue {queue}, "
                  f"offered {bound:.0f}/s (pool bound {pool_bound:.0f}/s)")
            env = {"PROCESSOR_MAX_CONNECTIONS": str(pool), "PROCESSOR_MAX_QUEUE": str(queue)}
            drive = open_loop_drive(authload_bin, body_file, bound, conns, seconds, warmup,
                                    client_cpu)
            r = crowd_run(lambda: start_link_service(binary, server_cpu, sim, env), sim, drive,
                          client_cpu, env, conns, probe=True, probe_after=warmup + 0.5)
            r["pool_bound_rps"] = pool_bound
            r["served_over_pool_bound"] = r["served_200_per_s"] / pool_bound
            busy = r["status_codes"].get(503, 0)
            r["http_503"] = busy
            r["http_503_per_s"] = busy / r["send_window_s"]
            p99_503 = r["latency_us_by_class"].get("5xx", {}).get("p99")
            r["http_503_p99_us"] = p99_503
            probe_503 = [p for p in r["probe"] if p["status"] == 503]
            r["probe_503_max_ms"] = max((p["ms"] for p in probe_503), default=None)
            reasons = []
            ref = out.get("littles_nginx")
            overloaded = bool(ref) and ref["served_over_bound"] < args.littles_min
            others = {k: v for k, v in r["status_codes"].items() if k not in (200, 503)}
            # Timeouts count from the scheduled send time: on a machine that could not carry
            # the reference load either (see below), a backlog at the client makes them too.
            broken = {k: v for k, v in r["transport_errors"].items()
                      if k != "timeout" or not overloaded}
            if others or broken:
                reasons.append(f"answers other than 200 and 503: {others} {broken}")
            if not busy:
                reasons.append("no 503: the pool was never exhausted")
            if r["sim_requests"] < r["status_codes"].get(200, 0):
                reasons.append(f"{r['status_codes'].get(200, 0)} 200s, only "
                               f"{r['sim_requests']} reached the simulator")
            limit_ms = args.busy_max_fraction * latency_ms
            lag_ms = r["send_lag_us"]["p99"] / 1e3
            invalid = []
            served = r["served_over_pool_bound"]
            if served > args.pool_max:
                reasons.append(f"served {served:.3f} of the pool bound, above {args.pool_max}")
            elif served < args.pool_min and overloaded:
                invalid.append(f"served {served:.3f} of the pool bound, below {args.pool_min}, "
                               f"but nginx reached only {ref['served_over_bound']:.3f} of its "
                               "bound in the same run: the machine set the rate")
            elif served < args.pool_min:
                reasons.append(f"served {served:.3f} of the pool bound, below {args.pool_min}")
            if p99_503 is None:
                reasons.append("authload reported no latency for the 5xx answers")
            elif p99_503 / 1e3 > limit_ms and lag_ms > limit_ms:
                # Latency counts from the scheduled send time: a generator that sent late
                # makes every answer late, whoever answers.
                invalid.append(f"503 p99 {p99_503 / 1e3:.2f} ms above {limit_ms:.1f} ms, but "
                               f"authload's own send lag p99 was {lag_ms:.2f} ms")
            elif p99_503 / 1e3 > limit_ms:
                reasons.append(f"503 p99 {p99_503 / 1e3:.2f} ms above "
                               f"{args.busy_max_fraction} of the simulator's {latency_ms} ms")
            r["invalid_reasons"] = invalid
            bad = [p for p in r["probe"] if p["status"] not in (200, 503)
                   or (p["status"] == 503 and (p["error"] != "processor_busy"
                                               or not p["retry_after"]))]
            if bad:
                reasons.append(f"probe: {len(bad)} answers not 200 nor 503 processor_busy with "
                               f"Retry-After, e.g. {bad[0]}")
            if not probe_503:
                reasons.append("probe: no 503 seen on its own connection")
            r["failures"] = reasons
            out["pool"] = r
            b.log(f"pool: served {r['served_200_per_s']:.0f}/s = "
                  f"{r['served_over_pool_bound']:.3f} of {pool_bound:.0f}; {busy} 503 "
                  f"({r['http_503_per_s']:.0f}/s), their p99 "
                  f"{(p99_503 or 0) / 1e3:.2f} ms; probe {len(probe_503)}/{len(r['probe'])} "
                  f"503 processor_busy" + (f" FAIL: {reasons}" if reasons else ""))
    finally:
        sim.stop()
    return out


# Report ------------------------------------------------------------------------------------

def gates(r, args):
    out = []
    c = r.get("cpu")
    if c:
        verdict = ("INVALID" if c["invalid_reasons"] or not c["rounds"] else
                   "pass" if c["median_cpu_ratio"] <= args.max_ratio else "FAIL")
        out.append({"name": "CPU per authorization through the link, service / nginx (median)",
                    "value": c.get("median_cpu_ratio"), "limit": f"<= {args.max_ratio}",
                    "verdict": verdict})
    crowd = r.get("crowd", {})
    if crowd.get("littles"):
        m, ref = crowd["littles"], crowd.get("littles_nginx")
        if m["failures"]:
            verdict = "FAIL"
        elif m["served_over_bound"] >= args.littles_min:
            verdict = "pass"
        elif ref and ref["served_over_bound"] < args.littles_min:
            # nginx, in front of the same simulator in the same run, fell short too.
            verdict = "INVALID"
            m["invalid_reasons"] = [f"nginx reached only {ref['served_over_bound']:.3f} of the "
                                    "bound in the same run: the machine set the rate"]
        else:
            verdict = "FAIL"
        out.append({"name": "Little's law: served / (connections / latency)",
                    "value": m["served_over_bound"], "limit": f">= {args.littles_min}",
                    "verdict": verdict})
    if crowd.get("pool"):
        m = crowd["pool"]
        verdict = "FAIL" if m["failures"] else "INVALID" if m["invalid_reasons"] else "pass"
        out.append({"name": "pool exhaustion: served / (pool / latency), 503s at once",
                    "value": m["served_over_pool_bound"],
                    "limit": f"[{args.pool_min}, {args.pool_max}], 503 p99 <= "
                             f"{args.busy_max_fraction} x latency",
                    "verdict": verdict})
    return out


def write_markdown(r, path):
    lines = ["# Processor link benchmark", "",
             f"Run {r['started']} on {r['machine']['cpu']}, {r['machine']['cores']} cores, "
             f"kernel {r['machine']['kernel']} (1-minute load {r['machine']['load_avg_1m']:.2f} "
             f"at start, {r['load_avg_1m_end']:.2f} at the end). Proxies on core "
             f"{r['server_cpu']}; paystream-processor-sim and authload on core "
             f"{r['client_cpu']}.", ""]
    c = r.get("cpu")
    if c and c.get("rounds"):
        lines += [f"## CPU per authorization: service / nginx proxy_pass", "",
                  f"authload {c['rate']}/s open loop, {c['connections']} connections, "
                  f"{c['seconds']} s per run; pool / upstream keepalive {c['pool']}; simulator "
                  "latency 0.", "",
                  "| round | first | service µs/req | nginx µs/req | ratio | simulator µs/req "
                  "(service side, nginx side) |", "|---|---|---|---|---|---|"]
        for i, row in enumerate(c["rounds"], 1):
            s, n = row["service"], row["nginx"]
            lines.append(f"| {i} | {row['first']} | {s['cpu_us_per_request']:.2f} | "
                         f"{n['cpu_us_per_request']:.2f} | {row['cpu_ratio']:.3f} | "
                         f"{s['sim_cpu_us_per_request']:.2f}, "
                         f"{n['sim_cpu_us_per_request']:.2f} |")
        lines.append(f"| median | | {c['median_service_cpu_us']:.2f} | "
                     f"{c['median_nginx_cpu_us']:.2f} | **{c['median_cpu_ratio']:.3f}** | "
                     f"{c['median_sim_cpu_us_service_side']:.2f}, "
                     f"{c['median_sim_cpu_us_nginx_side']:.2f} |")
        for who, p in (c.get("perf") or {}).items():
            lines += ["", f"### perf: {who} (self time, top symbols)", "", "```"]
            lines += (p.get("by_dso", []) + [""] + p.get("top", [])) if "top" in p else \
                [p.get("note", "")]
            lines.append("```")
    elif c:
        lines += ["## CPU per authorization: not measured", ""] + \
                 [f"- {x}" for x in c["invalid_reasons"]]
    crowd = r.get("crowd", {})
    for key, title in (("littles", "Little's law: pool 2048"),
                       ("littles_nginx", "Little's law through nginx (reference, not gated)"),
                       ("pool", "Pool exhaustion")):
        m = crowd.get(key)
        if not m:
            continue
        lat = m["latency_us"]
        lines += ["", f"## {title}: {m['connections']} connections at {crowd['latency_ms']} ms",
                  "", f"- {m['driver']}; {m['proxy']}: {m['env']}",
                  f"- served (200) {m['served_200_per_s']:.0f}/s"
                  + (f" = **{m['served_over_bound']:.3f}** of {crowd['littles_law_rps']:.0f}"
                     if key != "pool" else
                     f" = **{m['served_over_pool_bound']:.3f}** of {m['pool_bound_rps']:.0f}; "
                     f"503: {m['http_503']} ({m['http_503_per_s']:.0f}/s), p99 "
                     f"{(m['http_503_p99_us'] or 0) / 1e3:.2f} ms"),
                  "- latency (all answers) "
                  + ", ".join(f"{k} {v / 1e3:.1f} ms" for k, v in lat.items()
                              if k in ("p50", "p90", "p99") and v is not None)
                  + "".join(f"; {k}: n={v['count']} p50 {v['p50'] / 1e3:.2f} ms p99 "
                            f"{v['p99'] / 1e3:.2f} ms"
                            for k, v in m.get("latency_us_by_class", {}).items()),
                  f"- authload's send lag p50 {m['send_lag_us']['p50'] / 1e3:.2f} ms, p99 "
                  f"{m['send_lag_us']['p99'] / 1e3:.2f} ms",
                  f"- {m['proxy']} RSS {m['rss_idle_bytes'] / 2**20:.1f} MiB idle, "
                  f"{m['rss_peak_sampled_bytes'] / 2**20:.1f} MiB peak under load; CPU "
                  f"{m['service_cpu_us_per_request']:.1f} µs per answered request",
                  f"- answers other than 200: {m['non_2xx']}"
                  + (f" {m['status_codes']}" if "status_codes" in m else "")
                  + f"; transport errors {m['transport_errors'] or 'none'}"]
        if key == "pool":
            probes = m["probe"]
            lines.append(f"- probe on its own connection: {len(probes)} requests, "
                         f"{sum(1 for p in probes if p['status'] == 503)} × 503 "
                         f"{sorted({p['error'] for p in probes if p['status'] == 503})}, "
                         f"max {m['probe_503_max_ms'] or 0:.2f} ms")
        if m.get("failures"):
            lines += [f"- FAIL: {x}" for x in m["failures"]]
        if m.get("invalid_reasons"):
            lines += [f"- INVALID: {x}" for x in m["invalid_reasons"]]
    if crowd.get("skipped"):
        lines += ["", f"Many-connection parts skipped: {crowd['skipped']}"]
    lines += ["", "## Gates", ""]
    for g in r["gates"]:
        value = f"{g['value']:.3f}" if isinstance(g["value"], float) else g["value"]
        lines.append(f"- {g['name']}: {value} (limit {g['limit']}) → {g['verdict']}")
    path.write_text("\n".join(lines) + "\n")


def main(args, build, out):
    binary = build / "svc" / "paystream-authd"
    sim_bin = build / "svc" / "processor_sim" / "paystream-processor-sim"
    authload_bin = build / "bench" / "authload"
    for path in (binary, sim_bin, authload_bin):
        if not path.is_file():
            print(f"not built: {path}")
            return 2
    cores = os.cpu_count() or 1
    server_cpu, client_cpu = (0, 1) if cores >= 2 else (None, None)
    report = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": b.machine_info(),
              "server_cpu": server_cpu, "client_cpu": client_cpu, "body": CONTRACT_BODY}
    workdir = Path(tempfile.mkdtemp(prefix="paystream-bench-link-"))
    os.chmod(workdir, 0o755)  # nginx runs as nobody and reads its config below it
    body_file = workdir / "body.json"
    body_file.write_text(CONTRACT_BODY)
    os.chmod(body_file, 0o644)
    servers = []
    try:
        if "cpu" in args.link_parts:
            report["cpu"] = cpu_part(args, binary, sim_bin, authload_bin, body_file, workdir,
                                     (server_cpu, client_cpu), servers)
        if "littles" in args.link_parts or "pool" in args.link_parts:
            report["crowd"] = crowd_parts(args, binary, sim_bin, authload_bin, body_file,
                                          workdir, (server_cpu, client_cpu), servers)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    report["load_avg_1m_end"] = os.getloadavg()[0]
    report["gates"] = gates(report, args)
    (out / "processor-link.json").write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(report, out / "processor-link.md")
    summary = {g["name"]: {"value": g["value"], "limit": g["limit"], "verdict": g["verdict"]}
               for g in report["gates"]}
    print(json.dumps(summary, indent=2))
    b.log(f"report: {out / 'processor-link.md'}")
    verdicts = {g["verdict"] for g in report["gates"]}
    return 1 if "FAIL" in verdicts else 2 if "INVALID" in verdicts or not verdicts else 0
