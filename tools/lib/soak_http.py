"""HTTP/1.1 bytes for tools/soak: the requests it sends (valid and malformed) and an
asyncio reader for the responses that come back."""

import asyncio
import json
import random

# Luhn-valid cards of each network, plus one Luhn-invalid (answered 200 declined).
CARDS = ["4111111111111111", "5555 5555 5555 4444", "378282246310005", "6011-1111-1111-1117",
         "2223003122003222", "4111111111111112"]
AMOUNTS = [("USD", "12.34"), ("EUR", "2450.00"), ("JPY", "1500"), ("KWD", "1.234"),
           ("GBP", "0.99"), ("BRL", "1000")]


def card_digits():
    """Every card number sent, digits only: none may appear in logs or metrics."""
    return [c.replace(" ", "").replace("-", "") for c in CARDS]


def authorize_body(i):
    currency, amount = AMOUNTS[i % len(AMOUNTS)]
    return json.dumps({"card_number": CARDS[i % len(CARDS)], "currency": currency,
                       "amount": amount, "merchant": f"Soak Merchant {i % 7}"},
                      separators=(",", ":")).encode()


def authorize(i, host, extra=""):
    body = authorize_body(i)
    head = (f"POST /v1/authorize HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n").encode()
    return head, body


def get(path, host, method="GET"):
    return f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


class Closed(Exception):
    """The peer closed (or reset) the connection before a complete response."""


async def read_response(reader, head_request=False, skip_informational=True):
    """One complete response: (status, headers, body). Raises Closed when the stream
    ends first. Bodies framed by Content-Length, chunked, or the end of the stream."""
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError) as e:
            raise Closed() from e
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise Closed()  # not HTTP: as good as no answer
        status = int(parts[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200:
            if skip_informational:
                continue
            return status, headers, b""
        try:
            if head_request or status in (204, 304):
                body = b""
            elif "chunked" in headers.get("transfer-encoding", "").lower():
                body = await _read_chunked(reader)
            elif "content-length" in headers:
                body = await reader.readexactly(int(headers["content-length"]))
            else:
                body = await reader.read()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError,
                ValueError) as e:
            raise Closed() from e
        return status, headers, body


async def _read_chunked(reader):
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return body
        body += await reader.readexactly(size)
        await reader.readexactly(2)


def _chunked(body, size):
    out = b""
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += f"{len(part):x}\r\n".encode() + part + b"\r\n"
    return out + b"0\r\n\r\n"


def malformed_cases(host, max_header_bytes, max_body_bytes):
    """(name, bytes) pairs: framing errors, bad JSON and fields, oversized heads and
    bodies, request-smuggling shapes. Each goes on a fresh connection; whatever the
    service does (4xx, or 200 where it is lenient today), it must answer or close."""
    ok = authorize_body(0)
    ct = "Content-Type: application/json\r\n"

    def post(body, extra=""):
        return (f"POST /v1/authorize HTTP/1.1\r\nHost: {host}\r\n{ct}"
                f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body

    rng = random.Random(14)
    chunked_head = f"POST /v1/authorize HTTP/1.1\r\nHost: {host}\r\n{ct}Transfer-Encoding: chunked\r\n\r\n"
    return [
        ("bad_json", post(b'{"card_number":"4111111111111111","currency":')),
        ("json_array", post(b"[1,2,3]")),
        ("json_trailing", post(ok + b"{}")),
        ("bad_amount", post(b'{"card_number":"4111111111111111","currency":"USD","amount":"-5",'
                            b'"merchant":"m"}')),
        ("duplicate_key", post(b'{"card_number":"4111111111111111","card_number":"1",'
                               b'"currency":"USD","amount":"1","merchant":"m"}')),
        ("wrong_content_type", post(ok).replace(b"application/json", b"text/plain")),
        ("oversized_header", (f"GET /livez HTTP/1.1\r\nHost: {host}\r\nX-Big: "
                              f"{'a' * (max_header_bytes + 1024)}\r\n\r\n").encode()),
        ("too_many_headers", (f"GET /livez HTTP/1.1\r\nHost: {host}\r\n" +
                              "".join(f"X-H{i}: v\r\n" for i in range(80)) + "\r\n").encode()),
        # The head alone: the service must refuse the length without waiting for the body.
        ("oversized_body_length", (f"POST /v1/authorize HTTP/1.1\r\nHost: {host}\r\n{ct}"
                                   f"Content-Length: {max_body_bytes * 4}\r\n\r\n").encode()),
        ("oversized_chunked_body", chunked_head.encode() +
         _chunked(b"x" * (max_body_bytes + 4096), 4096)),
        ("bad_content_length", post(ok).replace(f"Content-Length: {len(ok)}".encode(),
                                                b"Content-Length: 1x2")),
        ("double_content_length", post(ok, f"Content-Length: {len(ok) + 5}\r\n")),
        ("cl_and_te", (f"POST /v1/authorize HTTP/1.1\r\nHost: {host}\r\n{ct}Content-Length: 4\r\n"
                       f"Transfer-Encoding: chunked\r\n\r\n").encode() + _chunked(ok, 64)),
        ("bad_chunk_size", chunked_head.encode() + b"zz\r\n" + ok + b"\r\n0\r\n\r\n"),
        ("chunk_junk_after_data", chunked_head.encode() +
         f"{len(ok):x}\r\n".encode() + ok + b"XY0\r\n\r\n"),
        ("huge_chunk_extensions", chunked_head.encode() +
         f"{len(ok):x};".encode() + b"e=" + b"x" * (max_header_bytes * 2) + b"\r\n" + ok +
         b"\r\n0\r\n\r\n"),
        ("te_obs_fold", (f"POST /v1/authorize HTTP/1.1\r\nHost: {host}\r\n{ct}Transfer-Encoding:\r\n"
                         " chunked\r\n\r\n").encode() + _chunked(ok, 64)),
        ("cl_bare_cr", post(ok).replace(b"Content-Length: ", b"Content-Length:\rjunk ")),
        ("http10_te_keep_alive", (f"POST /v1/authorize HTTP/1.0\r\nHost: {host}\r\n{ct}"
                                  "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n")
         .encode() + _chunked(ok, 64)),
        ("bare_lf_head", f"GET /livez HTTP/1.1\nHost: {host}\n\n".encode()),
        ("nul_in_header", f"GET /livez HTTP/1.1\r\nHost: {host}\r\nX-A: a\0b\r\n\r\n".encode()),
        ("non_ascii_target", f"GET /livez\xe9 HTTP/1.1\r\nHost: {host}\r\n\r\n".encode("latin-1")),
        ("bad_request_line", b"GARBAGE\r\n\r\n"),
        ("http_2_version", f"GET /livez HTTP/2.0\r\nHost: {host}\r\n\r\n".encode()),
        ("unknown_path", get("/nowhere", host)),
        ("wrong_method", get("/v1/authorize", host)),
        ("random_bytes", bytes(rng.randrange(256) for _ in range(2048))),
    ]
