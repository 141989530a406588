"""A small threaded HTTP server on 127.0.0.1 that the local AWS stand-ins (X-Ray API, Lambda) are built on.

Loopback only, always: the stack has no authentication, so it must never listen on another interface, and it
answers only requests addressed to a loopback name (a web page using DNS rebinding names its own host).
Request bodies are bounded (`max_body`) and refused with 413 before they are read, so a client cannot make the
stack hold an arbitrary amount of memory; so is a body without one plain Content-Length (chunked, negative,
repeated). Each request runs on its own daemon thread so one slow handler (a Lambda invocation that runs for
seconds) does not block the X-Ray reads that watch it.
"""

from __future__ import annotations

import email.parser
import io
import json
import sys
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"
DEFAULT_MAX_BODY = 16 * 1024 * 1024
_LOOPBACK_NAMES = frozenset({LOOPBACK, "localhost", "::1"})
_MAX_HEADERS = 100  # as the standard library's parser
REFUSED_HOST = "this server answers only requests to 127.0.0.1 or localhost"


def is_loopback_host(host: str | None, *, subdomains: bool = False) -> bool:
    """Whether a request's Host header names this machine (or is missing, as from HTTP/1.0 clients).

    Binding to loopback does not keep out a web page: through DNS rebinding (its own name made to resolve to
    127.0.0.1) the browser reaches the port, but still sends that name as the Host. `subdomains` also lets
    names under .localhost through (S3's virtual-hosted style, `bucket.localhost`), which browsers and most
    resolvers keep on this machine (RFC 6761); only the local S3 needs them.
    """
    if host is None:
        return True
    try:
        name = urlsplit(f"//{host}").hostname
    except ValueError:  # not a host at all, such as "[::1"
        return False
    return name is not None and (name in _LOOPBACK_NAMES or (subdomains and name.endswith(".localhost")))


class Request:
    """What a route handler sees of one HTTP request. `body_size` is the body's declared size: more than
    len(body) when a server that reads oversize bodies (`read_oversize_body`) threw it away."""

    def __init__(
        self,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
        body_size: int | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.body_size = len(body) if body_size is None else body_size

    def json(self) -> Any:
        return json.loads(self.body or b"{}")


class Response:
    def __init__(
        self, status: int = 200, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    @classmethod
    def json(cls, status: int, data: Any, headers: Mapping[str, str] | None = None) -> Response:
        merged = {"Content-Type": "application/json", **(headers or {})}
        return cls(status, json.dumps(data, separators=(",", ":")).encode(), merged)

    @classmethod
    def aws_error(cls, status: int, code: str, message: str) -> Response:
        """An error in the shape botocore's rest-json parser reads: the code in `x-amzn-ErrorType`."""
        # Both spellings: botocore reads `message` for the error text and `Message` for the modelled field.
        return cls.json(status, {"message": message, "Message": message}, {"x-amzn-ErrorType": code})


Handler = Callable[[Request], Response]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that goes away (a killed Lambda runtime, a Ctrl-C'd CLI) resets its connection: that is
        # normal here, and the core must not print a traceback about it on stderr.
        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError):
            super().handle_error(request, client_address)


class LoopbackHTTPServer:
    """Serve `handler` on 127.0.0.1:`port` (0 = an ephemeral port) from a background thread.

    `max_header_bytes` allows header lines longer than the standard library's 64 KB (the Lambda Runtime API
    takes an X-Ray cause of up to 1 MiB in one header). `read_oversize_body` reads a body over `max_body` and
    throws it away, calling the handler with an empty body and its size, for a route that must answer such a
    request itself (a client that already sent the body would otherwise see the connection reset, not the
    answer); the body is read in pieces, so memory stays bounded.
    """

    def __init__(
        self,
        handler: Handler,
        port: int = 0,
        max_body: int = DEFAULT_MAX_BODY,
        *,
        max_header_bytes: int | None = None,
        read_oversize_body: bool = False,
    ) -> None:
        self._handler = handler
        self._max_body = max_body
        self._max_header_bytes = max_header_bytes
        self._read_oversize_body = read_oversize_body
        self._server = _Server((LOOPBACK, port), self._request_class())
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> LoopbackHTTPServer:
        # A short poll interval: shutdown() waits for the loop to notice, and every --local command starts and
        # stops several servers.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name=f"http:{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _request_class(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class _RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: botocore reuses connections
            # Headers and body go out in separate writes; with Nagle on, the second waits for the client's
            # delayed ACK (~40 ms) on every keep-alive request. That would show up as empty time in traces.
            disable_nagle_algorithm = True
            # Buffered writes: the status line, headers and body leave in one send() at the flush in `_send`,
            # not one per header write and one for the body (a loopback send costs ~10 us of CPU each).
            wbufsize = -1

            def handle_expect_100(self) -> bool:
                # A client that asks to continue (curl, for a body over 1 KB) waits for this answer before it
                # sends the body: it cannot wait in the buffer until the response.
                self.send_response_only(100)
                self.end_headers()
                self.wfile.flush()
                return True

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the stack reports through its own counters, not a line per request on stderr

            def parse_request(self) -> bool:
                if outer._max_header_bytes is None:
                    return super().parse_request()
                return self._parse_request_with_long_headers(outer._max_header_bytes)

            def _parse_request_with_long_headers(self, limit: int) -> bool:
                """parse_request with header lines up to `limit` bytes in all: the standard library caps
                each at 64 KB. The standard parser checks the request line, given no headers; the headers
                are then read here and parsed by the same email parser, and the two header-driven steps it
                would have taken (Connection, Expect: 100-continue) are taken after it."""
                real_rfile, self.rfile = self.rfile, io.BytesIO(b"\r\n")
                try:
                    if not super().parse_request():
                        return False
                finally:
                    self.rfile = real_rfile
                lines: list[bytes] = []
                size = 0
                while True:
                    line = self.rfile.readline(limit - size + 1)
                    size += len(line)
                    if size > limit or len(lines) > _MAX_HEADERS:
                        self.close_connection = True
                        self.send_error(431, "Request header fields too large")
                        return False
                    if line in (b"\r\n", b"\n", b""):
                        break
                    lines.append(line)
                text = b"".join(lines).decode("iso-8859-1")
                self.headers = email.parser.Parser(_class=self.MessageClass).parsestr(text)
                connection = self.headers.get("Connection", "").lower()
                if connection == "close":
                    self.close_connection = True
                elif connection == "keep-alive" and self.protocol_version >= "HTTP/1.1":
                    self.close_connection = False
                expect = self.headers.get("Expect", "").lower()
                if expect == "100-continue" and self.request_version >= "HTTP/1.1":
                    return self.handle_expect_100()
                return True

            def _serve(self) -> None:
                foreign = self._foreign_host()
                length = foreign if foreign is not None else self._body_length()
                declared = None
                if isinstance(length, Response) and length.status == 413 and outer._read_oversize_body:
                    declared = int(self.headers["Content-Length"])
                    self._discard(declared)
                    length = 0
                if isinstance(length, Response):
                    self.close_connection = True  # the unread body would otherwise be parsed as a request
                    self._send(length)
                    return
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                request = Request(self.command, path, query, dict(self.headers.items()), body, declared)
                try:
                    response = outer._handler(request)
                except Exception as exc:  # noqa: BLE001 - one bad request must not take the server down
                    response = Response.aws_error(500, "ServiceException", f"{type(exc).__name__}: {exc}")
                self._send(response)

            def _discard(self, length: int) -> None:
                while length > 0:
                    chunk = self.rfile.read(min(length, 1 << 20))
                    if not chunk:
                        break
                    length -= len(chunk)

            def _foreign_host(self) -> Response | None:
                if is_loopback_host(self.headers.get("Host")):
                    return None
                return Response.aws_error(403, "AccessDeniedException", REFUSED_HOST)

            def _body_length(self) -> int | Response:
                """The body's size from a single, plain Content-Length, or the refusal to send instead."""
                # A chunked body would be left unread and parsed as the next request; the AWS APIs served
                # here always get a Content-Length from botocore.
                if "Transfer-Encoding" in self.headers:
                    return Response.aws_error(411, "LengthRequired", "a body needs a Content-Length")
                declared = self.headers.get_all("Content-Length") or ["0"]
                # Not int(): it takes "-1" (rfile.read(-1) reads until the client stops sending), "+5", " 5".
                if len(declared) != 1 or not (declared[0].isascii() and declared[0].isdigit()):
                    return Response.aws_error(400, "BadRequest", "Content-Length must be one byte count")
                if int(declared[0]) > outer._max_body:
                    return Response.aws_error(
                        413, "RequestEntityTooLarge", f"body over {outer._max_body} bytes"
                    )
                return int(declared[0])

            def _send(self, response: Response) -> None:
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)
                self.wfile.flush()

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        return _RequestHandler
