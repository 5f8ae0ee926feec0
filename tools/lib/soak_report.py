"""tools/soak's report: report.json (everything), report.md (verdicts, counts, memory
and fds over time) and memory.png (gnuplot, when installed)."""

import json
import shutil
import subprocess

MIB = 2**20


def plot(report, out_png):
    """VmRSS and VmHWM (MiB, left axis) and open fds (right axis) over time, with the
    warm-up's end and the RSS limit."""
    if shutil.which("gnuplot") is None or not report["samples"]:
        return False
    data = out_png.with_suffix(".dat")
    data.write_text("".join(f"{s['t']} {s['rss'] / MIB:.3f} {s['hwm'] / MIB:.3f} {s['fds']}\n"
                            for s in report["samples"]))
    limit = next((c for c in report["checks"] if c["name"] == "VmRSS after warm-up"), None)
    limit_mib = None
    if limit is not None and "limit " in limit["detail"]:
        limit_mib = float(limit["detail"].rsplit("limit ", 1)[1].split()[0])
    extra = f", {limit_mib} with lines dashtype 2 lc rgb 'red' title 'RSS limit (after warm-up)'" \
        if limit_mib else ""
    top = 1.15 * max([limit_mib or 0] + [s["hwm"] / MIB for s in report["samples"]])
    script = f"""
set terminal pngcairo size 1000,500 font "DejaVu Sans,10"
set output '{out_png}'
set xlabel "seconds"
set ylabel "MiB"
set y2label "open fds"
set y2tics
set ytics nomirror
set yrange [0:{top:.1f}]
set y2range [0:*]
set grid
set key top left
set arrow from {report['warmup_s']},graph 0 to {report['warmup_s']},graph 1 nohead dashtype 3
set label "end of warm-up" at {report['warmup_s']},graph 0.95 offset 0.5,0
set title "paystream-authd under the soak: memory and descriptors"
plot '{data}' using 1:2 with lines lw 2 title 'VmRSS', \\
     '{data}' using 1:3 with lines title 'VmHWM', \\
     '{data}' using 1:4 axes x1y2 with lines title 'open fds'{extra}
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    data.unlink()
    return True


def write(report, out):
    report["plot"] = plot(report, out / "memory.png")
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    r = report
    lines = [f"# Soak report: {'PASS' if r['passed'] else 'FAIL'}", "",
             f"Started {r['started']}: {r['minutes']:g} min of mixed load against "
             f"paystream-authd (release, REACTORS=1), warm-up {r['warmup_s']:.0f} s, samples "
             f"every {r['sample_interval_s']:g} s. Idle: VmRSS {r['idle']['rss'] / MIB:.1f} MiB, "
             f"{r['idle']['fds']} fds." +
             (f" Service CPU: {r['service_cpu_s']:.1f} s." if r.get("service_cpu_s") else ""),
             "", "## Checks", ""]
    for c in r["checks"]:
        lines.append(f"- {'pass' if c['ok'] else '**FAIL**'}: {c['name']}: {c['detail']}")
    a = r["authload"]
    lines += ["", "## Clients", "",
              "| client | valid | connections | sent | answered | statuses | closed unanswered "
              "| hung | cut at end |", "|---|---|---|---|---|---|---|---|---|",
              f"| authload (authorize, {r['rate']}/s) | yes | | {a['sent']} | {a['answered']} | "
              f"{a['statuses']} | {a['unanswered']} | | |"]
    for c in r["categories"]:
        lines.append(f"| {c['name']} | {'yes' if c['valid'] else 'no'} | {c['connections']} | "
                     f"{c['sent']} | {c['answered']} | {c['statuses']} | "
                     f"{c['unanswered'] if c['valid'] else c['closed']} | {c['hung']} | "
                     f"{c['cut']} |")
    mal = next((c for c in r["categories"] if c["name"] == "malformed"), None)
    if mal and mal.get("cases"):
        lines += ["", "Malformed requests by case (outcome: count): " +
                  ", ".join(f"{k} {v}" for k, v in mal["cases"].items())]
    s = r["samples"]
    if s:
        step = max(1, len(s) // 20)
        rows = s[::step] + ([s[-1]] if (len(s) - 1) % step else [])
        lines += ["", "## Memory and descriptors over time", "",
                  "| t (s) | VmRSS MiB | VmHWM MiB | fds | client connections | TCP mem pages "
                  "(machine) |", "|---|---|---|---|---|---|"]
        for x in rows:
            lines.append(f"| {x['t']:.0f} | {x['rss'] / MIB:.1f} | {x['hwm'] / MIB:.1f} | "
                         f"{x['fds']} | {x['clients']} | {x['tcp_mem_pages']} |")
        if r["final"]:
            lines.append(f"| end (clients gone) | {r['final']['rss'] / MIB:.1f} | "
                         f"{r['final']['hwm'] / MIB:.1f} | {r['final']['fds']} | 0 | |")
    if r["plot"]:
        lines += ["", "![memory and fds over time](memory.png)"]
    (out / "report.md").write_text("\n".join(lines) + "\n")
