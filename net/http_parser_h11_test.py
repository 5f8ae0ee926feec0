#!/usr/bin/python3
"""Differential test: RequestParser (through net-parse-stream) against h11.

Generates seeded, bounded request streams that both parsers must accept (Content-Length
and chunked bodies with extensions and trailers, pipelining, keep-alive and close,
HTTP/1.0), feeds each to h11 and to our parser (in reads of random size), and compares
every request's method, target, body and end offset, and whether the stream ends inside
a request. h11 is looser than we are, so this checks boundaries, not strictness.

Intended differences (also in docs/api.md), each checked below on one stream that h11
accepts and we refuse or read otherwise; the generator produces none of them:
  1. obs-fold (a header line starting with SP/HT): h11 unfolds it; we answer 400.
  2. HTTP/1.0 with Transfer-Encoding: h11 reads it as chunked; we answer 400.
  3. Bare LF ending a head line: h11 accepts it; we answer 400 (CRLF only). (h11
     refuses it in chunk framing, as we do.)
  4. Content-Length with Transfer-Encoding: h11 lets chunked win; we answer 400.
  5. A chunk extension after an unquoted extension value (";a=b;c"): llhttp 8.1
     refuses it (400), h11 ignores extensions. Quoted values and names alone pass.
  6. HTTP/1.0 with Connection: keep-alive: h11 always closes after an HTTP/1.0
     request; we keep the connection open and read the next request.
  7. Limits: our head, chunk-size lines, extensions and trailers together are limited
     to MAX_HEADER_BYTES (431) and the body to MAX_BODY_BYTES (413); h11 only limits
     an incomplete event to 16 KiB. Generated streams stay well below all of these.
  8. A tab after a Content-Length or Transfer-Encoding value (trailing whitespace):
     llhttp 8.1 refuses it (400), h11 strips it. A space there is accepted by both.

Usage: http_parser_h11_test.py PATH/TO/net-parse-stream [STREAMS] [SEED]
"""

import json
import random
import subprocess
import sys

import h11

PARSE_STREAM = sys.argv[1]
STREAMS = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else 14


def fnv1a(data):
    h = 14695981039346656037
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


FRAMING_HEADERS = ("Content-Length", "Transfer-Encoding")


def rand_token(rng, alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", lo=1, hi=10):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def rand_case(rng, name):
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in name)


def ows(rng):
    return rng.choice(["", "", " ", "  ", "\t", " \t"])


def header(rng, name, value):
    # llhttp 8.1 refuses a tab after a Content-Length or Transfer-Encoding value (8).
    after = ows(rng).replace("\t", "") if name in FRAMING_HEADERS else ows(rng)
    return (rand_case(rng, name) + ":" + ows(rng) + value + after + "\r\n").encode()


def chunk_ext(rng):
    # Forms llhttp 8.1 accepts: names alone, quoted values, an unquoted value last.
    exts = [";" + rand_token(rng) + rng.choice(["", '="' + rand_token(rng) + ' x"'])
            for _ in range(rng.randint(0, 2))]
    if rng.random() < 0.3:
        exts.append(";" + rand_token(rng) + "=" + rand_token(rng))
    return "".join(exts)


def chunked(rng, body):
    out = b""
    at = 0
    while at < len(body):
        n = rng.randint(1, max(1, len(body) - at))
        size = "%x" % n
        out += (rng.choice([size, size.upper(), "0" + size]) + chunk_ext(rng) + "\r\n").encode()
        out += body[at:at + n] + b"\r\n"
        at += n
    out += ("0" + chunk_ext(rng) + "\r\n").encode()
    for _ in range(rng.choice([0, 0, 1, 2])):
        out += header(rng, "X-Trailer-" + rand_token(rng), rand_token(rng))
    return out + b"\r\n"


def request(rng, last):
    """One valid request; returns (bytes, keeps_alive)."""
    http10 = rng.random() < 0.15
    method = rng.choice(["GET", "POST", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
    target = "/" + "/".join(rand_token(rng) for _ in range(rng.randint(0, 3)))
    if rng.random() < 0.3:
        target += "?" + rand_token(rng) + "=" + rand_token(rng, alphabet="abc%20+/:@!$&'()*,;=")
    head = ("%s %s HTTP/1.%d\r\n" % (method, target, 0 if http10 else 1)).encode()
    headers = []
    if not http10 or rng.random() < 0.5:
        headers.append(header(rng, "Host", rng.choice(["example.test", "127.0.0.1:8080", "a"])))
    for _ in range(rng.randint(0, 4)):
        headers.append(header(rng, "X-" + rand_token(rng),
                              rand_token(rng, alphabet="abc xyz\t,;=/\"'(){}", lo=1, hi=20).strip()))
    body = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 2, 17, 100, 1000])))
    framing = rng.choice(["none", "length", "length", "chunked", "chunked"])
    if method in ("GET", "HEAD", "DELETE", "OPTIONS") and rng.random() < 0.7:
        framing = "none"
    if http10 and framing == "chunked":
        framing = "length"
    if framing == "none":
        body = b""
        if rng.random() < 0.2:
            headers.append(header(rng, "Content-Length", "0"))
    elif framing == "length":
        headers.append(header(rng, "Content-Length", str(len(body))))
    else:
        headers.append(header(rng, "Transfer-Encoding", rng.choice(["chunked", "Chunked"])))
    # Keep-alive: h11 never keeps an HTTP/1.0 connection (difference 6), so an HTTP/1.0
    # request ends its stream, and an HTTP/1.1 one sometimes closes it.
    close = http10 or (rng.random() < (0.6 if last else 0.05))
    if close and not http10:
        headers.append(header(rng, "Connection", "close"))
    elif not close:
        headers.append(header(rng, "Connection", rng.choice(["keep-alive", "Keep-Alive, foo"])))
    rng.shuffle(headers)
    out = head + b"".join(headers) + b"\r\n"
    out += chunked(rng, body) if framing == "chunked" else body
    return out, not close


def stream(rng):
    data = b""
    count = rng.randint(1, 5)
    for i in range(count):
        req, alive = request(rng, i == count - 1)
        data += req
        if not alive:
            break
    if rng.random() < 0.15:
        data = data[:rng.randrange(1, len(data))]  # ends inside a request
    return data


def h11_view(data):
    """h11's reading of a stream: (requests, incomplete), each request a dict."""
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    out = []
    current = None
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            trailing, _ = conn.trailing_data
            return out, current is not None or len(trailing) > 0
        if event is h11.PAUSED:
            if conn.their_state is not h11.DONE or conn.our_state is not h11.DONE:
                return out, False
            conn.start_next_cycle()
            continue
        if isinstance(event, h11.Request):
            current = {"method": event.method.decode(), "target_hex": event.target.hex(),
                       "body": b""}
        elif isinstance(event, h11.Data):
            current["body"] += event.data
        elif isinstance(event, h11.EndOfMessage):
            trailing, _ = conn.trailing_data
            body = current.pop("body")
            current.update(body_len=len(body), body_fnv=fnv1a(body), end=len(data) - len(trailing))
            out.append(current)
            current = None
            conn.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
            conn.send(h11.EndOfMessage())
            if conn.their_state is not h11.DONE or conn.our_state is not h11.DONE:
                return out, False  # the request closes the connection
            conn.start_next_cycle()
        else:
            raise AssertionError("unexpected h11 event %r" % (event,))


def ours(streams, pieces):
    payload = b"".join(b"%d %d\n" % (len(s), p) + s for s, p in zip(streams, pieces))
    result = subprocess.run([PARSE_STREAM], input=payload, capture_output=True, timeout=60)
    if result.returncode != 0:
        raise SystemExit("net-parse-stream failed: %s" % result.stderr.decode())
    views = [{"requests": [], "incomplete": False, "error": None} for _ in streams]
    for line in result.stdout.decode().splitlines():
        item = json.loads(line)
        view = views[item["stream"]]
        if "request" in item:
            r = item["request"]
            r.pop("keep_alive")
            view["requests"].append(r)
        elif "error" in item:
            view["error"] = (item["error"], item["at"])
        else:
            view["incomplete"] = True
    return views


# Difference cases: h11 reads a request, we refuse the stream or read on.
HEAD = b"POST / HTTP/1.1\r\nHost: a\r\n"
DIFFERENCES = [
    ("obs-fold", HEAD + b"X-A: one\r\n two\r\nContent-Length: 0\r\n\r\n", "error"),
    ("obs-fold after an empty first line", HEAD + b"Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
     "error"),
    ("HTTP/1.0 with Transfer-Encoding",
     b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n", "error"),
    ("bare LF", b"GET / HTTP/1.1\nHost: a\n\n", "error"),
    ("Content-Length with Transfer-Encoding",
     HEAD + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "error"),
    ("extension after an unquoted value",
     HEAD + b"Transfer-Encoding: chunked\r\n\r\n1;a=b;c\r\nx\r\n0\r\n\r\n", "error"),
    ("tab after a Content-Length value", HEAD + b"Content-Length: 1\t\r\n\r\nx", "error"),
    ("tab after a Transfer-Encoding value",
     HEAD + b"Transfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n", "error"),
    ("HTTP/1.0 keep-alive",
     b"GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n", "more"),
]


def check_differences():
    failures = []
    views = ours([d[1] for d in DIFFERENCES], [0] * len(DIFFERENCES))
    for (name, data, expect), view in zip(DIFFERENCES, views):
        try:
            theirs, _ = h11_view(data)
        except h11.RemoteProtocolError:
            theirs = []
        if not theirs:
            failures.append("difference '%s': h11 no longer accepts it" % name)
        if expect == "error" and view["error"] is None:
            failures.append("difference '%s': we accept it" % name)
        if expect == "more" and len(view["requests"]) <= len(theirs):
            failures.append("difference '%s': we read no more than h11" % name)
    return failures


def main():
    rng = random.Random(SEED)
    streams = [stream(rng) for _ in range(STREAMS)]
    pieces = [rng.choice([0, 0, 1, 2, 3, 7, 64, rng.randint(1, max(1, len(s)))]) for s in streams]
    views = ours(streams, pieces)
    failures = check_differences()
    requests = 0
    for i, (data, view) in enumerate(zip(streams, views)):
        try:
            theirs, incomplete = h11_view(data)
        except h11.RemoteProtocolError as e:
            failures.append("stream %d: h11 refuses a generated stream (%s): %r" % (i, e, data[:400]))
            continue
        requests += len(theirs)
        mine = {"requests": view["requests"], "incomplete": view["incomplete"],
                "error": view["error"]}
        want = {"requests": theirs, "incomplete": incomplete, "error": None}
        if mine != want:
            failures.append("stream %d (seed %d, piece %d): %r\n  ours: %s\n  h11:  %s" % (
                i, SEED, pieces[i], data[:400], json.dumps(mine), json.dumps(want)))
    for f in failures[:10]:
        print(f, file=sys.stderr)
    print("%d streams, %d requests compared, %d mismatches, %d differences checked" % (
        len(streams), requests, len(failures), len(DIFFERENCES)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
