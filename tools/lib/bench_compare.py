"""tools/bench --compare REV: CPU per request of two builds of paystream-authd, the
revision REV ("before") and the working tree ("after"), each as a ratio to the same
nginx baseline, measured in interleaved rounds of the same run.

REV is built from a temporary git worktree with the production flags of the working
tree (release, tools/cpu-baseline) into build-compare/<commit>/build, kept for re-runs.
Both services get the same environment and the same request (bench/wrk/authorize.lua).

Exit 0 when median(after) - median(before) <= the tolerance, 1 when it exceeds it,
2 when the run is invalid (a build failed, a side answered something other than 2xx)."""

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import bench as b

ROOT = b.ROOT


def git(*args):
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def meson_option_names(src):
    """The option names a revision declares (meson_options.txt or meson.options)."""
    names = set()
    for name in ("meson_options.txt", "meson.options"):
        path = src / name
        if path.is_file():
            for line in path.read_text().splitlines():
                line = line.strip()
                if line.startswith("option("):
                    names.add(line.split("'")[1])
    return names


def build_revision(rev, jobs=None):
    """Builds REV's paystream-authd; returns (commit, binary). Cached by commit and flags:
    the source lives in build-compare/<commit>/src only while it builds, so the relative
    path from build to source is the same for every commit and ccache reuses objects."""
    sha = git("rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}")
    baseline = (ROOT / "tools" / "cpu-baseline").read_text().strip()
    flags = {"buildtype": "release", "cpu_baseline": baseline}
    top = ROOT / "build-compare" / sha
    builddir, src = top / "build", top / "src"
    binary = builddir / "svc" / "paystream-authd"
    stamp = top / "flags.json"
    if binary.is_file() and stamp.is_file() and json.loads(stamp.read_text()) == flags:
        b.log(f"{rev} = {sha[:12]}: cached build {binary.relative_to(ROOT)}")
        return sha, binary
    shutil.rmtree(top, ignore_errors=True)
    top.mkdir(parents=True)
    b.log(f"{rev} = {sha[:12]}: building release (-Dcpu_baseline={baseline}) in "
          f"{builddir.relative_to(ROOT)}")
    git("worktree", "add", "--detach", "--quiet", str(src), sha)
    try:
        setup = ["meson", "setup", str(builddir), str(src), "--buildtype=release",
                 f"-Dcpu_baseline={baseline}"]
        # Only the service is needed; older revisions may lack an option, so ask first.
        options = meson_option_names(src)
        setup += [f"-D{o}=false" for o in ("tests", "benchmarks") if o in options]
        subprocess.run(setup, check=True, stdout=subprocess.DEVNULL)
        ninja = ["ninja", "-C", str(builddir)] + (["-j", str(jobs)] if jobs else [])
        subprocess.run(ninja + ["svc/paystream-authd"], check=True, stdout=subprocess.DEVNULL)
    finally:
        git("worktree", "remove", "--force", str(src))
    stamp.write_text(json.dumps(flags) + "\n")
    return sha, binary


def exchange(port):
    """One authorize request: (status code, response body)."""
    head, body = b.sample_exchange(port)
    return int(head.split(b" ", 2)[1]), body


def run_round(sides, baseline, seconds, client_cpu, script):
    row = {}
    for side in sides:
        s = b.cpu_per_request(side["server"], seconds, client_cpu, script)
        n = b.cpu_per_request(baseline, seconds, client_cpu, script)
        ratio = s["cpu_us_per_request"] / n["cpu_us_per_request"]
        row[side["name"]] = {"service": s, "baseline": n, "cpu_ratio": ratio}
        b.log(f"  {side['name']:6}: service {s['rps']:.0f} req/s {s['cpu_us_per_request']:.2f} "
              f"us/req; nginx {n['rps']:.0f} req/s {n['cpu_us_per_request']:.2f} us/req; "
              f"CPU ratio {ratio:.3f}")
    row["order"] = [side["name"] for side in sides]
    row["difference"] = row["after"]["cpu_ratio"] - row["before"]["cpu_ratio"]
    return row


def invalid_reasons(rounds):
    reasons = []
    for i, row in enumerate(rounds, 1):
        for name in ("before", "after"):
            for who in ("service", "baseline"):
                r = row[name][who]
                if r["non_2xx"] or not r["requests"]:
                    reasons.append(f"round {i}, {name} pair, {who}: {r['requests']} requests, "
                                   f"{r['non_2xx']} not 2xx")
    return reasons


def write_markdown(report, path):
    r = report
    lines = [f"# Before/after comparison: {r['before']['rev']} ({r['before']['commit'][:12]}) "
             "→ working tree", "",
             f"Run {r['started']} on {r['machine']['cpu']}, {r['machine']['cores']} cores "
             f"(1-minute load {r['machine']['load_avg_1m']:.2f} at start). Both services and "
             "nginx pinned to the same core, wrk (-t1 -c50, "
             f"{r['seconds']} s per run) to another. Each round measures a (service, nginx) "
             "pair for each side; the side that goes first alternates.", "",
             "| round | order | before: CPU ratio | after: CPU ratio | after − before |",
             "|---|---|---|---|---|"]
    for i, row in enumerate(r["rounds"], 1):
        lines.append(f"| {i} | {' then '.join(row['order'])} | {row['before']['cpu_ratio']:.3f} "
                     f"| {row['after']['cpu_ratio']:.3f} | {row['difference']:+.3f} |")
    lines += ["", "| | before | after |", "|---|---|---|",
              f"| median CPU ratio to nginx | {r['before']['median_cpu_ratio']:.3f} | "
              f"{r['after']['median_cpu_ratio']:.3f} |",
              f"| median service CPU per request, µs | {r['before']['median_service_cpu_us']:.2f} "
              f"| {r['after']['median_service_cpu_us']:.2f} |",
              f"| median service requests/s | {r['before']['median_service_rps']:.0f} | "
              f"{r['after']['median_service_rps']:.0f} |",
              f"| response body bytes | {r['before']['response_bytes']} | "
              f"{r['after']['response_bytes']} |", "",
              f"**Difference of medians, after − before: {r['difference']:+.3f}** "
              f"(tolerance +{r['tolerance']}) → {r['verdict']}", ""]
    if r["invalid_reasons"]:
        lines += ["Invalid run:", ""] + [f"- {x}" for x in r["invalid_reasons"]]
    path.write_text("\n".join(lines) + "\n")


def compare(args, binary, out):
    try:
        sha, before_bin = build_revision(args.compare, args.jobs)
    except subprocess.CalledProcessError as e:
        print(f"invalid: building {args.compare} failed: {' '.join(map(str, e.cmd))}\n"
              f"{e.stderr or ''}")
        return 2
    cores = os.cpu_count() or 1
    server_cpu, client_cpu = (0, 1) if cores >= 2 else (None, None)
    rounds_n, seconds = (5, 3) if args.quick else (5, 10)
    script = ROOT / "bench" / "wrk" / "authorize.lua"
    env = dict(kv.split("=", 1) for kv in args.env)
    report = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": b.machine_info(),
              "seconds": seconds, "tolerance": args.tolerance, "env": env,
              "before": {"rev": args.compare, "commit": sha, "binary": str(before_bin)},
              "after": {"rev": "working tree", "binary": str(binary)}}
    workdir = Path(tempfile.mkdtemp(prefix="paystream-bench-"))
    servers = []
    try:
        sides = []
        for name, path in (("before", before_bin), ("after", binary)):
            server = b.start_service(path, server_cpu, extra_env=env)
            servers.append(server)
            status, body = exchange(server.port)
            report[name]["response_status"] = status
            report[name]["response_bytes"] = len(body)
            sides.append({"name": name, "server": server, "body": body})
            if not 200 <= status < 300:
                # Measuring an error path would compare the wrong thing: stop here.
                print(f"invalid: {name} answered the sample authorize request with {status}: "
                      f"{body[:300]} (give both sides what it needs with --env NAME=VALUE)")
                return 2
        # One baseline for both sides, sized like the working tree's answer.
        baseline = b.start_nginx(workdir, sides[1]["body"], server_cpu)
        servers.append(baseline)
        b.log(f"before :{sides[0]['server'].port}, after :{sides[1]['server'].port}, "
              f"nginx :{baseline.port}")
        for server in servers:
            b.run_wrk(server.port, 1, client_cpu, script)  # warm-up
        rounds = []
        for i in range(rounds_n):
            b.log(f"round {i + 1}/{rounds_n}")
            order = sides if i % 2 == 0 else sides[::-1]
            rounds.append(run_round(order, baseline, seconds, client_cpu, script))
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    report["rounds"] = rounds
    for name in ("before", "after"):
        report[name]["median_cpu_ratio"] = statistics.median(r[name]["cpu_ratio"] for r in rounds)
        report[name]["median_service_cpu_us"] = statistics.median(
            r[name]["service"]["cpu_us_per_request"] for r in rounds)
        report[name]["median_service_rps"] = statistics.median(
            r[name]["service"]["rps"] for r in rounds)
    report["difference"] = report["after"]["median_cpu_ratio"] - report["before"]["median_cpu_ratio"]
    reasons = invalid_reasons(rounds)
    report["invalid_reasons"] = reasons
    if reasons:
        report["verdict"] = "INVALID"
    else:
        report["verdict"] = "pass" if report["difference"] <= args.tolerance else "FAIL"
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(report, out / "report.md")
    print(f"before {args.compare} ({sha[:12]}): median CPU ratio to nginx "
          f"{report['before']['median_cpu_ratio']:.3f}; after (working tree): "
          f"{report['after']['median_cpu_ratio']:.3f}; difference {report['difference']:+.3f} "
          f"(tolerance +{args.tolerance}): {report['verdict']}")
    for reason in reasons:
        print(f"invalid: {reason}")
    b.log(f"report: {out / 'report.md'}")
    return {"pass": 0, "FAIL": 1}.get(report["verdict"], 2)
