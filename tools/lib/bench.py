#!/usr/bin/env python3
"""The comparison run behind tools/bench: paystream-authd against a baseline
(Debian's nginx answering a fixed 200 JSON body of the same size), measured in
the same run on the same pinned core, reported as ratios to the baseline.

Only 127.0.0.1 is ever sent to; every load is bounded in time."""

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLK_TCK = os.sysconf("SC_CLK_TCK")
AUTHORIZE_BODY = (
    '{"card_number":"4111111111111111","currency":"USD","amount":"2450.00",'
    '"merchant":"Amazon Web Services","cardholder_name":"Maria Garcia"}'
)


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def cpu_seconds(pid):
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def pin(cpu):
    return ["taskset", "-c", str(cpu)] if cpu is not None else []


class Server:
    """A server process pinned to one core; CPU time is read from /proc."""

    def __init__(self, name, argv, env=None, cpu=None, port=None):
        self.name, self.port = name, port
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(pin(cpu) + argv, env=env, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr)
        if not wait_port(port):
            self.stop()
            raise RuntimeError(f"{name} did not listen on {port}")

    @property
    def pid(self):
        return self.proc.pid

    def cpu(self):
        return cpu_seconds(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_service(binary, cpu, reactors=1, extra_env=None):
    port, admin = free_port(), free_port()
    env = dict(os.environ, PORT=str(port), ADMIN_PORT=str(admin), REACTORS=str(reactors),
               LATENCY_BASE_MS="0", LATENCY_JITTER_MS="0", LOG_LEVEL="warn")
    env.update(extra_env or {})
    server = Server("paystream-authd", [str(binary)], env=env, cpu=cpu, port=port)
    server.admin_port = admin
    return server


def sample_response(port):
    """One authorize response from the service: its size sets the baseline's body."""
    return sample_exchange(port)[1]


def sample_exchange(port):
    """One authorize request: (response head as bytes, response body as text)."""
    req = (f"POST /v1/authorize HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(AUTHORIZE_BODY)}\r\nConnection: close\r\n\r\n{AUTHORIZE_BODY}")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(req.encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    return head, body.decode()


def start_nginx(workdir, body, cpu):
    port = free_port()
    conf = workdir / "nginx.conf"
    escaped = body.replace("\\", "\\\\").replace("'", "\\'")
    conf.write_text(f"""
worker_processes 1;
master_process off;
daemon off;
error_log {workdir}/nginx-error.log warn;
pid {workdir}/nginx.pid;
events {{ worker_connections 20000; }}
http {{
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 60s;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      default_type application/json;
      return 200 '{escaped}';
    }}
  }}
}}
""")
    return Server("nginx", ["nginx", "-c", str(conf), "-p", str(workdir)], cpu=cpu, port=port)


def run_wrk(port, seconds, cpu, script, script_args=()):
    """script_args: wrk's own trailing arguments, e.g. ("--", "x") for the script's init()."""
    out = subprocess.run(
        pin(cpu) + ["wrk", "-t1", "-c50", f"-d{seconds}s", "-s", str(script),
                    f"http://127.0.0.1:{port}/v1/authorize", *script_args],
        capture_output=True, text=True, timeout=seconds + 30).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result = {"requests": requests, "rps": rps,
              "non_2xx": int(non2xx.group(1)) if non2xx else 0}
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if socket_errors:
        result["socket_errors"] = socket_errors.group(1).strip()
    generated = re.search(r"keyed requests generated: (\d+)", out)  # authorize_keyed.lua
    if generated:
        result["generated"] = int(generated.group(1))
    return result


def cpu_per_request(server, seconds, client_cpu, script, script_args=()):
    before = server.cpu()
    result = run_wrk(server.port, seconds, client_cpu, script, script_args)
    used = server.cpu() - before
    result["cpu_seconds"] = used
    result["cpu_us_per_request"] = used / max(result["requests"], 1) * 1e6
    return result


def cpu_pairs(service, baseline, pairs, seconds, client_cpu, script):
    """Interleaved service/baseline wrk runs: each pair sees the same machine noise."""
    rows = []
    for i in range(pairs):
        s = cpu_per_request(service, seconds, client_cpu, script)
        b = cpu_per_request(baseline, seconds, client_cpu, script)
        ratio = s["cpu_us_per_request"] / b["cpu_us_per_request"]
        rows.append({"service": s, "baseline": b, "cpu_ratio": ratio,
                     "rps_ratio": s["rps"] / b["rps"]})
        log(f"pair {i + 1}/{pairs}: service {s['rps']:.0f} req/s {s['cpu_us_per_request']:.2f} "
            f"us/req; nginx {b['rps']:.0f} req/s {b['cpu_us_per_request']:.2f} us/req; "
            f"CPU ratio {ratio:.3f}")
    return {
        "pairs": rows,
        "median_cpu_ratio": statistics.median(r["cpu_ratio"] for r in rows),
        "median_rps_ratio": statistics.median(r["rps_ratio"] for r in rows),
        "median_service_rps": statistics.median(r["service"]["rps"] for r in rows),
        "median_baseline_rps": statistics.median(r["baseline"]["rps"] for r in rows),
        "median_service_cpu_us": statistics.median(r["service"]["cpu_us_per_request"] for r in rows),
        "median_baseline_cpu_us": statistics.median(r["baseline"]["cpu_us_per_request"] for r in rows),
    }


def authload(binary, args, cpu, timeout):
    """Runs the open-loop generator; returns its JSON report."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = pin(cpu) + [str(binary), *args, "--json", out.name, "--quiet"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"authload failed ({proc.returncode}): {proc.stderr[-2000:]}")
        return json.loads(Path(out.name).read_text())


def latency_run(authload_bin, port, rate, seconds, client_cpu, spin, warmup=1.0, connections=256):
    args = ["--target", f"127.0.0.1:{port}", "--rate", str(int(rate)), "--duration", str(seconds),
            "--warmup", str(warmup), "--connections", str(connections), "--threads", "1"]
    if spin:
        args += ["--spin-us", "200"]
    return authload(authload_bin, args, client_cpu, timeout=seconds + warmup + 60)


def find_max(authload_bin, port, seconds, client_cpu, spin, bound_ms):
    args = ["--target", f"127.0.0.1:{port}", "--find-max", "--find-max-time", str(seconds),
            "--p99-bound-ms", str(bound_ms), "--connections", "64"]
    if spin:
        args += ["--spin-us", "200"]
    return authload(authload_bin, args, client_cpu, timeout=seconds + 90)


def percentiles(report):
    lat = report["latency_us"]
    return {k: lat.get(k) for k in ("p50", "p90", "p99", "p99_9", "p99_99", "max")}


def ratio(a, b):
    return a / b if b else float("nan")


def machine_info():
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {"cpu": model, "cores": os.cpu_count(), "kernel": os.uname().release,
            "load_avg_1m": os.getloadavg()[0]}


def many_connections(binary, authload_bin, server_cpu, client_cpu, connections, seconds):
    """10,000 keep-alive connections at the default 200 ms simulated latency: achieved
    rate against Little's-law bound (connections / latency) and memory per connection."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    service = start_service(binary, server_cpu, extra_env={
        "LATENCY_BASE_MS": "200", "LATENCY_JITTER_MS": "50"})
    try:
        idle_rss = rss_bytes(service.pid)
        bound = connections / 0.2
        report = authload(authload_bin, [
            "--target", f"127.0.0.1:{service.port}", "--rate", str(int(bound)),
            "--duration", str(seconds), "--warmup", "2", "--connections", str(connections),
            "--threads", "1", "--timeout", "5"], client_cpu, timeout=seconds + 120)
        loaded_rss = rss_bytes(service.pid)
    finally:
        service.stop()
    return {"connections": connections, "littles_law_bound_rps": bound,
            "achieved_rps": report["achieved_rate"],
            "achieved_over_bound": report["achieved_rate"] / bound,
            "p99_ms": report["latency_us"]["p99"] / 1000, "valid": report["valid"],
            "rss_idle_bytes": idle_rss, "rss_loaded_bytes": loaded_rss,
            "rss_per_connection_bytes": (loaded_rss - idle_rss) / connections,
            "errors": report.get("errors", {})}


def plot(report, out_png):
    """Percentile curves (log 'percentile' axis) for service and baseline at each rate."""
    if shutil.which("gnuplot") is None or not report.get("latency"):
        return False
    data = out_png.with_suffix(".dat")
    labels = [("p50", 50), ("p90", 90), ("p99", 99), ("p99_9", 99.9), ("p99_99", 99.99)]
    blocks = []
    titles = []
    for row in report["latency"]:
        for who in ("service", "baseline"):
            lines = []
            for key, pct in labels:
                v = row[who]["percentiles"].get(key)
                if v is not None:
                    lines.append(f"{1 / (1 - pct / 100):.6g} {v / 1000:.6g}")
            blocks.append("\n".join(lines))
            titles.append(f"{'paystream-authd' if who == 'service' else 'nginx'} "
                          f"at {row['fraction'] * 100:.0f}% ({row['rate']:.0f}/s)")
    data.write_text("\n\n\n".join(blocks) + "\n")
    plots = ", ".join(
        f"'{data}' index {i} with linespoints title '{t}'" + (" dashtype 2" if "nginx" in t else "")
        for i, t in enumerate(titles))
    script = f"""
set terminal pngcairo size 1000,600
set output '{out_png}'
set logscale x
set logscale y
set xtics ("50%%" 2, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000)
set xlabel "percentile"
set ylabel "latency (ms)"
set key top left
set grid
set title "Latency by percentile: paystream-authd vs nginx at fixed rates (open loop)"
plot {plots}
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    data.unlink()
    return True


def write_markdown(report, path):
    r = report
    lines = [f"# Benchmark report ({'quick' if r['quick'] else 'full'})", "",
             f"Run {r['started']} on {r['machine']['cpu']}, {r['machine']['cores']} cores, "
             f"kernel {r['machine']['kernel']} (1-minute load {r['machine']['load_avg_1m']:.2f} "
             "at start). Server and baseline pinned to the same core, the generator to another. "
             "Every figure is compared with the baseline measured in the same run; absolute "
             "figures are for reference only.", "",
             "## Throughput and CPU per request (wrk -t1 -c50, interleaved pairs)", "",
             "| | paystream-authd | nginx (baseline) | ratio |", "|---|---|---|---|"]
    c = r["cpu"]
    lines.append(f"| requests/s (median) | {c['median_service_rps']:.0f} | "
                 f"{c['median_baseline_rps']:.0f} | {c['median_rps_ratio']:.3f} |")
    lines.append(f"| CPU per request, µs (median) | {c['median_service_cpu_us']:.2f} | "
                 f"{c['median_baseline_cpu_us']:.2f} | **{c['median_cpu_ratio']:.3f}** "
                 f"(median of {len(c['pairs'])} pair ratios) |")
    lines.append("")
    lines.append("Pairs: " + ", ".join(f"{p['cpu_ratio']:.3f}" for p in c["pairs"]))
    if r.get("find_max"):
        fm = r["find_max"]
        lines += ["", "## Highest valid open-loop rate (authload --find-max, p99 bound "
                  f"{fm['p99_bound_ms']} ms)", "",
                  "| | paystream-authd | nginx | ratio |", "|---|---|---|---|",
                  f"| max rate | {fm['service'] or 'none valid'} | {fm['baseline'] or 'none valid'} | "
                  f"{ratio(fm['service'] or 0, fm['baseline'] or 0):.3f} |"]
    lines += ["", "## Latency at fixed rates (authload, open loop, latency from the scheduled "
              "send time)", "",
              "| rate | who | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | valid |",
              "|---|---|---|---|---|---|---|---|"]
    for row in r["latency"]:
        for who, name in (("service", "paystream-authd"), ("baseline", "nginx")):
            p = row[who]["percentiles"]
            ms = lambda k: f"{p[k] / 1000:.3f}" if p.get(k) is not None else "-"
            reasons = "" if row[who]["valid"] else " (" + "; ".join(row[who]["invalid_reasons"]) + ")"
            lines.append(f"| {row['fraction'] * 100:.0f}% = {row['rate']:.0f}/s | {name} | "
                         f"{ms('p50')} | {ms('p90')} | {ms('p99')} | {ms('p99_9')} | {ms('max')} | "
                         f"{'yes' if row[who]['valid'] else 'no' + reasons} |")
        lines.append(f"| | ratio p99 | | | **{row['p99_ratio']:.3f}** | | | |")
    if r.get("scaling"):
        lines += ["", "## Scaling", "", r["scaling"]["note"]]
    if r.get("many_connections"):
        m = r["many_connections"]
        lines += ["", f"## {m['connections']} keep-alive connections at 200 ± 50 ms", "",
                  f"- achieved {m['achieved_rps']:.0f} req/s of the Little's-law bound "
                  f"{m['littles_law_bound_rps']:.0f} (connections / latency): "
                  f"{m['achieved_over_bound']:.3f}; p99 {m['p99_ms']:.1f} ms; "
                  f"valid: {m['valid']}",
                  f"- resident memory: {m['rss_idle_bytes'] / 2**20:.1f} MiB idle, "
                  f"{m['rss_loaded_bytes'] / 2**20:.1f} MiB loaded: "
                  f"**{m['rss_per_connection_bytes'] / 1024:.1f} KiB per connection**"]
    lines += ["", "## Gates (bench/tolerances.json)", ""]
    for g in r["gates"]:
        lines.append(f"- {g['name']}: {g['value']:.3f} (limit {g['limit']}) → {g['verdict']}")
    if r.get("plot"):
        lines += ["", "![latency by percentile](latency.png)"]
    path.write_text("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the CI run (under 3 minutes)")
    parser.add_argument("--out", default=str(ROOT / "bench-report"))
    parser.add_argument("--build", default=str(ROOT / "build"))
    parser.add_argument("--compare", metavar="REV",
                        help="before/after: REV's build against the working tree's, each as "
                             "a CPU-per-request ratio to nginx in 5 interleaved rounds")
    parser.add_argument("--tolerance", type=float, default=0.03,
                        help="with --compare: the largest accepted rise of the median ratio")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="with --compare: extra environment for both services")
    parser.add_argument("--jobs", type=int, help="with --compare: ninja -j for REV's build")
    parser.add_argument("--idempotency", action="store_true",
                        help="CPU per request with a unique Idempotency-Key / without, same "
                             "process, embedded store at steady-state eviction (gated), and "
                             "with Redis on loopback (reported): bench-report/idempotency.md "
                             "(tools/lib/bench_idempotency.py)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="with --idempotency: rounds of (unkeyed, control, keyed) runs; "
                             "with --processor-link: rounds of (service, nginx) CPU runs")
    parser.add_argument("--max-ratio", type=float,
                        help="with --idempotency: the largest accepted median keyed/control "
                             "CPU-per-request ratio (default 1.10); with --processor-link: "
                             "the largest accepted median service/nginx one (default 1.25)")
    parser.add_argument("--idempotency-max-bytes", type=int, default=1048576,
                        help="with --idempotency: the embedded store's IDEMPOTENCY_MAX_BYTES")
    parser.add_argument("--no-redis", action="store_true",
                        help="with --idempotency: skip the Redis measurement")
    parser.add_argument("--processor-link", action="store_true",
                        help="the outbound processor link against paystream-processor-sim: "
                             "CPU per authorization, service / nginx proxy_pass with upstream "
                             "keep-alive (gated), Little's law at 2,000 connections and 200 ms, "
                             "pool exhaustion (503 processor_busy at once): "
                             "bench-report/processor-link.md (tools/lib/bench_link.py)")
    link = parser.add_argument_group("--processor-link options")
    link.add_argument("--link-parts", default="cpu,littles,pool",
                      help="comma-separated subset of cpu, littles, pool (default: all)")
    link.add_argument("--link-rate", type=int, default=5000,
                      help="open-loop rate of the CPU runs, requests/s (default 5000)")
    link.add_argument("--link-seconds", type=float, default=10,
                      help="seconds per CPU run (default 10; 3 with --quick)")
    link.add_argument("--link-connections", type=int, default=50,
                      help="client connections of the CPU runs (default 50)")
    link.add_argument("--link-pool", type=int, default=64,
                      help="PROCESSOR_MAX_CONNECTIONS and nginx's upstream keepalive in the "
                           "CPU runs (default 64)")
    link.add_argument("--perf", action="store_true",
                      help="also perf-record each proxy during one more CPU run (top symbols "
                           "in the report)")
    link.add_argument("--crowd-connections", type=int, default=2000,
                      help="client connections of the Little's-law and pool runs (default 2000)")
    link.add_argument("--crowd-latency-ms", type=int, default=200,
                      help="the simulator's latency in those runs (default 200)")
    link.add_argument("--crowd-seconds", type=float, default=10,
                      help="measured seconds of those runs, after 2 s of warm-up (default 10; "
                           "5 with --quick)")
    link.add_argument("--littles-min", type=float, default=0.95,
                      help="the smallest accepted served / Little's-law rate (default 0.95)")
    link.add_argument("--pool-size", type=int, default=256,
                      help="PROCESSOR_MAX_CONNECTIONS of the pool run (default 256)")
    link.add_argument("--pool-queue", type=int, default=32,
                      help="PROCESSOR_MAX_QUEUE of the pool run (default 32)")
    link.add_argument("--pool-min", type=float, default=0.90,
                      help="the smallest accepted served / (pool / latency) (default 0.90)")
    link.add_argument("--pool-max", type=float, default=1.05,
                      help="the largest accepted served / (pool / latency) (default 1.05)")
    link.add_argument("--busy-max-fraction", type=float, default=0.05,
                      help="the largest accepted p99 of the 503s as a fraction of the "
                           "simulator's latency (default 0.05: 10 ms of 200 ms)")
    args = parser.parse_args()
    if args.max_ratio is None:
        args.max_ratio = 1.25 if args.processor_link else 1.10
    if args.quick and args.processor_link:
        args.link_seconds, args.crowd_seconds = 3, 5
        args.rounds = min(args.rounds, 3)
    args.link_parts = {p.strip() for p in args.link_parts.split(",") if p.strip()}
    if not args.link_parts <= {"cpu", "littles", "pool"}:
        parser.error("--link-parts takes cpu, littles, pool")
    if any("=" not in kv for kv in args.env):
        parser.error("--env takes NAME=VALUE")

    build = Path(args.build)
    binary = build / "svc" / "paystream-authd"
    authload_bin = build / "bench" / "authload"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.compare:
        sys.dont_write_bytecode = True  # no __pycache__ in tools/lib
        from bench_compare import compare
        return compare(args, binary, out)
    if args.processor_link:
        sys.dont_write_bytecode = True
        import bench_link
        return bench_link.main(args, build, out)
    if args.idempotency:
        sys.dont_write_bytecode = True
        import bench_idempotency
        return bench_idempotency.main(args, build, out)
    tolerances = json.loads((ROOT / "bench" / "tolerances.json").read_text())
    cores = os.cpu_count() or 1
    server_cpu, client_cpu = (0, 1) if cores >= 2 else (None, None)
    spin = cores >= 3  # spinning only where the generator has a core nobody else needs
    pairs, pair_seconds, lat_seconds = (3, 3, 4) if args.quick else (5, 10, 10)
    fractions = (0.5,) if args.quick else (0.25, 0.5, 0.75)
    script = ROOT / "bench" / "wrk" / "authorize.lua"

    report = {"quick": args.quick, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
              "machine": machine_info(), "server_cpu": server_cpu, "client_cpu": client_cpu}
    workdir = Path(tempfile.mkdtemp(prefix="paystream-bench-"))
    service = baseline = None
    try:
        service = start_service(binary, server_cpu)
        body = sample_response(service.port)
        baseline = start_nginx(workdir, body, server_cpu)
        report["response_bytes"] = len(body)
        log(f"service on :{service.port}, nginx on :{baseline.port}, body {len(body)} bytes")
        # Warm both (page faults, caches) before measuring.
        run_wrk(service.port, 1, client_cpu, script)
        run_wrk(baseline.port, 1, client_cpu, script)
        report["cpu"] = cpu_pairs(service, baseline, pairs, pair_seconds, client_cpu, script)
        baseline_max = report["cpu"]["median_baseline_rps"]
        if not args.quick:
            bound = 50
            fm_s = find_max(authload_bin, service.port, 30, client_cpu, spin, bound)
            fm_b = find_max(authload_bin, baseline.port, 30, client_cpu, spin, bound)
            report["find_max"] = {"p99_bound_ms": bound, "service": fm_s.get("max_rate"),
                                  "baseline": fm_b.get("max_rate"),
                                  "service_report": fm_s, "baseline_report": fm_b}
            if fm_b.get("max_rate"):
                baseline_max = fm_b["max_rate"]
        report["baseline_max_rps"] = baseline_max
        report["latency"] = []
        for fraction in fractions:
            rate = baseline_max * fraction
            s = latency_run(authload_bin, service.port, rate, lat_seconds, client_cpu, spin)
            b = latency_run(authload_bin, baseline.port, rate, lat_seconds, client_cpu, spin)
            row = {"fraction": fraction, "rate": rate,
                   "service": {"percentiles": percentiles(s), "valid": s["valid"],
                               "invalid_reasons": s.get("invalid_reasons", []),
                               "achieved_rate": s["achieved_rate"]},
                   "baseline": {"percentiles": percentiles(b), "valid": b["valid"],
                                "invalid_reasons": b.get("invalid_reasons", []),
                                "achieved_rate": b["achieved_rate"]}}
            row["p99_ratio"] = ratio(s["latency_us"]["p99"], b["latency_us"]["p99"])
            report["latency"].append(row)
            log(f"{fraction * 100:.0f}% = {rate:.0f}/s: p99 service "
                f"{s['latency_us']['p99'] / 1000:.3f} ms (valid {s['valid']}), nginx "
                f"{b['latency_us']['p99'] / 1000:.3f} ms (valid {b['valid']})")
    finally:
        for server in (service, baseline):
            if server:
                server.stop()
    if not args.quick:
        if cores < 3:
            report["scaling"] = {"note": f"Skipped: {cores} cores, and the series needs at "
                                         "least 3 (reactors on all but the generator's core)."}
        report["many_connections"] = many_connections(binary, authload_bin, server_cpu,
                                                      client_cpu, 10000, 10)

    # Gates: ratios only, never absolute figures, never an invalid run.
    gates = []
    cpu_limit = tolerances["cpu_per_request_ratio_max"]
    gates.append({"name": "CPU per request, service / nginx (median of pairs)",
                  "value": report["cpu"]["median_cpu_ratio"], "limit": cpu_limit,
                  "verdict": "pass" if report["cpu"]["median_cpu_ratio"] <= cpu_limit else "FAIL"})
    half = next((r for r in report["latency"] if r["fraction"] == 0.5), None)
    p99_limit = tolerances["p99_at_half_load_ratio_max"]
    if half:
        valid = half["service"]["valid"] and half["baseline"]["valid"]
        verdict = ("pass" if half["p99_ratio"] <= p99_limit else "FAIL") if valid else \
            "not gated (invalid run: the generator was the limit)"
        gates.append({"name": "p99 at 50% of the baseline's max, service / nginx",
                      "value": half["p99_ratio"], "limit": p99_limit, "verdict": verdict})
    report["gates"] = gates
    report["plot"] = plot(report, out / "latency.png")
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(report, out / "report.md")
    shutil.rmtree(workdir, ignore_errors=True)
    failed = [g for g in gates if g["verdict"] == "FAIL"]
    for g in gates:
        log(f"gate {g['name']}: {g['value']:.3f} (limit {g['limit']}): {g['verdict']}")
    log(f"report: {out / 'report.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
