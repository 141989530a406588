"""The local X-Ray daemon, fed real datagrams over loopback UDP, with a list-appending sink as the store."""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from tests.support.paths import FIXTURES
from xrayctl.local.xray.daemon import Daemon, Reason

SDK_CAPTURED = FIXTURES / "sdk-captured"
HEADER = b'{"format":"json","version":1}\n'


class ListSink:
    """A real sink: keeps every document it is given, in order, and the batches they came in."""

    def __init__(self, unprocessed_ids: frozenset[str] = frozenset()) -> None:
        self.documents: list[str] = []
        self.batch_sizes: list[int] = []
        self.unprocessed_ids = unprocessed_ids

    def __call__(self, batch: Sequence[str]) -> list[dict[str, Any]]:
        self.documents.extend(batch)
        self.batch_sizes.append(len(batch))
        if not self.unprocessed_ids:
            return []
        ids = [json.loads(text).get("id") for text in batch]
        message = "refused for the test"
        return [
            {"Id": i, "ErrorCode": "InvalidSegment", "Message": message}
            for i in ids
            if i in self.unprocessed_ids
        ]


@pytest.fixture
def sender() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    yield sock
    sock.close()


def send(sock: socket.socket, daemon: Daemon, datagrams: Sequence[bytes]) -> None:
    host, port = daemon.address.rsplit(":", 1)
    for datagram in datagrams:
        sock.sendto(datagram, (host, int(port)))


def captured_datagrams() -> list[bytes]:
    return [path.read_bytes() for path in sorted(SDK_CAPTURED.glob("0*.json"))]


def document(doc_id: str) -> bytes:
    return json.dumps({"id": doc_id, "trace_id": "1-6b04c851-f14fec967f9786633c368d55", "name": "n"}).encode()


def test_stores_what_the_sdk_sent_in_order(sender: socket.socket) -> None:
    datagrams = captured_datagrams()
    sink = ListSink()
    with Daemon(sink) as daemon:
        send(sender, daemon, datagrams)
    assert sink.documents == [datagram.split(b"\n", 1)[1].decode() for datagram in datagrams]
    stats = daemon.stats
    assert (stats.received, stats.stored, stats.rejected) == (len(datagrams), len(datagrams), 0)


def test_stores_an_invocation_captured_under_awslambdaric(sender: socket.socket) -> None:
    documents = json.loads((SDK_CAPTURED / "udp_documents_awslambdaric.json").read_text())
    sink = ListSink()
    with Daemon(sink) as daemon:
        send(sender, daemon, [HEADER + json.dumps(doc).encode() for doc in documents])
    assert [json.loads(text) for text in sink.documents] == documents


@pytest.mark.parametrize(
    "header",
    [
        b'{"format": "json", "version": 1}',  # the spelling of the real daemon's README
        b'{"version":1,"format":"JSON"}',  # the real daemon compares the format case-insensitively
        b'{"format":"json","version":1}\r',
        b'{"format":"json","version":1,"extra":true}',
    ],
)
def test_accepts_header_variants_the_real_daemon_accepts(sender: socket.socket, header: bytes) -> None:
    sink = ListSink()
    with Daemon(sink) as daemon:
        send(sender, daemon, [header + b"\n" + document("a1")])
    assert [json.loads(text)["id"] for text in sink.documents] == ["a1"]


def test_counts_logs_and_explains_every_malformed_datagram(
    sender: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    pretty_without_header = captured_datagrams()[0].split(b"\n", 1)[1]
    malformed = {
        Reason.NO_HEADER: [document("n1")],
        Reason.BAD_HEADER: [
            b'{"format":"xml","version":1}\n' + document("h1"),
            b'{"format":"json","version":2}\n' + document("h2"),
            b'{"format":"json","version":"1"}\n' + document("h3"),
            b"[1]\n" + document("h4"),
            pretty_without_header,
        ],
        Reason.BAD_JSON: [HEADER + b'{"id": "j1", ', HEADER + b"\xff\xfe{}", HEADER],
        Reason.TOO_LARGE: [HEADER + json.dumps({"id": "big", "pad": "x" * 2000}).encode()],
    }
    sink = ListSink()
    caplog.set_level(logging.WARNING, logger="xrayctl.local.xray.daemon")
    with Daemon(sink, max_document_bytes=1000) as daemon:
        send(sender, daemon, [datagram for datagrams in malformed.values() for datagram in datagrams])
        send(sender, daemon, [HEADER + document("good")])
    stats = daemon.stats
    assert [json.loads(text)["id"] for text in sink.documents] == ["good"]
    assert stats.received == 11 and stats.stored == 1 and stats.rejected == 10
    assert stats.rejected_by_reason == {reason: len(datagrams) for reason, datagrams in malformed.items()}
    details = [rejection.detail for rejection in stats.recent_rejections]
    assert "format is 'xml', not 'json'" in details
    assert "version is '1', not 1" in details
    assert any(detail.startswith("document of 20") and "limit 1000" in detail for detail in details)
    assert sum("rejected" in record.getMessage() for record in caplog.records) == 10


def test_rejection_details_are_safe_for_a_terminal(sender: socket.socket) -> None:
    with Daemon(ListSink()) as daemon:
        send(sender, daemon, [b'{"format":"\x1b]52;c;aGk=\x07"}\n{}'])
    (rejection,) = daemon.stats.recent_rejections
    assert "\x1b" not in rejection.detail and "\x07" not in rejection.detail
    assert "\\x1b" in rejection.detail


def test_counts_what_the_store_refuses_with_its_message(sender: socket.socket) -> None:
    sink = ListSink(unprocessed_ids=frozenset({"bad"}))
    with Daemon(sink) as daemon:
        send(sender, daemon, [HEADER + document(doc_id) for doc_id in ("ok1", "bad", "ok2")])
    stats = daemon.stats
    assert (stats.stored, stats.rejected) == (2, 1)
    assert stats.rejected_by_reason == {Reason.UNPROCESSED: 1}
    assert stats.recent_rejections[0].detail == "bad: InvalidSegment: refused for the test"


def test_a_failing_store_loses_one_batch_counted_and_the_daemon_goes_on(
    sender: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def flaky_sink(batch: Sequence[str]) -> list[dict[str, Any]]:
        calls.append(len(batch))
        if len(calls) == 1:
            raise OSError("disk full")
        return []

    with Daemon(flaky_sink, batch_size=1) as daemon:
        send(sender, daemon, [HEADER + document("first"), HEADER + document("second")])
    stats = daemon.stats
    assert (stats.stored, stats.rejected) == (1, 1)
    assert stats.rejected_by_reason == {Reason.STORE_FAILED: 1}
    assert stats.recent_rejections[0].detail == "OSError: disk full"
    # Logged with its reason, and without a traceback unless debugging: a full disk is not a bug.
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert [record.getMessage() for record in warnings] == [
        "rejected 1 segment document(s): store failed: OSError: disk full"
    ]
    assert warnings[0].exc_info is None


def test_a_document_too_deep_for_the_json_module_reaches_the_store(sender: socket.socket) -> None:
    depth = 5000
    deep = HEADER + b'{"id":"deep","metadata":' + b'{"a":' * depth + b"1" + b"}" * depth + b"}"
    sink = ListSink()
    with Daemon(sink) as daemon:
        send(sender, daemon, [deep])
    assert sink.documents == [deep.split(b"\n", 1)[1].decode()]


def test_stop_flushes_a_batch_that_is_neither_full_nor_due(sender: socket.socket) -> None:
    sink = ListSink()
    daemon = Daemon(sink, batch_size=1000, flush_interval=3600).start()
    send(sender, daemon, [HEADER + document(f"d{i}") for i in range(3)])
    daemon.stop()
    assert [json.loads(text)["id"] for text in sink.documents] == ["d0", "d1", "d2"]


def test_a_burst_of_ten_thousand_datagrams_is_stored_whole_in_batches(sender: socket.socket) -> None:
    template = json.loads(captured_datagrams()[0].split(b"\n", 1)[1])
    datagrams = [HEADER + json.dumps({**template, "id": f"{i:016x}"}).encode() for i in range(10_000)]
    sink = ListSink()
    with Daemon(sink, batch_size=50) as daemon:
        burst = threading.Thread(target=send, args=(sender, daemon, datagrams))
        burst.start()
        burst.join()
    assert daemon.stats.stored == 10_000 and daemon.stats.dropped_by_kernel == 0
    assert [json.loads(text)["id"] for text in sink.documents] == [f"{i:016x}" for i in range(10_000)]
    assert max(sink.batch_sizes) == 50


@pytest.mark.skipif(sys.platform != "linux", reason="only Linux reports datagrams dropped by the kernel")
def test_datagrams_the_kernel_drops_are_counted_and_logged(
    sender: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()

    def stalled_sink(batch: Sequence[str]) -> list[dict[str, Any]]:
        release.wait()
        return []

    daemon = Daemon(stalled_sink).start()
    try:
        assert daemon._sock is not None
        # More than the queue and the socket buffer can hold while the store is stalled.
        count = daemon._sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 512 + 4096 + 1000
        send(sender, daemon, [captured_datagrams()[0]] * count)
    finally:
        release.set()
        daemon.stop()
    stats = daemon.stats
    assert stats.dropped_by_kernel > 0
    assert stats.received + stats.dropped_by_kernel >= count
    assert stats.stored == stats.received
    assert any("the kernel dropped" in record.getMessage() for record in caplog.records)


def test_listens_on_loopback_only() -> None:
    with Daemon(ListSink()) as daemon:
        host, port = daemon.address.rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0
    with pytest.raises(RuntimeError):
        daemon.address  # noqa: B018 - the property raises once stopped


def test_stop_releases_the_port(sender: socket.socket) -> None:
    with Daemon(ListSink()) as daemon:
        port = int(daemon.address.rsplit(":", 1)[1])
    again = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    again.bind(("127.0.0.1", port))  # would raise EADDRINUSE if the daemon still held it
    again.close()


def test_stop_gives_up_on_a_store_that_never_answers_and_says_what_is_lost(
    sender: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    """A command stopping its local stack must end even if the store hangs (a wedged disk), and say so."""
    release = threading.Event()

    def stuck_sink(batch: Sequence[str]) -> list[dict[str, Any]]:
        release.wait(30)
        return []

    daemon = Daemon(stuck_sink, batch_size=1, stop_timeout=0.5).start()
    try:
        send(sender, daemon, [HEADER + document(f"d{n}") for n in range(3)])
        stopping = threading.Thread(target=daemon.stop)
        stopping.start()
        stopping.join(timeout=10)
        assert not stopping.is_alive()
    finally:
        release.set()
    assert daemon.stats.stored == 0
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "gave up after 0.5 s waiting for the trace store: received 3, stored 0" in errors[0]
