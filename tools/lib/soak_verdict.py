"""The pass/fail rules of tools/soak, as pure functions of the run's figures."""

MIB = 2**20
RSS_MARGIN_MIN = 8 * MIB
RSS_MARGIN_FRACTION = 0.20
FD_SLACK = 32  # descriptors the service may hold beyond the clients' own connections


def rss_margin(reference):
    return max(RSS_MARGIN_MIN, RSS_MARGIN_FRACTION * reference)


def authload_summary(report, status):
    """authload's counts for the valid authorizations it sent."""
    if report is None:
        return {"status": status, "sent": 0, "answered": 0, "unanswered": 0, "non_2xx": 0,
                "errors": {}, "statuses": {}}
    req = report["requests"]
    statuses = report.get("status_codes", {})
    non_2xx = sum(n for s, n in statuses.items() if not str(s).startswith("2"))
    transport = {k: v for k, v in report.get("errors", {}).items()
                 if not k.startswith("http_") and v}
    # Each scheduled request ends in one response or one error (a late answer, after
    # authload's 10 s timeout, counts as unanswered).
    sent = max(req["scheduled"], req["sent"])
    return {"status": status, "sent": sent, "answered": req["responses"],
            "unanswered": sent - req["responses"],
            "non_2xx": non_2xx, "errors": transport, "statuses": statuses,
            "latency_p99_ms": report["latency_us"]["p99"] / 1000 if report["latency_us"].get(
                "p99") is not None else None,
            "achieved_rate": report.get("achieved_rate")}


def checks(r):
    """[{name, ok, detail}] for a run report (see soak.py for the members)."""
    out = []

    def check(name, ok, detail):
        out.append({"name": name, "ok": bool(ok), "detail": detail})

    check("no crash", r["crashed"] is None and r["exit_status"] == 0 and
          not r["killed_after_sigterm"],
          r["crashed"] or (f"exit status {r['exit_status']} after SIGTERM" +
                           (" (killed: no exit within 30 s)" if r["killed_after_sigterm"] else "")))

    a = r["authload"]
    check("valid authorizations answered (authload)",
          a["status"] == 0 and a["sent"] > 0 and a["unanswered"] == 0 and a["non_2xx"] == 0,
          f"{a['answered']}/{a['sent']} answered, {a['non_2xx']} non-2xx, transport errors "
          f"{a['errors'] or 'none'}, exit status {a['status']}")
    for c in r["categories"]:
        if c["valid"]:
            check(f"valid requests answered ({c['name']})",
                  c["sent"] > 0 and c["unanswered"] == 0 and c["non_2xx"] == 0 and
                  c["answered"] == c["sent"],
                  f"{c['answered']}/{c['sent']} answered, {c['non_2xx']} non-2xx "
                  f"{c['statuses']}")
        elif c.get("silent"):
            check(f"clients ran ({c['name']}: no answer awaited)", c["sent"] > 0,
                  f"{c['sent']} connections, {c['bytes_sent']} bytes sent, never read")
        else:
            check(f"hostile connections resolved ({c['name']})",
                  c["sent"] > 0 and c["hung"] == 0,
                  f"{c['sent']} started: {c['answered']} answered {c['statuses']}, "
                  f"{c['closed']} closed without an answer, {c['hung']} hung, "
                  f"{c['cut']} cut at the end")

    samples = r["samples"]
    warm = [s for s in samples if s["t"] <= r["warmup_s"]]
    after = [s for s in samples if s["t"] > r["warmup_s"]]
    if not warm or not after:
        check("memory after warm-up", False, "too few samples (run shorter than the warm-up)")
    else:
        ref = max(s["rss"] for s in warm)
        peak = max(s["rss"] for s in after)
        limit = ref + rss_margin(ref)
        check("VmRSS after warm-up", peak <= limit,
              f"peak {peak / MIB:.1f} MiB vs warm-up peak {ref / MIB:.1f} MiB, limit "
              f"{limit / MIB:.1f} MiB")
        hwm_ref = warm[-1]["hwm"]
        hwm_end = after[-1]["hwm"]
        check("VmHWM after warm-up", hwm_end <= hwm_ref + rss_margin(hwm_ref),
              f"{hwm_ref / MIB:.1f} MiB at the warm-up's end, {hwm_end / MIB:.1f} MiB at the end, "
              f"limit {(hwm_ref + rss_margin(hwm_ref)) / MIB:.1f} MiB")
    base = r["idle"]["fds"]
    over = [s for s in samples if s["fds"] > base + s["clients"] + FD_SLACK]
    check("open fds within the clients' connections", not over,
          f"at most {max((s['fds'] for s in samples), default=0)} fds; limit baseline {base} + "
          f"client connections + {FD_SLACK}" +
          (f"; exceeded at t={over[0]['t']} s ({over[0]['fds']} fds, {over[0]['clients']} "
           f"client connections)" if over else ""))
    final = r["final"]
    check("fds back to baseline after the clients left",
          final is not None and final["fds"] <= base,
          f"{final['fds'] if final else 'n/a'} fds at the end, {base} idle")
    check("no card number in logs or metrics", not r["card_numbers_leaked_last4"],
          "none found" if not r["card_numbers_leaked_last4"] else
          f"found cards ending {', '.join(r['card_numbers_leaked_last4'])}")
    return out
