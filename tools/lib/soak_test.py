#!/usr/bin/env python3
"""Unit tests of tools/soak's rules and response reader (seconds; no service needed):
  python3 tools/lib/soak_test.py"""

import asyncio
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import soak_http  # noqa: E402
import soak_verdict  # noqa: E402

MIB = 2**20


def run_report(**over):
    samples = [{"t": t, "rss": 20 * MIB, "hwm": 22 * MIB, "fds": 40, "clients": 30,
                "tcp_mem_pages": 1} for t in range(0, 62, 2)]
    r = {"crashed": None, "exit_status": 0, "killed_after_sigterm": False,
         "authload": {"status": 0, "sent": 100, "answered": 100, "unanswered": 0, "non_2xx": 0,
                      "errors": {}, "statuses": {"200": 100}},
         "categories": [
             {"name": "pipelining", "valid": True, "sent": 48, "answered": 48, "unanswered": 0,
              "non_2xx": 0, "statuses": {"200": 48}, "closed": 0, "hung": 0, "cut": 0},
             {"name": "malformed", "valid": False, "sent": 10, "answered": 9, "unanswered": 0,
              "non_2xx": 9, "statuses": {"400": 9}, "closed": 1, "hung": 0, "cut": 0}],
         "samples": samples, "warmup_s": 15, "idle": {"rss": 5 * MIB, "hwm": 5 * MIB, "fds": 10},
         "final": {"rss": 20 * MIB, "hwm": 22 * MIB, "fds": 10},
         "card_numbers_leaked_last4": []}
    r.update(over)
    return r


def failed(r):
    return [c["name"] for c in soak_verdict.checks(r) if not c["ok"]]


class Verdict(unittest.TestCase):
    def test_steady_run_passes(self):
        self.assertEqual(failed(run_report()), [])

    def test_crash_fails(self):
        self.assertIn("no crash", failed(run_report(crashed="exited with status -11")))
        self.assertIn("no crash", failed(run_report(exit_status=1)))

    def test_unanswered_or_non_2xx_valid_request_fails(self):
        r = run_report()
        r["categories"][0].update(answered=47, unanswered=1)
        self.assertIn("valid requests answered (pipelining)", failed(r))
        r = run_report()
        r["authload"].update(non_2xx=1)
        self.assertIn("valid authorizations answered (authload)", failed(r))

    def test_hung_hostile_connection_fails_closed_does_not(self):
        r = run_report()
        r["categories"][1].update(hung=1)
        self.assertIn("hostile connections resolved (malformed)", failed(r))

    def test_rss_growth_after_warmup_beyond_margin_fails(self):
        r = run_report()
        r["samples"][-1]["rss"] = 20 * MIB + 8 * MIB  # exactly the margin: pass
        self.assertEqual(failed(r), [])
        r["samples"][-1]["rss"] = 20 * MIB + 8 * MIB + 4096
        self.assertIn("VmRSS after warm-up", failed(r))
        big = run_report()
        for s in big["samples"]:
            s["rss"] = 100 * MIB
        big["samples"][-1]["rss"] = 119 * MIB  # 20 % of 100 MiB is the margin
        self.assertEqual(failed(big), [])

    def test_hwm_growth_fails(self):
        r = run_report()
        r["samples"][-1]["hwm"] = 40 * MIB
        self.assertIn("VmHWM after warm-up", failed(r))

    def test_fd_leak_fails(self):
        r = run_report(final={"rss": 1, "hwm": 1, "fds": 11})
        self.assertIn("fds back to baseline after the clients left", failed(r))
        r = run_report()
        r["samples"][20]["fds"] = 10 + 30 + soak_verdict.FD_SLACK + 1
        self.assertIn("open fds within the clients' connections", failed(r))

    def test_card_in_logs_fails(self):
        self.assertIn("no card number in logs or metrics",
                      failed(run_report(card_numbers_leaked_last4=["1111"])))


def read(data, **kw):
    async def go():
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        out = []
        while True:
            try:
                out.append(await soak_http.read_response(reader, **kw))
            except soak_http.Closed:
                return out
    return asyncio.run(go())


class Reader(unittest.TestCase):
    def test_pipelined_content_length_and_chunked(self):
        got = read(b"HTTP/1.1 100 Continue\r\n\r\n"
                   b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                   b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"3\r\nabc\r\n0\r\n\r\n")
        self.assertEqual([(s, b) for s, _, b in got], [(200, b"ok"), (400, b"abc")])

    def test_truncated_response_is_closed(self):
        self.assertEqual(read(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nok"), [])
        self.assertEqual(read(b"garbage\r\n\r\n"), [])

    def test_head_response_has_no_body(self):
        got = read(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", head_request=True)
        self.assertEqual([(s, b) for s, _, b in got], [(200, b"")])

    def test_malformed_cases_are_distinct_and_bounded(self):
        cases = soak_http.malformed_cases("h", 8192, 16384)
        self.assertEqual(len({n for n, _ in cases}), len(cases))
        self.assertTrue(all(0 < len(b) < 64 * 1024 for _, b in cases))


if __name__ == "__main__":
    unittest.main()
