"""OpenTelemetry data into the local X-Ray stand-ins: the daemon's T1S datagrams (sent by the ADOT distro's
own UDP exporter) and OTLP/HTTP on the X-Ray API (sent by the upstream OTLP exporter), into a real store."""

from __future__ import annotations

import base64
import gzip
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Sequence

import pytest
from amazon.opentelemetry.distro.otlp_udp_exporter import OTLPUdpSpanExporter
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.support.paths import FIXTURES
from xrayctl.local.xray.api import XRayApiServer
from xrayctl.local.xray.daemon import Daemon, Reason
from xrayctl.local.xray.store import TraceStore
from xrayctl.trace.build import build_trace
from xrayctl.trace.model import Trace

HEADER = b'{"format":"json","version":1}\n'


def make_spans(exporter: SpanExporter, count: int = 1) -> list[str]:
    """A SERVER span with `count` annotated children, exported by `exporter`; returns the X-Ray trace id."""
    provider = TracerProvider(resource=Resource.create({"service.name": "orders"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("GET /orders", kind=SpanKind.SERVER) as root:
        for number in range(count):
            attributes = {"row": number, "aws.xray.annotations": ["row"]}
            with tracer.start_as_current_span(f"load {number}", attributes=attributes):
                pass
    w3c = format(root.get_span_context().trace_id, "032x")
    provider.shutdown()
    return [f"1-{w3c[:8]}-{w3c[8:]}"]


def sdk_spans(count: int = 1) -> Sequence[ReadableSpan]:
    memory = InMemorySpanExporter()
    make_spans(memory, count)
    return memory.get_finished_spans()


def stored_tree(store: TraceStore, trace_id: str) -> Trace:
    (trace,), _ = store.batch_get([trace_id])
    return build_trace(trace_id, trace["Segments"])


# ------------------------------------------------------------------------------------------------ daemon


def test_the_distros_udp_exporter_spans_are_stored_as_one_tree(store: TraceStore) -> None:
    with Daemon(store.put_documents) as daemon:
        (trace_id,) = make_spans(OTLPUdpSpanExporter(endpoint=daemon.address), count=3)
    trace = stored_tree(store, trace_id)
    assert [(n.depth, n.name) for n in trace.walk()] == [
        (0, "orders"),
        (1, "load 0"),
        (1, "load 1"),
        (1, "load 2"),
    ]
    assert [n.annotations for n in trace.roots[0].children] == [{"row": 0}, {"row": 1}, {"row": 2}]
    stats = daemon.stats
    assert (stats.received, stats.spans, stats.stored, stats.rejected) == (4, 4, 4, 0)


def test_unsampled_datagrams_are_counted_apart_and_not_stored(store: TraceStore) -> None:
    with Daemon(store.put_documents) as daemon:
        (trace_id,) = make_spans(OTLPUdpSpanExporter(endpoint=daemon.address, sampled=False))
    assert daemon.stats.unsampled == 2 and daemon.stats.stored == 0 and daemon.stats.rejected == 0
    assert store.batch_get([trace_id]) == ([], [trace_id])


def zero_id_request() -> bytes:
    request = encode_spans(sdk_spans())
    request.resource_spans[0].scope_spans[0].spans[0].trace_id = bytes(16)
    return request.SerializeToString()


def test_otel_garbage_is_counted_by_reason_and_the_daemon_keeps_storing(store: TraceStore) -> None:
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with Daemon(store.put_documents, max_document_bytes=4096) as daemon:
        host, port = daemon.address.rsplit(":", 1)
        garbage = {
            Reason.BAD_BASE64: [HEADER + b"T1S!!not base64!!"],
            Reason.BAD_OTLP: [HEADER + b"T1S" + base64.b64encode(b"\xff\xff\xff\xff not protobuf")],
            Reason.TOO_LARGE: [HEADER + b"T1S" + b"A" * 5000],
            Reason.NOT_TRACES: [HEADER + b"M1" + base64.b64encode(b"metrics")],
        }
        for datagrams in garbage.values():
            for datagram in datagrams:
                sender.sendto(datagram, (host, int(port)))
        sender.sendto(HEADER + b"T1S" + base64.b64encode(zero_id_request()), (host, int(port)))
        (trace_id,) = make_spans(OTLPUdpSpanExporter(endpoint=daemon.address))
    sender.close()
    stats = daemon.stats
    expected = {reason: len(datagrams) for reason, datagrams in garbage.items()}
    expected[Reason.BAD_SPAN] = 1  # the span whose trace id is all zeros; its sibling span is stored
    assert dict(stats.rejected_by_reason) == expected
    assert len(stored_tree(store, trace_id).roots) == 1


# ------------------------------------------------------------------------------------------- OTLP/HTTP


def post(api: XRayApiServer, body: bytes, content_type: str, **headers: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        api.url + "/v1/traces", data=body, headers={"Content-Type": content_type, **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_upstream_otlp_http_exporter_draws_as_a_tree(api: XRayApiServer, store: TraceStore) -> None:
    (trace_id,) = make_spans(OTLPSpanExporter(endpoint=api.url + "/v1/traces"), count=2)
    trace = stored_tree(store, trace_id)
    assert [(n.depth, n.name) for n in trace.walk()] == [(0, "orders"), (1, "load 0"), (1, "load 1")]


def test_otlp_json_bodies_are_stored_and_answered_in_json(api: XRayApiServer, store: TraceStore) -> None:
    body = (FIXTURES / "otel" / "opentelemetry-proto-examples-trace.json").read_bytes()
    status, answer = post(api, body, "application/json")
    assert (status, json.loads(answer)) == (200, {})
    (trace,), _ = store.batch_get(["1-5b8efff7-98038103d269b633813fc60c"])
    assert [json.loads(s["Document"])["name"] for s in trace["Segments"]] == ["my.service"]


def test_rejected_spans_come_back_as_partial_success(api: XRayApiServer) -> None:
    status, answer = post(api, zero_id_request(), "application/x-protobuf")
    response = ExportTraceServiceResponse.FromString(answer)
    assert status == 200
    assert response.partial_success.rejected_spans == 1
    assert "trace id is missing or all zeros" in response.partial_success.error_message


def test_gzip_bodies_are_read(api: XRayApiServer, store: TraceStore) -> None:
    request = encode_spans(sdk_spans())
    status, _ = post(
        api,
        gzip.compress(request.SerializeToString()),
        "application/x-protobuf",
        **{"Content-Encoding": "gzip"},
    )
    assert status == 200
    trace_id = request.resource_spans[0].scope_spans[0].spans[0].trace_id.hex()
    assert store.batch_get([f"1-{trace_id[:8]}-{trace_id[8:]}"])[0]


@pytest.mark.parametrize(
    "body, content_type, status",
    [
        (b"\xff\xff\xff not protobuf", "application/x-protobuf", 400),
        (b"{not json", "application/json", 400),
        (b"[]", "application/json", 400),
        (ExportTraceServiceRequest().SerializeToString(), "text/plain", 415),
    ],
)
def test_a_body_that_is_no_otlp_request_is_refused_not_a_crash(
    api: XRayApiServer, body: bytes, content_type: str, status: int
) -> None:
    assert post(api, body, content_type)[0] == status
    assert post(api, ExportTraceServiceRequest().SerializeToString(), "application/x-protobuf")[0] == 200


def test_a_10000_span_trace_10000_levels_deep_is_stored_whole(api: XRayApiServer, store: TraceStore) -> None:
    trace_id = bytes.fromhex("6b04c851f14fec967f9786633c368d55")
    request = ExportTraceServiceRequest()
    scope_spans = request.resource_spans.add().scope_spans.add()
    for index in range(10_000):
        span = scope_spans.spans.add()
        span.trace_id, span.span_id, span.name = trace_id, (index + 1).to_bytes(8, "big"), f"level {index}"
        if index:
            span.parent_span_id = index.to_bytes(8, "big")
        span.kind = 2 if index == 0 else 1
        span.start_time_unix_nano = 1_797_000_000_000_000_000 + index
        span.end_time_unix_nano = 1_797_000_001_000_000_000 - index
    spans = list(scope_spans.spans)
    for offset in range(0, len(spans), 512):  # as the SDK's batch processor sends them
        batch = ExportTraceServiceRequest()
        batch.resource_spans.add().scope_spans.add().spans.extend(spans[offset : offset + 512])
        assert post(api, batch.SerializeToString(), "application/x-protobuf") == (200, b"")
    trace = stored_tree(store, "1-6b04c851-f14fec967f9786633c368d55")
    assert (trace.node_count, trace.max_depth, trace.warnings) == (10_000, 9_999, [])
