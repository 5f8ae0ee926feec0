"""The asyncio clients of tools/soak, one coroutine per client, each looping until the
run's end: pipelining, slow-but-valid, admin scrapes (valid: every request must be
answered 2xx), malformed, slowloris and slow bodies, aborted and non-reading clients.
Only 127.0.0.1 is connected to; every wait is bounded."""

import asyncio
import socket
import struct
import time
from collections import Counter

import soak_http as http

GRACE_S = 5.0  # beyond the service's own timeout, before a connection counts as hung


class Category:
    """Counts for one kind of client. `valid`: every request must get a 2xx; `silent`:
    no answer is awaited (aborted and non-reading clients), only the service's memory
    and descriptors judge them."""

    def __init__(self, name, valid, silent=False):
        self.name, self.valid, self.silent = name, valid, silent
        self.connections = 0
        self.sent = 0           # requests (valid) or probes (others) started
        self.answered = 0       # complete HTTP responses
        self.statuses = Counter()
        self.closed = 0         # closed or reset without a (complete) response
        self.hung = 0           # neither answer nor close by the deadline
        self.unanswered = 0     # valid requests without a response
        self.cut = 0            # still open when the run ended (not a failure)
        self.bytes_sent = 0
        self.cases = Counter()  # malformed: status (or outcome) per case

    def answer(self, status):
        self.answered += 1
        self.statuses[str(status)] += 1

    def non_2xx(self):
        return sum(n for s, n in self.statuses.items() if not s.startswith("2"))

    def to_json(self):
        d = {k: getattr(self, k) for k in ("name", "valid", "silent", "connections", "sent", "answered",
                                           "closed", "hung", "unanswered", "cut", "bytes_sent")}
        d["statuses"] = dict(sorted(self.statuses.items()))
        d["non_2xx"] = self.non_2xx()
        if self.cases:
            d["cases"] = dict(sorted(self.cases.items()))
        return d


class Load:
    def __init__(self, port, admin_port, end_at, limits):
        self.port, self.admin_port, self.end_at = port, admin_port, end_at
        self.host = "127.0.0.1"
        self.admin_host = f"127.0.0.1:{admin_port}"
        self.limits = limits  # header_timeout_s, body_timeout_s, max_header_bytes, max_body_bytes
        self.open_connections = 0
        self.cats = {}
        self.seq = 0
        self.last_metrics = b""

    def cat(self, name, valid=False, silent=False):
        if name not in self.cats:
            self.cats[name] = Category(name, valid, silent)
        return self.cats[name]

    def running(self):
        return time.monotonic() < self.end_at

    def left(self):
        return max(0.0, self.end_at - time.monotonic())

    async def connect(self, cat, port=None):
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port or self.port, limit=1 << 20), 5)
        self.open_connections += 1
        cat.connections += 1
        return reader, writer

    async def connect_or_back_off(self, cat, port=None):
        """connect(), or None after counting the failure and waiting a second."""
        try:
            return await self.connect(cat, port)
        except (OSError, asyncio.TimeoutError):
            cat.closed += 1
            await asyncio.sleep(1)
            return None

    def close(self, writer, abort=False):
        if abort:
            # RST instead of FIN: the abrupt disconnect of a crashed or killed client.
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort() if abort else writer.close()
        self.open_connections -= 1

    async def send(self, cat, writer, data):
        writer.write(data)
        cat.bytes_sent += len(data)
        await asyncio.wait_for(writer.drain(), 10)

    # ---- valid clients -------------------------------------------------------------

    async def pipelining(self, batch=24, batches_per_connection=20, pause_s=0.25):
        """Batches larger than the service's 16 in flight (/livez, /readyz, /health,
        authorizations); every response
        read in order. A connection serves several batches, then a fresh one is opened."""
        cat = self.cat("pipelining", valid=True)
        while self.running():
            connection = await self.connect_or_back_off(cat)
            if connection is None:
                continue
            reader, writer = connection
            try:
                for _ in range(batches_per_connection):
                    if not self.running():
                        break
                    data = b""
                    for j in range(batch):
                        self.seq += 1
                        kind = self.seq % 4
                        if kind == 0:
                            data += http.get("/livez", self.host)
                        elif kind == 1:
                            data += http.get("/readyz", self.host)
                        elif kind == 2:
                            data += http.get("/health", self.host)
                        else:
                            head, body = http.authorize(self.seq, self.host)
                            data += head + body
                    cat.sent += batch
                    await self.send(cat, writer, data)
                    got = 0
                    try:
                        for _ in range(batch):
                            status, _, _ = await asyncio.wait_for(http.read_response(reader), 10)
                            cat.answer(status)
                            got += 1
                    finally:
                        cat.unanswered += batch - got
                    await asyncio.sleep(pause_s)
            except (http.Closed, OSError, asyncio.TimeoutError):
                cat.closed += 1
            finally:
                self.close(writer)

    async def slow_valid(self):
        """A complete, valid authorization trickled in pieces within the service's
        timeouts: head in 6 pieces, then (alternately) the body at once, in 5 pieces, or
        after `Expect: 100-continue`. Must be answered 200."""
        cat = self.cat("slow_valid", valid=True)
        n = 0
        while self.running():
            n += 1
            expect_continue = n % 3 == 0
            head, body = http.authorize(n, self.host,
                                        "Expect: 100-continue\r\n" if expect_continue else "")
            connection = await self.connect_or_back_off(cat)
            if connection is None:
                continue
            reader, writer = connection
            cat.sent += 1
            try:
                step = max(1, len(head) // 6)
                for i in range(0, len(head), step):
                    await self.send(cat, writer, head[i:i + step])
                    await asyncio.sleep(0.25)
                if expect_continue:
                    status, _, _ = await asyncio.wait_for(
                        http.read_response(reader, skip_informational=False), 10)
                    if status != 100:
                        cat.answer(status)
                        continue
                    await self.send(cat, writer, body)
                elif n % 3 == 1:
                    for i in range(0, len(body), 40):
                        await self.send(cat, writer, body[i:i + 40])
                        await asyncio.sleep(0.3)
                else:
                    await self.send(cat, writer, body)
                status, _, _ = await asyncio.wait_for(http.read_response(reader), 10)
                cat.answer(status)
            except (http.Closed, OSError, asyncio.TimeoutError):
                cat.unanswered += 1
            finally:
                self.close(writer)
            await asyncio.sleep(0.2)

    async def admin_scrapes(self, interval_s=1.0):
        """Prometheus-like: GET /metrics on a keep-alive admin connection every second."""
        cat = self.cat("admin_scrape", valid=True)
        reader = writer = None
        while self.running():
            try:
                if writer is None:
                    reader, writer = await self.connect(cat, self.admin_port)
                cat.sent += 1
                await self.send(cat, writer, http.get("/metrics", self.admin_host))
                status, headers, body = await asyncio.wait_for(http.read_response(reader), 10)
                cat.answer(status)
                self.last_metrics = body
                if headers.get("connection", "").lower() == "close":
                    self.close(writer)
                    writer = None
            except (http.Closed, OSError, asyncio.TimeoutError):
                cat.unanswered += 1
                if writer is not None:
                    self.close(writer)
                    writer = None
            await asyncio.sleep(interval_s)
        if writer is not None:
            self.close(writer)

    # ---- hostile clients -------------------------------------------------------------

    async def _await_verdict(self, cat, reader, deadline_s, label=None):
        """Waits for a response or a close, up to deadline_s (or the run's end)."""
        wait = min(deadline_s, self.left() + 0.5)
        try:
            status, _, _ = await asyncio.wait_for(http.read_response(reader), wait)
            cat.answer(status)
            if label:
                cat.cases[f"{label}:{status}"] += 1
        except http.Closed:
            cat.closed += 1
            if label:
                cat.cases[f"{label}:closed"] += 1
        except asyncio.TimeoutError:
            if wait < deadline_s:
                cat.cut += 1
            else:
                cat.hung += 1
                if label:
                    cat.cases[f"{label}:hung"] += 1

    async def malformed(self, offset, pause_s=0.1):
        """One malformed request per connection, round-robin over the cases; the service
        must answer (any status) or close, within its own timeouts plus a grace."""
        cat = self.cat("malformed")
        lim = self.limits
        cases = http.malformed_cases(self.host, lim["max_header_bytes"], lim["max_body_bytes"])
        deadline = lim["header_timeout_s"] + lim["body_timeout_s"] + GRACE_S
        i = offset
        while self.running():
            name, data = cases[i % len(cases)]
            i += 1
            connection = await self.connect_or_back_off(cat)
            if connection is None:
                continue
            reader, writer = connection
            cat.sent += 1
            try:
                # Two writes, cut in the middle: framing must not depend on read boundaries.
                await self.send(cat, writer, data[:len(data) // 2])
                await asyncio.sleep(0.01)
                await self.send(cat, writer, data[len(data) // 2:])
            except (OSError, asyncio.TimeoutError):
                pass  # the service may refuse before reading it all; its answer still counts
            await self._await_verdict(cat, reader, deadline, name)
            self.close(writer)
            await asyncio.sleep(pause_s)

    async def slowloris(self, n):
        """Never completes: a head trickled a byte a second (head timeout), a body
        trickled a byte a second (body timeout), or a connection that sends nothing. The
        service must answer (408) or close within its timeout plus a grace."""
        kinds = ("head_trickle", "body_trickle", "idle_open")
        kind = kinds[n % len(kinds)]
        cat = self.cat(f"slow_{kind}")
        lim = self.limits
        timeout = lim["body_timeout_s"] if kind == "body_trickle" else lim["header_timeout_s"]
        while self.running():
            connection = await self.connect_or_back_off(cat)
            if connection is None:
                continue
            reader, writer = connection
            cat.sent += 1
            start = time.monotonic()
            if kind == "head_trickle":
                first = f"POST /v1/authorize HTTP/1.1\r\nHost: {self.host}\r\nX-Slow: ".encode()
                trickle = b"a"
            elif kind == "body_trickle":
                first = (f"POST /v1/authorize HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: "
                         "application/json\r\nContent-Length: 4000\r\n\r\n").encode()
                trickle = b" "
            else:
                first, trickle = b"", b""
            try:
                if first:
                    await self.send(cat, writer, first)
                verdict = asyncio.ensure_future(
                    self._await_verdict(cat, reader, timeout + GRACE_S))
                while not verdict.done() and trickle:
                    await asyncio.sleep(1)
                    if verdict.done() or time.monotonic() - start > timeout + GRACE_S:
                        break
                    try:
                        await self.send(cat, writer, trickle)
                    except (OSError, asyncio.TimeoutError):
                        break
                await verdict
            except (OSError, asyncio.TimeoutError):
                cat.closed += 1
            finally:
                self.close(writer)
            await asyncio.sleep(0.2)

    async def aborted(self, pause_s=0.3):
        """Half a request, then a reset: the service must drop the connection quietly."""
        cat = self.cat("aborted", silent=True)
        n = 0
        while self.running():
            n += 1
            head, body = http.authorize(n, self.host)
            data = (head + body)[: (len(head) // 2 if n % 2 else len(head) + len(body) // 2)]
            try:
                _, writer = await self.connect(cat)
                cat.sent += 1
                await self.send(cat, writer, data)
                await asyncio.sleep(0.05)
                self.close(writer, abort=True)
            except (OSError, asyncio.TimeoutError):
                cat.closed += 1
            await asyncio.sleep(pause_s)

    async def non_reading(self, admin=False, hold_s=10.0, budget=64 * 1024):
        """Pipelines requests and never reads a byte (public: 64 KiB of GET /livez and
        authorizations; admin: 8 scrapes of /metrics), holds the connection, then resets
        it. What the service queues for it must be released."""
        cat = self.cat("non_reading_admin" if admin else "non_reading", silent=True)
        while self.running():
            try:
                _, writer = await self.connect(cat, self.admin_port if admin else None)
            except (OSError, asyncio.TimeoutError):
                cat.closed += 1
                await asyncio.sleep(1)
                continue
            hold_until = min(time.monotonic() + hold_s, self.end_at)
            try:
                if admin:
                    data = http.get("/metrics", self.admin_host) * 8
                else:
                    data = b""
                    while len(data) < budget:
                        self.seq += 1
                        if self.seq % 8 == 0:
                            head, body = http.authorize(self.seq, self.host)
                            data += head + body
                        else:
                            data += http.get("/livez", self.host)
                cat.sent += 1
                writer.write(data)
                cat.bytes_sent += len(data)
                # The service stops reading once its pipeline is full: drain may never end.
                try:
                    await asyncio.wait_for(writer.drain(),
                                           max(0.1, hold_until - time.monotonic()))
                except asyncio.TimeoutError:
                    pass
                await asyncio.sleep(max(0.0, hold_until - time.monotonic()))
            except OSError:
                cat.closed += 1
            finally:
                self.close(writer, abort=True)
            await asyncio.sleep(0.2)
