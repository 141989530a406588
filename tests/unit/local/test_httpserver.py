"""The local stack's HTTP server on the wire: how its answers leave, seen by a raw socket client.

Responses are written through a buffer (one send for headers and body); an interim `100 Continue` must still
leave at once, or a client that asks for it (curl, for any body over 1 KB) waits before sending its body.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from xrayctl.local.httpserver import LoopbackHTTPServer, Request, Response
from xrayctl.local.xray.api import XRayApiServer
from xrayctl.local.xray.store import TraceStore

# Not a speed limit: only how long a broken server may hang the test before it fails instead.
_HANG_GUARD = 20.0


@pytest.fixture
def api(tmp_path: Path) -> Iterator[XRayApiServer]:
    store = TraceStore(tmp_path / "traces.sqlite")
    server = XRayApiServer(store).start()
    try:
        yield server
    finally:
        server.stop()
        store.close()


def _read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    """One response's head and body, read by its Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head, body


def test_expect_100_continue_is_answered_before_the_body_is_sent(api: XRayApiServer) -> None:
    document = {"id": "0123456789abcdef", "trace_id": "1-5f000000-0123456789abcdef01234567"}
    document.update(name="curl-client", start_time=1.6e9, end_time=1.6e9 + 1)
    body = json.dumps({"TraceSegmentDocuments": [json.dumps(document)]}).encode()
    port = api.url.rsplit(":", 1)[1]
    with socket.create_connection(("127.0.0.1", int(port)), timeout=_HANG_GUARD) as sock:
        sock.sendall(
            b"POST /TraceSegments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        interim = b""
        while b"\r\n\r\n" not in interim:  # nothing else is sent until the server says continue
            chunk = sock.recv(1)
            assert chunk, "the server closed the connection instead of answering 100 Continue"
            interim += chunk
        assert interim.startswith(b"HTTP/1.1 100")
        sock.sendall(body)
        head, answer = _read_response(sock)
        assert head.startswith(b"HTTP/1.1 200")
        assert json.loads(answer) == {"UnprocessedTraceSegments": []}
        # The connection is kept alive: a second request on it is answered too.
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head, answer = _read_response(sock)
        assert head.startswith(b"HTTP/1.1 200")
        assert json.loads(answer)["documents"] == 1


def _raw_request(server: LoopbackHTTPServer, request: bytes) -> tuple[bytes, bytes]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=_HANG_GUARD) as sock:
        sock.sendall(request)
        return _read_response(sock)


@pytest.fixture
def echo() -> Iterator[LoopbackHTTPServer]:
    """A server with the Lambda Runtime API's limits, answering with what it saw of the request."""

    def handler(request: Request) -> Response:
        cause = request.headers.get("X-Cause", "")
        return Response.json(
            200, {"cause_length": len(cause), "body": len(request.body), "size": request.body_size}
        )

    server = LoopbackHTTPServer(
        handler, max_body=1000, max_header_bytes=300_000, read_oversize_body=True
    ).start()
    try:
        yield server
    finally:
        server.stop()


def test_a_header_line_over_64_kb_reaches_a_server_that_allows_it(echo: LoopbackHTTPServer) -> None:
    cause = "c" * 200_000
    head, body = _raw_request(
        echo,
        f"POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Cause: {cause}\r\nContent-Length: 2\r\n\r\nhi".encode(),
    )
    assert head.startswith(b"HTTP/1.1 200") and json.loads(body) == {
        "cause_length": 200_000,
        "body": 2,
        "size": 2,
    }


def test_headers_over_the_servers_limit_are_refused_with_431(echo: LoopbackHTTPServer) -> None:
    head, _ = _raw_request(
        echo, f"GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Cause: {'c' * 400_000}\r\n\r\n".encode()
    )
    assert head.startswith(b"HTTP/1.0 431") or head.startswith(b"HTTP/1.1 431")


def test_an_oversize_body_is_read_and_its_size_given_to_the_route(echo: LoopbackHTTPServer) -> None:
    # The client has sent the whole body before the answer: it must get the answer, not a reset connection.
    head, body = _raw_request(
        echo, b"POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n" + b"b" * 5000
    )
    assert head.startswith(b"HTTP/1.1 200") and json.loads(body) == {
        "cause_length": 0,
        "body": 0,
        "size": 5000,
    }
