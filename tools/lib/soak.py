#!/usr/bin/env python3
"""The soak behind tools/soak: paystream-authd (release build, REACTORS=1, as in a pod)
under a mixed load for MINUTES, sampled every few seconds (VmRSS, VmHWM, open fds).

Fails (exit 1) on: the service exiting before the end or not exiting 0 on SIGTERM; a
valid request (authload's authorizations, pipelined requests, slow-but-valid requests,
admin scrapes) without a 2xx response; a hostile connection the service neither answered
nor closed within its own timeout plus 5 s; after the warm-up, VmRSS above the warm-up's
peak + max(8 MiB, 20 %) or VmHWM growing by more than that margin; open fds above the
baseline + the clients' own connections + 32; fds not back to the idle baseline within
15 s of the clients' end; a card number in the service's log or metrics.

Only 127.0.0.1 is sent to; every client stops at the end; the service is stopped."""

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import free_port, wait_port  # noqa: E402 (the same loopback helpers)
import soak_clients  # noqa: E402
import soak_http  # noqa: E402
import soak_report  # noqa: E402
import soak_verdict  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_S = 2.0
LIMITS = {"header_timeout_s": 5.0, "body_timeout_s": 10.0, "max_header_bytes": 8192,
          "max_body_bytes": 16384}


def log(msg):
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def proc_sample(pid):
    """VmRSS, VmHWM (bytes) and open fds of a process, or None once it is gone."""
    try:
        rss = hwm = 0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        return rss, hwm, fds
    except (FileNotFoundError, ProcessLookupError):
        return None


def cpu_seconds(pid):
    """User + system CPU time of a process, from /proc (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tcp_mem_pages():
    """The machine's TCP buffer memory (pages) from /proc/net/sockstat: context only."""
    for line in Path("/proc/net/sockstat").read_text().splitlines():
        if line.startswith("TCP:"):
            f = line.split()
            return int(f[f.index("mem") + 1])
    return None


def warmup_for(total_s):
    return min(120.0, max(15.0, total_s / 4))


def start_service(binary, workdir):
    port, admin = free_port(), free_port()
    env = dict(os.environ, PORT=str(port), ADMIN_PORT=str(admin), BIND_ADDR="127.0.0.1",
               ADMIN_BIND_ADDR="127.0.0.1", REACTORS="1", LOG_LEVEL="info",
               HEADER_TIMEOUT_MS=str(int(LIMITS["header_timeout_s"] * 1000)),
               BODY_TIMEOUT_MS=str(int(LIMITS["body_timeout_s"] * 1000)),
               MAX_HEADER_BYTES=str(LIMITS["max_header_bytes"]),
               MAX_BODY_BYTES=str(LIMITS["max_body_bytes"]),
               LATENCY_BASE_MS="20", LATENCY_JITTER_MS="10")
    log_file = open(workdir / "service.log", "wb")
    proc = subprocess.Popen([str(binary)], env=env, stdout=log_file, stderr=subprocess.STDOUT)
    if not wait_port(port) or not wait_port(admin):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"paystream-authd did not listen (see {workdir / 'service.log'})")
    return proc, port, admin


async def run_load(args, proc, port, admin, out):
    total = args.minutes * 60
    t0 = time.monotonic()
    end_at = t0 + total
    load = soak_clients.Load(port, admin, end_at, LIMITS)
    authload_cmd = [str(args.build / "bench" / "authload"), "--target", f"127.0.0.1:{port}",
                    "--rate", str(args.rate), "--duration", f"{total:.0f}", "--warmup", "0",
                    "--connections", str(args.connections), "--threads", "1", "--timeout", "10",
                    "--json", str(out / "authload.json"), "--quiet"]
    authload = await asyncio.create_subprocess_exec(
        *authload_cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)

    tasks = [asyncio.ensure_future(c) for c in (
        [load.pipelining() for _ in range(3)] +
        [load.slow_valid() for _ in range(3)] +
        [load.admin_scrapes()] +
        [load.malformed(i * 9) for _ in range(1) for i in range(3)] +
        [load.slowloris(i) for i in range(6)] +
        [load.aborted()] +
        [load.non_reading() for _ in range(6)] +
        [load.non_reading(admin=True)])]
    capacity = args.connections + len(tasks)
    samples = []
    crashed = None
    while True:
        now = time.monotonic()
        s = proc_sample(proc.pid)
        if proc.poll() is not None or s is None:
            crashed = f"paystream-authd exited with status {proc.returncode} at " \
                      f"{now - t0:.0f} s"
            break
        samples.append({"t": round(now - t0, 1), "rss": s[0], "hwm": s[1], "fds": s[2],
                        "clients": load.open_connections + args.connections,
                        "tcp_mem_pages": tcp_mem_pages()})
        if now >= end_at:
            break
        await asyncio.sleep(min(SAMPLE_S, max(0.05, end_at - time.monotonic())))

    if crashed:
        load.end_at = time.monotonic()
        authload.kill()
    # Valid clients finish the request in hand (bounded by their own 10 s timeouts).
    done, pending = await asyncio.wait(tasks, timeout=30)
    for t in pending:
        t.cancel()
    try:
        _, err = await asyncio.wait_for(authload.communicate(), 60)
    except asyncio.TimeoutError:
        authload.kill()
        _, err = await authload.communicate()
    for t in done:
        if t.exception() is not None:
            raise t.exception()  # a bug in a client, not a finding about the service
    result = {"samples": samples, "crashed": crashed, "capacity": capacity,
              "categories": [c.to_json() for c in load.cats.values()],
              "authload_status": authload.returncode,
              "authload_stderr": err.decode(errors="replace")[-2000:],
              "last_metrics": load.last_metrics}
    return result


def settle_fds(proc, baseline, timeout=15.0):
    """fds once the clients are gone: waits until the baseline or the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        s = proc_sample(proc.pid)
        if s is None or s[2] <= baseline or time.monotonic() >= deadline:
            return s
        time.sleep(0.25)


def stop_service(proc):
    if proc.poll() is not None:
        return proc.returncode, False
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30), False
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(), True


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("minutes", nargs="?", type=float, default=30.0,
                        help="load duration in minutes (default 30; 1 is the shortest "
                             "meaningful run)")
    parser.add_argument("--out", type=Path, default=ROOT / "soak-report")
    parser.add_argument("--build", type=Path, default=ROOT / "build")
    parser.add_argument("--rate", type=int, default=200,
                        help="authload's authorizations per second (default 200)")
    parser.add_argument("--connections", type=int, default=32,
                        help="authload's keep-alive connections (default 32)")
    args = parser.parse_args()
    if not 0.5 <= args.minutes <= 24 * 60:
        parser.error("MINUTES must be between 0.5 and 1440")
    args.out.mkdir(parents=True, exist_ok=True)
    for stale in ("report.md", "report.json", "memory.png", "authload.json", "service.log"):
        (args.out / stale).unlink(missing_ok=True)
    binary = args.build / "svc" / "paystream-authd"

    total = args.minutes * 60
    warmup = warmup_for(total)
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    proc, port, admin = start_service(binary, args.out)
    try:
        time.sleep(1.0)  # idle baseline: listeners up, nothing connected
        idle = proc_sample(proc.pid)
        log(f"paystream-authd pid {proc.pid} on :{port} (admin :{admin}); idle RSS "
            f"{idle[0] / 2**20:.1f} MiB, {idle[2]} fds; {args.minutes:g} min of load, "
            f"warm-up {warmup:.0f} s")
        run = asyncio.run(run_load(args, proc, port, admin, args.out))
        final = settle_fds(proc, idle[2])
        service_cpu = cpu_seconds(proc.pid)
    finally:
        exit_status, killed = stop_service(proc)
    service_log = (args.out / "service.log").read_bytes()
    metrics = run.pop("last_metrics")
    leaked = [d[-4:] for d in soak_http.card_digits()
              if d.encode() in service_log or d.encode() in metrics]

    authload_report = None
    if (args.out / "authload.json").exists():
        authload_report = json.loads((args.out / "authload.json").read_text())
    report = {
        "started": started, "minutes": args.minutes, "warmup_s": warmup,
        "sample_interval_s": SAMPLE_S, "rate": args.rate, "limits": LIMITS,
        "idle": {"rss": idle[0], "hwm": idle[1], "fds": idle[2]},
        "final": {"rss": final[0], "hwm": final[1], "fds": final[2]} if final else None,
        "service_cpu_s": service_cpu, "exit_status": exit_status, "killed_after_sigterm": killed,
        "card_numbers_leaked_last4": leaked,
        "authload": soak_verdict.authload_summary(authload_report, run["authload_status"]),
        **run,
    }
    report["checks"] = soak_verdict.checks(report)
    report["passed"] = all(c["ok"] for c in report["checks"])
    soak_report.write(report, args.out)
    for c in report["checks"]:
        log(f"{'pass' if c['ok'] else 'FAIL'}: {c['name']}: {c['detail']}")
    log(f"report: {args.out / 'report.md'}")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
