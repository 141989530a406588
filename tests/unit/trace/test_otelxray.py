"""OTLP spans -> segment documents: the awsxrayexporter's own test cases (tests/fixtures/otel), and the
shapes the local stack and --input rely on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.paths import FIXTURES
from xrayctl.trace.otelxray import annotation_key, segment_name, span_documents, to_documents
from xrayctl.trace.otlp import KIND_NAMES, STATUS_NAMES, Event, Scope, Span

EXPORTER_CASES = json.loads((FIXTURES / "otel" / "awsxrayexporter_segment_test.json").read_text())
TRACE_ID = "6b04c851f14fec967f9786633c368d55"
START = 1_700_000_000_000_000_000


def exporter_span(case: dict[str, Any]) -> Span:
    spec = case["span"]
    resource = EXPORTER_CASES["default_resource"] if case["resource"] == "default" else case["resource"]
    return Span(
        trace_id=TRACE_ID,
        span_id="53995c3f42cd8ad8",
        parent_span_id="def7dd6a31f0b1c7" if spec["has_parent"] else "",
        name=spec["name"],
        kind=KIND_NAMES.index(spec["kind"]),
        start_ns=START,
        end_ns=START + 215_000_000,
        attributes=dict(spec["attributes"]),
        scope=Scope(resource=dict(resource)),
        status_code=STATUS_NAMES.index(spec["status"]["code"]),
        status_message=spec["status"]["message"],
        events=[Event(e["name"], START, e["attributes"]) for e in spec.get("events", [])],
    )


def field(document: dict[str, Any], path: str) -> Any:
    if path.startswith("metadata.default."):
        return document.get("metadata", {}).get("default", {}).get(path[len("metadata.default.") :])
    head, _, rest = path.partition(".")
    value = document.get(head)
    return value.get(rest) if rest and isinstance(value, dict) else value


@pytest.mark.parametrize("case", EXPORTER_CASES["cases"], ids=lambda case: case["test"])
def test_a_span_becomes_the_segment_the_awsxrayexporter_makes(case: dict[str, Any]) -> None:
    (document,) = span_documents(exporter_span(case))
    for path, expected in case["expect"].items():
        value = field(document, path)
        if expected == "present":
            assert value, path
        elif expected is None:
            assert not value, path  # absent or empty, as the Go test's Nil / Empty
        else:
            assert value == expected, path


@pytest.mark.parametrize("given, cleaned", EXPORTER_CASES["segment_names"]["cases"])
def test_segment_names_lose_the_characters_xray_refuses(given: str, cleaned: str) -> None:
    assert segment_name(given) == cleaned


@pytest.mark.parametrize("given, cleaned", EXPORTER_CASES["annotation_keys"]["cases"])
def test_annotation_keys_keep_letters_digits_and_underscores(given: str, cleaned: str) -> None:
    assert annotation_key(given) == cleaned


def span(span_id: str, parent: str = "", kind: str = "INTERNAL", **attributes: Any) -> Span:
    return Span(
        trace_id=TRACE_ID,
        span_id=span_id,
        parent_span_id=parent,
        name=f"op-{span_id[-2:]}",
        kind=KIND_NAMES.index(kind),
        start_ns=START,
        end_ns=START + 1_000_000,
        attributes=attributes,
        scope=Scope(name="tests", resource={"service.name": "svc"}),
    )


def test_w3c_trace_ids_become_xray_ids_and_span_ids_segment_ids() -> None:
    (document,) = span_documents(span("00f067aa0ba902b7"))
    assert document["trace_id"] == "1-6b04c851-f14fec967f9786633c368d55"
    assert document["id"] == "00f067aa0ba902b7"


def test_a_server_span_with_a_parent_is_a_segment_under_that_parent() -> None:
    # The Lambda function's span: its parent is Lambda's Invocation subsegment, from the trace header.
    (document,) = span_documents(span("00f067aa0ba902b7", "a1b2c3d4e5f60718", "SERVER"))
    assert "type" not in document and document["parent_id"] == "a1b2c3d4e5f60718"
    assert document["name"] == "svc"


def test_a_local_root_client_span_splits_into_a_service_segment_and_its_call() -> None:
    client = span(
        "00f067aa0ba902b7",
        kind="CLIENT",
        **{"aws.span.kind": "LOCAL_ROOT", "aws.local.service": "svc", "aws.remote.service": "AWS::S3",
           "rpc.system": "aws-api", "rpc.method": "PutObject"},
    )  # fmt: skip
    dependency, service = span_documents(client)
    assert (service["name"], service.get("type"), service.get("parent_id")) == ("svc", None, None)
    assert (dependency["name"], dependency["type"], dependency["namespace"]) == ("S3", "subsegment", "aws")
    assert dependency["parent_id"] == service["id"] and dependency["id"] == "00f067aa0ba902b7"
    assert dependency["aws"]["operation"] == "PutObject" and "aws" not in service
    # The same file read twice gives the same tree: the service segment's id is derived, not drawn.
    assert span_documents(client)[1]["id"] == service["id"]


def test_what_xray_has_no_field_for_is_kept_under_otel() -> None:
    item = span("00f067aa0ba902b7", kind="PRODUCER")
    item.status_code, item.status_message = 2, "queue full"
    item.events = [Event("retry", START + 5, {"attempt": 2})]
    item.trace_state = "vendor=1"
    (document,) = span_documents(item)
    assert document["otel"] == {
        "kind": "PRODUCER",
        "status": {"code": "ERROR", "message": "queue full"},
        "events": [{"name": "retry", "time": (START + 5) / 1e9, "attributes": {"attempt": 2}}],
        "trace_state": "vendor=1",
        "scope": {"name": "tests", "version": ""},
    }


def test_python_exception_events_become_causes_with_their_frames() -> None:
    item = span("00f067aa0ba902b7")
    item.scope.resource["telemetry.sdk.language"] = "python"
    stack = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/app.py", line 10, in handler\n    put()\n'
        '  File "/var/task/app.py", line 4, in put\n    raise ValueError("no")\n'
        "ValueError: no\n"
    )
    attrs = {"exception.type": "ValueError", "exception.message": "no", "exception.stacktrace": stack}
    item.events = [Event("exception", START, attrs)]
    item.status_code = 2
    (document,) = span_documents(item)
    (exception,) = document["cause"]["exceptions"]
    assert (exception["type"], exception["message"], document["fault"]) == ("ValueError", "no", True)
    assert exception["stack"] == [
        {"path": "/var/task/app.py", "line": 4, "label": "put"},
        {"path": "/var/task/app.py", "line": 10, "label": "handler"},
    ]


def test_spans_with_all_zero_ids_are_returned_as_problems_not_documents() -> None:
    good = span("00f067aa0ba902b7")
    zero_span = span("0000000000000000")
    zero_trace = span("00f067aa0ba902b8")
    zero_trace.trace_id = "0" * 32
    documents, problems = to_documents([good, zero_span, zero_trace])
    assert [d["id"] for d in documents] == ["00f067aa0ba902b7"]
    assert sorted(p.reason for p in problems) == [
        "span id is missing or all zeros",
        "trace id is missing or all zeros",
    ]
