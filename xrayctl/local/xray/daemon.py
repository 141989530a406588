"""The local X-Ray daemon: segment documents over UDP on 127.0.0.1, handed to a sink in batches.

The wire format is the real daemon's: each datagram is a header line `{"format":"json","version":1}`, a
newline, then one segment document. As in the real daemon (aws-xray-daemon, cmd/tracing/daemon.go), the header
is parsed as JSON, `format` is compared case-insensitively and `version` must be 1.

OpenTelemetry on Lambda sends to the same address (the ADOT distro's `OTLPUdpSpanExporter`): after the header,
`T1S` and the base64 of an OTLP protobuf ExportTraceServiceRequest of sampled spans (about 10 a datagram).
Those spans become segment documents by the awsxrayexporter's rules (`otlp`, `trace.otelxray`) and go to the
same sink. `T1U` datagrams carry unsampled spans, which X-Ray only turns into Application Signals metrics:
they are counted (`stats.unsampled`) and not stored.

Two threads. The receiver only reads datagrams and queues them, so it keeps up with a burst; the writer
parses, validates and batches them into `sink` (the trace store). Nothing is dropped silently: every X-Ray
datagram is stored or rejected with a reason; a `T1S` datagram is rejected whole (bad base64, bad protobuf)
or its spans are read (`stats.spans`) and each is stored or rejected with a reason (ids missing or all
zeros); all of it is counted in `stats` and logged on the "xrayctl.local.xray.daemon" logger.

When the queue is full the receiver blocks rather than grow without bound: datagrams then wait in the
socket's receive buffer (64 MB where the process may pass net.core.rmem_max with SO_RCVBUFFORCE, as root
can; else as large as the OS allows), and only if that fills too does the kernel drop
any. On Linux the socket reports those drops (SO_RXQ_OVFL); they are counted in `stats.dropped_by_kernel` and
logged, so even a loss we cannot prevent is never silent. Blocking keeps memory bounded when the store falls
behind; growing would only trade a counted drop for an out-of-memory process.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import queue
import socket
import struct
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from xrayctl.local.httpserver import LOOPBACK
from xrayctl.local.xray.otlp import Converted, OtlpError, convert, decode_protobuf
from xrayctl.text.sanitize import clean

logger = logging.getLogger(__name__)

Sink = Callable[[Sequence[str]], Sequence[Mapping[str, Any]]]
"""Takes segment documents (JSON text), returns the unprocessed ones as `{"Id", "ErrorCode", "Message"}`."""

MAX_DOCUMENT_BYTES = 64 * 1024  # X-Ray's segment document limit, and the real daemon's default buffer size
_CHUNK = 64  # datagrams the receiver hands over at once, at most
_QUEUE_CHUNKS = 64  # chunks between receiver and writer: at most 4,096 datagrams (256 MB, typically a few MB)
RECENT_REJECTIONS = 20
# How long stop() waits for what arrived before it to be stored. The backlog is at most the socket's buffer
# and the queue (~1-2 s of the store's pace); a store that stops answering must not hold the command forever.
STOP_TIMEOUT = 30.0

# Over IPv4 a datagram carries at most 65,507 bytes, so this buffer never truncates one.
_RECV_BUFFER = 65536
_SOCKET_BUFFER_WANTED = 32 * 1024 * 1024  # Linux doubles it for its bookkeeping: 64 MB in all
_SOCKET_BUFFER_MINIMUM = 256 * 1024
# Linux's SO_RXQ_OVFL (asm-generic/socket.h); Python's socket module does not export it.
_SO_RXQ_OVFL = getattr(socket, "SO_RXQ_OVFL", 40) if sys.platform == "linux" else None
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33) if sys.platform == "linux" else None
_ANCILLARY_SPACE = socket.CMSG_SPACE(4) if _SO_RXQ_OVFL is not None else 0
_SDK_HEADER = b'{"format":"json","version":1}'  # what the SDKs send, checked without parsing
_STOP = object()


class Reason(str, Enum):
    """Why a datagram or document was not stored."""

    NO_HEADER = "no header"
    BAD_HEADER = "bad header"
    BAD_JSON = "bad JSON"
    TOO_LARGE = "over 64 KB"
    UNPROCESSED = "unprocessed by the store"
    STORE_FAILED = "store failed"
    BAD_BASE64 = "bad base64"
    BAD_OTLP = "bad OTLP protobuf"
    BAD_SPAN = "span without valid ids"
    NOT_TRACES = "OTLP metrics, not traces"


@dataclass(frozen=True)
class Rejection:
    reason: Reason
    detail: str  # terminal-safe: any text from the datagram went through sanitize.clean


@dataclass(frozen=True)
class DaemonStats:
    """A snapshot of the daemon's counters (see the module docstring for what adds up)."""

    received: int = 0  # datagrams
    stored: int = 0  # segment documents
    rejected: int = 0  # datagrams rejected whole, and spans
    spans: int = 0  # spans read from T1S datagrams
    unsampled: int = 0  # T1U datagrams: counted apart, not stored
    rejected_by_reason: Mapping[Reason, int] = field(default_factory=dict)  # in the order Reason lists them
    recent_rejections: tuple[Rejection, ...] = ()
    dropped_by_kernel: int = 0  # lost before we could read them (Linux only; elsewhere always 0)


class Daemon:
    """Receive X-Ray daemon datagrams on 127.0.0.1:`port` (0 = ephemeral) and store them through `sink`."""

    def __init__(
        self,
        sink: Sink,
        *,
        port: int = 0,
        batch_size: int = 50,
        flush_interval: float = 0.05,
        max_document_bytes: int = MAX_DOCUMENT_BYTES,
        stop_timeout: float = STOP_TIMEOUT,
    ) -> None:
        self._sink = sink
        self._stop_timeout = stop_timeout
        self._port = port
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._max_document_bytes = max_document_bytes
        self._queue: queue.Queue[list[bytes] | object] = queue.Queue(maxsize=_QUEUE_CHUNKS)
        self._lock = threading.Lock()
        self._received = 0
        self._stored = 0
        self._spans = 0
        self._unsampled = 0
        self._dropped_by_kernel = 0
        self._rejections: Counter[Reason] = Counter()
        self._recent: deque[Rejection] = deque(maxlen=RECENT_REJECTIONS)
        self._sock: socket.socket | None = None
        self._waker: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    @property
    def address(self) -> str:
        """`127.0.0.1:port`, the value for AWS_XRAY_DAEMON_ADDRESS."""
        if self._sock is None:
            raise RuntimeError("the daemon is not started")
        host, port = self._sock.getsockname()[:2]
        return f"{host}:{port}"

    @property
    def stats(self) -> DaemonStats:
        with self._lock:
            return DaemonStats(
                received=self._received,
                stored=self._stored,
                rejected=sum(self._rejections.values()),
                spans=self._spans,
                unsampled=self._unsampled,
                rejected_by_reason={r: self._rejections[r] for r in Reason if self._rejections[r]},
                recent_rejections=tuple(self._recent),
                dropped_by_kernel=self._dropped_by_kernel,
            )

    def start(self) -> Daemon:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # stop() wakes the blocked receiver with an empty datagram from this socket: the receive queue is
        # FIFO, so by the time the receiver reads it, it has read everything that arrived before stop().
        waker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            _enlarge_receive_buffer(sock)
            if _SO_RXQ_OVFL is not None:
                sock.setsockopt(socket.SOL_SOCKET, _SO_RXQ_OVFL, 1)
            sock.bind((LOOPBACK, self._port))
            waker.bind((LOOPBACK, 0))
        except OSError:
            sock.close()
            waker.close()
            raise
        self._sock, self._waker = sock, waker
        port = sock.getsockname()[1]
        self._threads = [
            threading.Thread(target=self._receive_loop, name=f"xray-daemon-recv:{port}", daemon=True),
            threading.Thread(target=self._write_loop, name=f"xray-daemon-write:{port}", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Store (or reject) every datagram that arrived before this call, then close the socket."""
        if self._sock is None or self._waker is None:
            return
        receiver, writer = self._threads
        target = self._sock.getsockname()
        deadline = time.monotonic() + self._stop_timeout
        while receiver.is_alive() and time.monotonic() < deadline:
            # Repeated because a full receive buffer drops the wake-up too; the receiver is then busy anyway.
            with contextlib.suppress(OSError):
                self._waker.sendto(b"", target)
            receiver.join(timeout=0.05)
        with contextlib.suppress(queue.Full):
            self._queue.put(_STOP, timeout=max(0.0, deadline - time.monotonic()))
        writer.join(timeout=max(0.0, deadline - time.monotonic()))
        if receiver.is_alive() or writer.is_alive():
            # Both are daemon threads: they cannot keep the process alive. What they still hold is lost, and
            # the numbers say how much.
            stats = self.stats
            logger.error(
                "the X-Ray daemon on %s gave up after %g s waiting for the trace store: received %d, "
                "stored %d, rejected %d; the rest is lost",
                self.address,
                self._stop_timeout,
                stats.received,
                stats.stored,
                stats.rejected,
            )
        self._sock.close()
        self._waker.close()
        self._sock = self._waker = None
        self._threads = []

    def __enter__(self) -> Daemon:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _receive_loop(self) -> None:
        assert self._sock is not None and self._waker is not None
        sock, waker_address = self._sock, self._waker.getsockname()
        # Datagrams go to the writer in chunks of what is already waiting, to spend as little as possible
        # per datagram here: while this thread waits for the GIL, the kernel buffer is all we have.
        chunk: list[bytes] = []
        while True:
            try:
                data, ancillary, _flags, sender = sock.recvmsg(
                    _RECV_BUFFER, _ANCILLARY_SPACE, socket.MSG_DONTWAIT if chunk else 0
                )
            except BlockingIOError:
                self._hand_over(chunk)
                chunk = []
                continue
            except OSError:
                logger.exception("the X-Ray daemon stopped receiving on %s", self.address)
                self._hand_over(chunk)
                return
            if ancillary:  # checked first: the wake-up datagram may be the one that reports drops
                self._note_kernel_drops(ancillary)
            if sender == waker_address:
                self._hand_over(chunk)
                return
            chunk.append(data)
            if len(chunk) >= _CHUNK:
                self._hand_over(chunk)
                chunk = []

    def _hand_over(self, chunk: list[bytes]) -> None:
        if chunk:
            with self._lock:
                self._received += len(chunk)
            self._queue.put(chunk)  # blocks when full: see the module docstring

    def _note_kernel_drops(self, ancillary: list[tuple[int, int, bytes]]) -> None:
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == _SO_RXQ_OVFL and len(payload) >= 4:
                total = struct.unpack("=I", payload[:4])[0]  # the socket's running total of drops
                with self._lock:
                    new = total - self._dropped_by_kernel
                    self._dropped_by_kernel = max(total, self._dropped_by_kernel)
                if new > 0:
                    logger.error(
                        "the kernel dropped %d datagrams (%d in all): the daemon's receive buffer was full",
                        new,
                        total,
                    )

    def _write_loop(self) -> None:
        batch: list[str] = []
        deadline = 0.0
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()) if batch else None)
            except queue.Empty:
                self._flush(batch)
                batch = []
                continue
            if item is _STOP:
                self._flush(batch)
                return
            assert isinstance(item, list)
            for datagram in item:
                for document in self._documents(datagram):
                    if not batch:
                        deadline = time.monotonic() + self._flush_interval
                    batch.append(document)
                    if len(batch) >= self._batch_size:
                        self._flush(batch)
                        batch = []

    def _documents(self, datagram: bytes) -> list[str]:
        """The documents a datagram carries; what it cannot carry is counted here."""
        parsed = parse_datagram(datagram, self._max_document_bytes)
        if isinstance(parsed, Rejection):
            self._reject(parsed)
            return []
        if parsed is UNSAMPLED:
            with self._lock:
                self._unsampled += 1
            return []
        if isinstance(parsed, Converted):
            with self._lock:
                self._spans += parsed.spans
            if parsed.problems:
                first = parsed.problems[0]
                detail = f"span {first.span_id or '(no id)'}: {first.reason}"
                more = len(parsed.problems) - 1
                self._reject(
                    Rejection(Reason.BAD_SPAN, clean(detail + (f" (and {more} more)" if more else ""), 200)),
                    len(parsed.problems),
                )
            return parsed.documents
        assert isinstance(parsed, str)
        return [parsed]

    def _flush(self, batch: list[str]) -> None:
        if not batch:
            return
        try:
            unprocessed = list(self._sink(batch))
        except Exception as exc:  # the store failing must not stop the daemon: count the batch as lost
            # _reject logs the reason; a traceback only at debug level: a full disk is not a bug.
            logger.debug("the trace store failed on a batch of %d documents", len(batch), exc_info=True)
            self._reject(
                Rejection(Reason.STORE_FAILED, f"{type(exc).__name__}: {clean(exc, 200)}"), len(batch)
            )
            return
        with self._lock:
            self._stored += len(batch) - len(unprocessed)
        for entry in unprocessed:
            detail = f"{entry.get('Id')}: {entry.get('ErrorCode')}: {entry.get('Message')}"
            self._reject(Rejection(Reason.UNPROCESSED, clean(detail, 300)))

    def _reject(self, rejection: Rejection, count: int = 1) -> None:
        with self._lock:
            self._rejections[rejection.reason] += count
            self._recent.append(rejection)
        logger.warning(
            "rejected %d segment document(s): %s: %s", count, rejection.reason.value, rejection.detail
        )


class _Unsampled:
    def __repr__(self) -> str:
        return "UNSAMPLED"


UNSAMPLED = _Unsampled()  # what a T1U datagram parses to


def parse_datagram(
    datagram: bytes, max_document_bytes: int = MAX_DOCUMENT_BYTES
) -> str | Converted | _Unsampled | Rejection:
    """The segment document a daemon datagram carries (for T1S, the documents its spans become; for T1U,
    UNSAMPLED), or why it cannot be stored."""
    header, newline, body = datagram.partition(b"\n")
    if not newline:
        return Rejection(Reason.NO_HEADER, f"no newline after a header line: {_preview(datagram)}")
    problem = None if header.rstrip() == _SDK_HEADER else _header_problem(header)
    if problem:
        return Rejection(Reason.BAD_HEADER, problem)
    if len(body) > max_document_bytes:
        return Rejection(Reason.TOO_LARGE, f"document of {len(body)} bytes (limit {max_document_bytes})")
    if body[:3] in (b"T1S", b"T1U") or body[:2] == b"M1":
        return _otlp_datagram(body)
    try:
        text = body.decode("utf-8")
        json.loads(text)
    except RecursionError:
        # Valid JSON, only too deep for the json module: the store decides what it accepts, and says why.
        return text
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are both ValueErrors
        return Rejection(Reason.BAD_JSON, f"{clean(exc, 200)}: {_preview(body)}")
    return text


def _otlp_datagram(body: bytes) -> Converted | _Unsampled | Rejection:
    """A datagram of the ADOT distro's OTLP UDP exporter (`otlp_udp_exporter.py`): T1S, T1U or M1."""
    if body[:2] == b"M1":
        return Rejection(Reason.NOT_TRACES, f"{len(body)} bytes of OTLP metrics")
    if body[:3] == b"T1U":
        return UNSAMPLED
    try:
        payload = base64.b64decode(body[3:], validate=True)
    except (binascii.Error, ValueError) as exc:
        return Rejection(Reason.BAD_BASE64, f"{clean(exc, 100)}: {_preview(body)}")
    try:
        return convert(decode_protobuf(payload))
    except OtlpError as exc:
        return Rejection(Reason.BAD_OTLP, clean(exc, 200))


def _header_problem(header: bytes) -> str | None:
    """Why the header line is not `{"format":"json","version":1}`, or None if it is one."""
    try:
        parsed = json.loads(header)
    except (ValueError, RecursionError):
        return f"first line is not a JSON header: {_preview(header)}"
    if not isinstance(parsed, dict):
        return f"first line is not a JSON object: {_preview(header)}"
    form, version = parsed.get("format"), parsed.get("version")
    if not (isinstance(form, str) and form.lower() == "json"):
        return f"format is {clean(repr(form), 60)}, not 'json'"
    if type(version) is not int or version != 1:
        return f"version is {clean(repr(version), 60)}, not 1"
    return None


def _preview(data: bytes) -> str:
    return clean(data[:80].decode("utf-8", "replace"), 80)


def _enlarge_receive_buffer(sock: socket.socket) -> None:
    """Ask for a receive buffer that holds a burst: it waits there while the receiver waits for the GIL.

    Linux silently caps SO_RCVBUF at net.core.rmem_max (often 208 KB, 4 MB here), far less than a burst of
    10,000 SDK documents takes in the kernel (each datagram costs its size plus about 1 KB of bookkeeping).
    A process with CAP_NET_ADMIN (root, as in a container or CI) may pass the cap with SO_RCVBUFFORCE, as
    rsyslog and the like do; the memory is only used while datagrams wait. Elsewhere the largest value the OS
    grants is kept, and what the kernel still drops is counted (SO_RXQ_OVFL)."""
    if _SO_RCVBUFFORCE is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, _SOCKET_BUFFER_WANTED)
            return
        except OSError:  # EPERM without CAP_NET_ADMIN
            pass
    size = _SOCKET_BUFFER_WANTED
    while size >= _SOCKET_BUFFER_MINIMUM:
        try:
            # Linux silently caps the value at net.core.rmem_max; macOS refuses values over its maximum.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
            break
        except OSError:
            size //= 2
    granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    if granted < _SOCKET_BUFFER_WANTED:
        logger.debug(
            "the X-Ray daemon's receive buffer is %d KB (net.core.rmem_max caps it): a large burst may be "
            "dropped by the kernel, and is then counted",
            granted // 1024,
        )
