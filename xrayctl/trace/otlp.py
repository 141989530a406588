"""OTLP trace data (OpenTelemetry's wire model) read into plain `Span` records, from its JSON form.

What reads OTLP: `show-trace --input` (a collector file-exporter or otel-tui export, a ListRetrievedTraces
answer in OTEL format), and the local X-Ray stand-ins (`local.xray.otlp` turns protobuf into the same
records). One record type, so that one conversion (`trace.otelxray`) serves them all.

OTLP/JSON (opentelemetry-proto, docs/specification.md "JSON Protobuf Encoding") differs from protobuf's
standard JSON mapping in two ways that exporters in the wild do not all follow, so both are read: trace and
span ids are hex (the standard mapping writes bytes as base64), and enum values are integers (the standard
mapping writes names such as `SPAN_KIND_SERVER`). Field names may be lowerCamelCase or the proto's own
snake_case; 64-bit integers may be strings or numbers. Nothing here raises on a malformed span: it is
returned as a `Problem`, and the rest of the data is read.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# SpanKind and StatusCode as opentelemetry-proto numbers them.
KIND_NAMES = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER = 1, 2, 3, 4, 5
STATUS_NAMES = ("UNSET", "OK", "ERROR")
STATUS_ERROR = 2

_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


@dataclass(slots=True)
class Scope:
    """The instrumentation scope (library) that made a span, and the resource it ran in."""

    name: str = ""
    version: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    resource: dict[str, Any] = field(default_factory=dict)  # the resource's attributes


@dataclass(slots=True)
class Event:
    name: str
    time_ns: int
    attributes: dict[str, Any]


@dataclass(slots=True)
class Link:
    trace_id: str  # 32 hex
    span_id: str  # 16 hex
    attributes: dict[str, Any]


@dataclass(slots=True)
class Span:
    """One span; ids are lower-case hex (`parent_span_id` "" for a root span)."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    scope: Scope
    status_code: int = 0
    status_message: str = ""
    events: list[Event] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    trace_state: str = ""


@dataclass(frozen=True, slots=True)
class Problem:
    """A span that cannot be read or converted: which one (as far as known) and why."""

    span_id: str
    reason: str


def span_problem(span: Span) -> str | None:
    """Why `span` cannot become a segment (OTLP's own validity rules for ids), or None."""
    if len(span.trace_id) != 32 or span.trace_id == _ZERO_TRACE:
        return "trace id is missing or all zeros"
    if len(span.span_id) != 16 or span.span_id == _ZERO_SPAN:
        return "span id is missing or all zeros"
    if span.parent_span_id == _ZERO_SPAN:
        span.parent_span_id = ""  # all zeros means "no parent" in OTLP
    return None


# ------------------------------------------------------------------------------------------------ JSON


def _get(obj: Mapping[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number here")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return int(value)
    raise ValueError(f"{type(value).__name__} is not an integer")


def _enum(value: Any, names: tuple[str, ...], prefix: str) -> int:
    """An enum given as its number or as its name (`SPAN_KIND_SERVER`); 0 when absent or unknown."""
    if value is None:
        return 0
    if isinstance(value, str) and not value.lstrip("-").isdigit():
        name = value.upper().removeprefix(prefix)
        return names.index(name) if name in names else 0
    number = _int(value)
    return number if 0 <= number < len(names) else 0


def json_id(value: Any, size: int) -> str:
    """A trace (16 bytes) or span (8 bytes) id from OTLP/JSON: hex, or base64 as protobuf's JSON writes it.
    "" when absent; ValueError when it is neither."""
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise ValueError(f"an id is a string, not {type(value).__name__}")
    if len(value) == 2 * size:
        try:
            bytes.fromhex(value)
            return value.lower()
        except ValueError:
            pass
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size:
        raise ValueError(f"{value[:40]!r} is not a {size}-byte id in hex or base64")
    return raw.hex()


def any_value(value: Any) -> Any:
    """An OTLP AnyValue object (`{"stringValue": ...}`) as a plain value: arrays as lists, kvlists as dicts,
    bytes as base64 text. Iterative: attribute values from outside can nest deeply."""
    result: list[Any] = []
    # Each entry: the AnyValue to read, and where what it holds goes (a list to append to, or a dict and key).
    stack: list[tuple[Any, list[Any] | dict[str, Any], str | None]] = [(value, result, None)]
    while stack:
        item, into, key = stack.pop()
        plain: Any = None
        pending: list[tuple[Any, list[Any] | dict[str, Any], str | None]] = []
        if isinstance(item, Mapping):
            if "stringValue" in item or "string_value" in item:
                plain = _get(item, "stringValue", "string_value")
            elif "boolValue" in item or "bool_value" in item:
                plain = bool(_get(item, "boolValue", "bool_value"))
            elif "intValue" in item or "int_value" in item:
                plain = _int(_get(item, "intValue", "int_value"))
            elif "doubleValue" in item or "double_value" in item:
                plain = float(_get(item, "doubleValue", "double_value"))
            elif "bytesValue" in item or "bytes_value" in item:
                plain = _get(item, "bytesValue", "bytes_value")
            elif "arrayValue" in item or "array_value" in item:
                values = _get(item, "arrayValue", "array_value") or {}
                plain = []
                pending = [(v, plain, None) for v in (values.get("values") or [])]
            elif "kvlistValue" in item or "kvlist_value" in item:
                values = _get(item, "kvlistValue", "kvlist_value") or {}
                plain = {}
                pending = [
                    (kv.get("value"), plain, str(kv.get("key"))) for kv in (values.get("values") or [])
                ]
        if isinstance(into, list):
            into.append(plain)
        else:
            into[key or ""] = plain
        # Reversed onto a stack so that list elements keep their order.
        stack.extend(reversed(pending))
    return result[0]


def json_attributes(values: Any) -> dict[str, Any]:
    """OTLP's `attributes` list (`[{"key", "value": AnyValue}]`) as a dict; a flat object of plain values
    (as the `aws/spans` log group of Transaction Search writes them) is taken as it is."""
    if isinstance(values, Mapping):
        return {str(key): value for key, value in values.items()}
    if not isinstance(values, list):
        return {}
    return {
        str(kv.get("key")): any_value(kv.get("value"))
        for kv in values
        if isinstance(kv, Mapping) and kv.get("key") is not None
    }


def _json_span(obj: Mapping[str, Any], scope: Scope) -> Span:
    status = obj.get("status") or {}
    return Span(
        trace_id=json_id(_get(obj, "traceId", "trace_id"), 16),
        span_id=json_id(_get(obj, "spanId", "span_id"), 8),
        parent_span_id=json_id(_get(obj, "parentSpanId", "parent_span_id"), 8),
        name=str(obj.get("name") or ""),
        kind=_enum(obj.get("kind"), KIND_NAMES, "SPAN_KIND_"),
        start_ns=_int(_get(obj, "startTimeUnixNano", "start_time_unix_nano") or 0),
        end_ns=_int(_get(obj, "endTimeUnixNano", "end_time_unix_nano") or 0),
        attributes=json_attributes(obj.get("attributes")),
        scope=scope,
        status_code=_enum(status.get("code"), STATUS_NAMES, "STATUS_CODE_"),
        status_message=str(status.get("message") or ""),
        events=[
            Event(
                name=str(event.get("name") or ""),
                time_ns=_int(_get(event, "timeUnixNano", "time_unix_nano") or 0),
                attributes=json_attributes(event.get("attributes")),
            )
            for event in obj.get("events") or []
            if isinstance(event, Mapping)
        ],
        links=[
            Link(
                trace_id=json_id(_get(link, "traceId", "trace_id"), 16),
                span_id=json_id(_get(link, "spanId", "span_id"), 8),
                attributes=json_attributes(link.get("attributes")),
            )
            for link in obj.get("links") or []
            if isinstance(link, Mapping)
        ],
        trace_state=str(_get(obj, "traceState", "trace_state") or ""),
    )


def _scope(info: Any, resource: dict[str, Any]) -> Scope:
    info = info if isinstance(info, Mapping) else {}
    return Scope(
        name=str(info.get("name") or ""),
        version=str(info.get("version") or ""),
        attributes=json_attributes(info.get("attributes")),
        resource=resource,
    )


def _scope_spans(resource_spans: Mapping[str, Any]) -> Iterator[tuple[Scope, list[Any]]]:
    resource = json_attributes((resource_spans.get("resource") or {}).get("attributes"))
    groups = _get(resource_spans, "scopeSpans", "scope_spans")
    if groups is None:  # the name before OTLP 0.15
        groups = _get(resource_spans, "instrumentationLibrarySpans", "instrumentation_library_spans")
    for group in groups if isinstance(groups, list) else []:
        if not isinstance(group, Mapping):
            continue
        scope = _scope(_get(group, "scope", "instrumentationLibrary"), resource)
        spans = group.get("spans")
        yield scope, spans if isinstance(spans, list) else []


def _read_span(entry: Any, scope: Scope, spans: list[Span], problems: list[Problem]) -> None:
    if not isinstance(entry, Mapping):
        problems.append(Problem("", "a span is not an object"))
        return
    try:
        span = _json_span(entry, scope)
    except (ValueError, TypeError, AttributeError) as error:
        which = str(_get(entry, "spanId", "span_id") or "")[:40]
        problems.append(Problem(which, f"not an OTLP span: {error}"))
        return
    reason = span_problem(span)
    if reason is None:
        spans.append(span)
    else:
        problems.append(Problem(span.span_id, reason))


def spans_from_json(data: Any) -> tuple[list[Span], list[Problem]]:
    """The spans of an OTLP/JSON `ExportTraceServiceRequest` (or TracesData: `{"resourceSpans": [...]}`), or
    of one span object carrying its own `resource` and `scope` (a Transaction Search span document)."""
    spans: list[Span] = []
    problems: list[Problem] = []
    if isinstance(data, Mapping) and ("spanId" in data or "span_id" in data):
        resource = json_attributes((data.get("resource") or {}).get("attributes"))
        _read_span(data, _scope(data.get("scope"), resource), spans, problems)
        return spans, problems
    groups = _get(data, "resourceSpans", "resource_spans") if isinstance(data, Mapping) else None
    for resource_spans in groups if isinstance(groups, list) else []:
        if not isinstance(resource_spans, Mapping):
            problems.append(Problem("", "a resourceSpans entry is not an object"))
            continue
        for scope, entries in _scope_spans(resource_spans):
            for entry in entries:
                _read_span(entry, scope, spans, problems)
    return spans, problems
