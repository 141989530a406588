"""A fault-injecting HTTP proxy for tests: stands between botocore and the local X-Ray API on 127.0.0.1.

Every request is forwarded to the real upstream (an `XRayApiServer`) unless a fault is due for its operation.
Faults are scripted per operation (`script`: one fault per request, in order, then the requests pass) or set
for every request (`always`). A fault either replaces the answer (a throttle, a 5xx, a dropped or reset
connection, an answer slower than the client's read timeout) or rewrites the upstream's real answer
(`UnprocessedTraceIds`, `LimitExceeded`, segments withheld as X-Ray does while it is still ingesting, a trace
retrieval that stays RUNNING or ends FAILED, CANCELLED or TIMEOUT).
`requests` records what every request met, so a test can check that the client's retries were bounded.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

# The X-Ray REST-JSON operations by path (botocore's model, 2016-04-12).
OPERATIONS = {
    "/Traces": "BatchGetTraces",
    "/TraceSummaries": "GetTraceSummaries",
    "/TraceSegments": "PutTraceSegments",
    "/GetTraceSegmentDestination": "GetTraceSegmentDestination",
    "/ServiceGraph": "GetServiceGraph",
    "/TraceGraph": "GetTraceGraph",
    "/UpdateTraceSegmentDestination": "UpdateTraceSegmentDestination",
    "/GetIndexingRules": "GetIndexingRules",
    "/UpdateIndexingRule": "UpdateIndexingRule",
    "/StartTraceRetrieval": "StartTraceRetrieval",
    "/ListRetrievedTraces": "ListRetrievedTraces",
    "/GetRetrievedTracesGraph": "GetRetrievedTracesGraph",
    "/CancelTraceRetrieval": "CancelTraceRetrieval",
}
# Not passed on: hop-by-hop headers, and those the proxy's own server writes.
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "server", "date"}


@dataclass(frozen=True)
class Fault:
    """What one request meets instead of (or on top of) the upstream's answer."""

    kind: str
    status: int = 200
    code: str = ""
    seconds: float = 0.0
    withheld: frozenset[str] = field(default_factory=frozenset)


def passing() -> Fault:
    """No fault: the upstream's answer as it is (a script's way to let a request through)."""
    return Fault("pass")


def throttle(code: str = "ThrottledException") -> Fault:
    """429 with X-Ray's error code (ThrottledException) or the generic AWS one (ThrottlingException)."""
    return Fault("error", status=429, code=code)


def bare_error(status: int) -> Fault:
    """An error as a load balancer or a corporate proxy sends it: no AWS error code, an HTML body."""
    return Fault("bare", status=status)


def server_error(status: int = 500) -> Fault:
    codes = {500: "InternalFailure", 502: "BadGateway", 503: "ServiceUnavailable"}
    return Fault("error", status=status, code=codes.get(status, "InternalFailure"))


def slow(seconds: float) -> Fault:
    """Answer (the upstream's real answer) only after `seconds`: past a short read timeout."""
    return Fault("slow", seconds=seconds)


def drop() -> Fault:
    """Read the request, then close the connection without a byte of answer."""
    return Fault("drop")


def reset_mid_body() -> Fault:
    """Send the status line, the headers and half of the upstream's body, then reset the connection (RST)."""
    return Fault("reset")


def unprocessed() -> Fault:
    """BatchGetTraces: every trace of the real answer moved to UnprocessedTraceIds."""
    return Fault("unprocessed")


def limit_exceeded() -> Fault:
    """BatchGetTraces: every trace of the real answer marked LimitExceeded (X-Ray returned part of it)."""
    return Fault("limit_exceeded")


def withhold(segment_ids: Iterable[str]) -> Fault:
    """BatchGetTraces: the real answer without these segments, as before X-Ray has ingested them."""
    return Fault("withhold", withheld=frozenset(segment_ids))


def retrieval_status(status: str) -> Fault:
    """ListRetrievedTraces: the real answer replaced by this RetrievalStatus and no trace (RUNNING forever
    when set `always`; FAILED, CANCELLED, TIMEOUT: the retrieval ended without the traces)."""
    return Fault("retrieval_status", code=status)


@dataclass(frozen=True)
class Seen:
    operation: str
    fault: str  # the fault's kind, or "pass"


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._scripts: dict[str, deque[Fault]] = {}
        self._always: dict[str, Fault] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[Seen] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll: shutdown() waits for it, and every test stops a proxy.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="fault-proxy", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes the slow answers
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(self, operation: str, *faults: Fault) -> FaultProxy:
        """The next requests to `operation` meet these faults, one each, in order; later ones pass."""
        with self._lock:
            self._scripts.setdefault(operation, deque()).extend(faults)
        return self

    def always(self, operation: str, fault: Fault | None) -> FaultProxy:
        """Every request to `operation` (once its script is used up) meets `fault`; None lets them pass."""
        with self._lock:
            if fault is None:
                self._always.pop(operation, None)
            else:
                self._always[operation] = fault
        return self

    def count(self, operation: str) -> int:
        with self._lock:
            return sum(1 for seen in self.requests if seen.operation == operation)

    def _next_fault(self, operation: str) -> Fault | None:
        with self._lock:
            queue = self._scripts.get(operation)
            fault = queue.popleft() if queue else self._always.get(operation)
            self.requests.append(Seen(operation, fault.kind if fault else "pass"))
            return fault

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, bytes]:
        connection = http.client.HTTPConnection(*self._upstream, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as botocore's pool expects of AWS

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                if proxy._stopping.is_set():  # stopped: nothing is answered, on a kept-alive connection too
                    self.close_connection = True
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                operation = OPERATIONS.get(self.path.split("?")[0].rstrip("/"), self.path)
                fault = proxy._next_fault(operation)
                try:
                    self._answer(fault, body)
                except OSError:  # the client gave up first (its read timeout): nothing to answer
                    self.close_connection = True

            def _answer(self, fault: Fault | None, body: bytes) -> None:
                kind = fault.kind if fault else "pass"
                if fault is not None and kind == "error":
                    message = f"injected {fault.code} ({fault.status})"
                    self._send(fault.status, {"x-amzn-ErrorType": fault.code}, {"message": message})
                    return
                if fault is not None and kind == "bare":
                    page = (
                        f"<html><body><h1>{fault.status} {self.responses[fault.status][0]}</h1></body></html>"
                    )
                    self._send_bytes(fault.status, {"Content-Type": "text/html"}, page.encode())
                    return
                if kind == "drop":
                    self.close_connection = True
                    return
                if fault is not None and kind == "slow" and proxy._stopping.wait(fault.seconds):
                    self.close_connection = True
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                status, upstream_headers, payload = proxy._forward(self.command, self.path, headers, body)
                answer_headers = {k: v for k, v in upstream_headers if k.lower() not in _HOP_BY_HOP}
                if fault is not None and kind in _REWRITES and status == 200:
                    payload = json.dumps(_REWRITES[kind](json.loads(payload), fault)).encode()
                if kind == "reset":
                    self._reset_after_half(status, answer_headers, payload)
                    return
                self._send_bytes(status, answer_headers, payload)

            def _send(self, status: int, headers: dict[str, str], data: Any) -> None:
                self._send_bytes(
                    status, {"Content-Type": "application/json", **headers}, json.dumps(data).encode()
                )

            def _send_bytes(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _reset_after_half(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True

        return Handler


def _unprocessed(answer: dict[str, Any], fault: Fault) -> dict[str, Any]:
    ids = [trace["Id"] for trace in answer.get("Traces", [])]
    return {**answer, "Traces": [], "UnprocessedTraceIds": answer.get("UnprocessedTraceIds", []) + ids}


def _limit_exceeded(answer: dict[str, Any], fault: Fault) -> dict[str, Any]:
    return {**answer, "Traces": [{**trace, "LimitExceeded": True} for trace in answer.get("Traces", [])]}


def _withhold(answer: dict[str, Any], fault: Fault) -> dict[str, Any]:
    traces = []
    for trace in answer.get("Traces", []):
        kept = [s for s in trace.get("Segments", []) if s.get("Id") not in fault.withheld]
        traces.append({**trace, "Segments": kept})
    return {**answer, "Traces": traces}


def _retrieval_status(answer: dict[str, Any], fault: Fault) -> dict[str, Any]:
    return {"RetrievalStatus": fault.code, "TraceFormat": answer.get("TraceFormat", "XRAY"), "Traces": []}


_REWRITES: dict[str, Callable[[dict[str, Any], Fault], dict[str, Any]]] = {
    "unprocessed": _unprocessed,
    "limit_exceeded": _limit_exceeded,
    "withhold": _withhold,
    "retrieval_status": _retrieval_status,
}
