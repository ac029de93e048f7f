"""No HTML, ever: every error nginx itself produces, on a node's nginx
(conf/nginx/bmc-manager.conf.in) and on the front (front.conf.in), is the
service's JSON envelope. Each malformed request is sent raw over a socket,
since no HTTP client library would send it."""
import json
import socket

import pytest

from fixtures_service import Service
from test_nodes import Front

BIG = b"a" * 9000  # over large_client_header_buffers' 8k line

# (name, raw request, expected HTTP status, expected error_code)
MALFORMED = [
    ("garbage request line", b"GARBAGE\r\n\r\n", 400, 4000),
    ("lowercase method", b"get /health HTTP/1.1\r\nHost: localhost\r\n\r\n", 400, 4000),
    ("no Host in HTTP/1.1", b"GET /health HTTP/1.1\r\n\r\n", 400, 4000),
    ("header line without colon",
     b"GET /health HTTP/1.1\r\nHost: localhost\r\nBad Header Line\r\n\r\n", 400, 4000),
    ("two Content-Lengths",
     b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
     b"\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400, 4000),
    ("Content-Length and chunked",
     b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 400, 4000),
    ("bad Content-Length",
     b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Length: -5\r\n\r\n",
     400, 4000),
    ("header too large",
     b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: " + BIG + b"\r\n\r\n",
     400, 4000),
    ("URI too long", b"GET /" + BIG + b" HTTP/1.1\r\nHost: localhost\r\n\r\n",
     414, 4000),
    ("unsupported Transfer-Encoding",
     b"POST /validate HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n",
     501, 4000),
    ("HTTP/2.0 on a plain listener",
     b"GET /health HTTP/2.0\r\nHost: localhost\r\n\r\n", 505, 4000),
    ("HTTP/3.0", b"GET /health HTTP/3.0\r\nHost: localhost\r\n\r\n", 505, 4000),
    ("malformed chunked body",
     b"POST /validate HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked"
     b"\r\n\r\nZZZ\r\n\r\n", 400, 4000),
    # The front's /tasks/ location has error pages of its own.
    ("malformed chunked body to /tasks/",
     b"POST /tasks/abc HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked"
     b"\r\n\r\nZZZ\r\n\r\n", 400, 4000),
]


def send_raw(port, data, timeout=10):
    """Send DATA on a fresh connection; the status, headers and body of the
    first response. (No half-close: a proxy takes it for an abort.)"""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # nginx may answer and close before reading it all
        raw = b""
        while not complete(raw):
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        k = k.strip().lower()
        if k in headers:
            headers["_dup_" + k] = v.strip()
        headers[k] = v.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = dechunk(body)
    elif "content-length" in headers:
        body = body[:int(headers["content-length"])]
    return status, headers, body


def complete(raw):
    """Whether RAW holds a whole response with a Content-Length."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if sep and k.strip().lower() == b"content-length":
            return len(body) >= int(v)
    return False


def dechunk(body):
    out = b""
    while body:
        size, _, rest = body.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            break
        out += rest[:n]
        body = rest[n + 2:]
    return out


def assert_envelope(status, headers, body, want_status, want_code, where):
    assert status == want_status, (where, status, body[:300])
    assert headers.get("content-type", "").startswith("application/json"), \
        (where, headers, body[:300])
    assert b"<html" not in body.lower(), (where, body[:300])
    env = json.loads(body)
    assert env["success"] is False, (where, env)
    assert env["error_code"] == want_code, (where, env)
    assert isinstance(env["message"], str) and env["details"], (where, env)
    assert "method" in env
    assert headers.get("x-request-id"), (where, headers)
    assert headers.get("_dup_x-request-id") is None, (where, "X-Request-ID twice")
    return env


@pytest.fixture(scope="module")
def node_and_front():
    node = Service({"BMC_MAX_WORKERS": 2, "BMC_LIGHT_WORKERS": 1})
    front = None
    try:
        node.start()
        front = Front([node]).start()
        yield {"node": node.port, "front": front.port}
    finally:
        if front:
            front.stop()
        node.stop()


@pytest.mark.valgrind
@pytest.mark.parametrize("where", ["node", "front"])
@pytest.mark.parametrize("name,raw,status,code", MALFORMED,
                         ids=[m[0] for m in MALFORMED])
def test_malformed_request_answers_json(node_and_front, where, name, raw,
                                        status, code):
    got = send_raw(node_and_front[where], raw)
    assert_envelope(*got, status, code, f"{where}: {name}")


# Static files (the API documentation) give nginx its own 405 and 412; whether the docs are installed or not, the answer is JSON.
STATIC = [
    ("POST to a static file",
     b"POST /openapi.json HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
     b"application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
     {405: 4050}),
    # The 405 (or 404) is answered, then discarding the body fails: that
    # second error gets its JSON page too (recursive_error_pages).
    ("malformed chunked body to a static file",
     b"POST /openapi.json HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: "
     b"chunked\r\n\r\nZZZ\r\n\r\n", {400: 4000}),
    # Ranges are off for the docs (max_ranges 0): the whole file, not 416.
    ("range not satisfiable",
     b"GET /openapi.json HTTP/1.1\r\nHost: localhost\r\nRange: bytes=999999999-\r\n"
     b"Connection: close\r\n\r\n", {200: None}),
    ("precondition failed",
     b"GET /openapi.json HTTP/1.1\r\nHost: localhost\r\nIf-Match: \"nope\"\r\n"
     b"Connection: close\r\n\r\n", {412: 4000}),
]


@pytest.mark.parametrize("where", ["node", "front"])
@pytest.mark.parametrize("name,raw,expect", STATIC, ids=[s[0] for s in STATIC])
def test_static_file_errors_answer_json(node_and_front, where, name, raw,
                                        expect):
    status, headers, body = send_raw(node_and_front[where], raw)
    # Not installed: 404 4040 for all of them.
    want = {**expect, 404: 4040}
    assert status in want, (where, name, status, body[:300])
    if status == 200:
        assert json.loads(body)["openapi"], (where, name)
        return
    assert_envelope(status, headers, body, status, want[status],
                    f"{where}: {name}")


def test_error_locations_are_internal(node_and_front):
    """/bmc-errors/... are error_page targets only: a client asking for one
    gets the daemon's 404, not a forged error."""
    for where in ("node", "front"):
        got = send_raw(node_and_front[where],
                       b"GET /bmc-errors/505 HTTP/1.1\r\nHost: localhost\r\n"
                       b"Connection: close\r\n\r\n")
        assert_envelope(*got, 404, 4040, where)
