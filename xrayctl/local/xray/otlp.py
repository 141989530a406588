"""OTLP trace data as the local X-Ray stand-ins receive it, turned into segment documents for the store.

Two ways in, as in AWS: the daemon's `T1S` datagrams (the ADOT distro's UDP exporter on Lambda: the base64 of
an OTLP protobuf `ExportTraceServiceRequest` after the daemon header) and `POST /v1/traces` on the X-Ray API
(OTLP/HTTP, protobuf or JSON). Both decode into `trace.otlp.Span` records and convert them with
`trace.otelxray`, the same conversion `show-trace --input` uses for an OTLP file, so a span looks the same
whichever way it came.

Protobuf is decoded with opentelemetry-proto's own message classes (the `local` extra), imported on first
use: a stack that never receives OpenTelemetry data does not pay for it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from xrayctl.text import jsonload, jsonwrite
from xrayctl.trace import otelxray
from xrayctl.trace.otlp import Event, Link, Problem, Scope, Span, spans_from_json


class OtlpError(ValueError):
    """The data is not an OTLP ExportTraceServiceRequest at all (bad protobuf, bad JSON)."""


@dataclass
class Converted:
    """Segment documents (JSON text, for the store) and the spans that could not become any."""

    documents: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    spans: int = 0  # spans read, converted or not


def _request_class() -> Any:
    try:
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    except ImportError as error:  # the `local` extra installs it
        raise OtlpError(
            "OTLP protobuf needs the opentelemetry-proto package: pip install 'xrayctl[local]'"
        ) from error
    return trace_service_pb2.ExportTraceServiceRequest


def response_class() -> Any:
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    return trace_service_pb2.ExportTraceServiceResponse


def _value(value: Any) -> Any:
    """A protobuf AnyValue as a plain value, without recursion (see `trace.otlp.any_value`)."""
    result: list[Any] = []
    stack: list[tuple[Any, list[Any] | dict[str, Any], str]] = [(value, result, "")]
    while stack:
        item, into, key = stack.pop()
        which = item.WhichOneof("value")
        pending: list[tuple[Any, list[Any] | dict[str, Any], str]] = []
        plain: Any
        if which == "array_value":
            plain = []
            pending = [(v, plain, "") for v in item.array_value.values]
        elif which == "kvlist_value":
            plain = {}
            pending = [(kv.value, plain, kv.key) for kv in item.kvlist_value.values]
        elif which == "bytes_value":
            plain = item.bytes_value.hex()
        elif which is None:
            plain = None
        else:
            plain = getattr(item, which)
        if isinstance(into, list):
            into.append(plain)
        else:
            into[key] = plain
        stack.extend(reversed(pending))
    return result[0]


def _attributes(values: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for kv in values:
        value = kv.value
        which = value.WhichOneof("value")
        # The common scalar cases without the general walk: most attributes are strings and numbers.
        if which == "string_value":
            attributes[kv.key] = value.string_value
        elif which == "int_value":
            attributes[kv.key] = value.int_value
        else:
            attributes[kv.key] = _value(value)
    return attributes


def spans_from_request(request: Any) -> list[Span]:
    spans: list[Span] = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            info = scope_spans.scope
            scope = Scope(info.name, info.version, _attributes(info.attributes), resource)
            for span in scope_spans.spans:
                spans.append(
                    Span(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        name=span.name,
                        kind=span.kind,
                        start_ns=span.start_time_unix_nano,
                        end_ns=span.end_time_unix_nano,
                        attributes=_attributes(span.attributes),
                        scope=scope,
                        status_code=span.status.code,
                        status_message=span.status.message,
                        events=[
                            Event(event.name, event.time_unix_nano, _attributes(event.attributes))
                            for event in span.events
                        ],
                        links=[
                            Link(link.trace_id.hex(), link.span_id.hex(), _attributes(link.attributes))
                            for link in span.links
                        ],
                        trace_state=span.trace_state,
                    )
                )
    return spans


def decode_protobuf(body: bytes) -> list[Span]:
    """The spans of a protobuf ExportTraceServiceRequest; OtlpError when `body` is not one."""
    request = _request_class()()
    try:
        request.ParseFromString(body)
    except Exception as error:  # noqa: BLE001 - DecodeError, or whatever a hostile message makes upb raise
        raise OtlpError(f"not an OTLP protobuf ExportTraceServiceRequest: {type(error).__name__}") from None
    return spans_from_request(request)


def decode_json(body: bytes) -> tuple[list[Span], list[Problem]]:
    """The spans of an OTLP/JSON ExportTraceServiceRequest; OtlpError when `body` is not one."""
    try:
        data = jsonload.loads(body.decode("utf-8"))
    except ValueError as error:
        raise OtlpError(f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise OtlpError("an OTLP/JSON request is a JSON object")
    return spans_from_json(data)


def convert(spans: Sequence[Span], problems: Sequence[Problem] = ()) -> Converted:
    """The spans as segment documents (JSON text) for `TraceStore.put_documents`."""
    documents, more = otelxray.to_documents(spans)
    return Converted(
        documents=[_dumps(document) for document in documents],
        problems=[*problems, *more],
        spans=len(spans) + len(problems),
    )


def _dumps(document: dict[str, Any]) -> str:
    try:
        return json.dumps(document, separators=(",", ":"))
    except RecursionError:  # an attribute value nested past the json module's depth
        return jsonwrite.dumps(document, indent=None)
