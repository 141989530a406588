"""Typed fields of one entity: status from marks and codes, HTTP status, exceptions, odd values described."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import FIXTURES
from xrayctl.trace import fields
from xrayctl.trace.build import build_trace, traces_from_batch
from xrayctl.trace.model import Trace

SEGMENTS = FIXTURES / "xray-real" / "segments"
DERIVED = FIXTURES / "xray-real" / "derived"


def from_file(path: Path) -> Trace:
    data = json.loads(path.read_text())
    if "Traces" in data:
        [trace] = traces_from_batch(data)
        return trace
    return build_trace("", [data])


def labelled(trace: Trace) -> list[tuple[str, str]]:
    return [(node.name, node.label) for node in trace.walk()]


@pytest.mark.parametrize(
    ("document", "code", "expected"),
    [
        ({}, 200, "ok"),
        ({}, None, "ok"),
        ({"error": True}, None, "error"),
        ({}, 404, "error"),
        ({"throttle": True}, None, "throttle"),
        ({}, 429, "throttle"),
        ({"fault": True}, 200, "fault"),
        ({}, 502, "fault"),
        ({"error": True, "throttle": True}, 500, "fault"),
        ({"error": True, "throttle": True}, None, "throttle"),
        ({"fault": False, "error": "true"}, None, "error"),
    ],
)
def test_status_is_the_worst_mark(document: dict[str, Any], code: int | None, expected: str) -> None:
    warnings: list[str] = []
    assert fields.status(document, code, warnings.append) == expected
    assert warnings == []


def test_status_of_real_documents_and_odd_flags() -> None:
    [throttled] = from_file(SEGMENTS / "minOtherFields.txt").roots
    assert throttled.status == "throttle"
    warnings: list[str] = []
    assert fields.status({"fault": 1, "error": "maybe"}, None, warnings.append) == "ok"
    assert warnings == [
        "fault is 1, not true or false: taken as false",
        "error is 'maybe', not true or false: taken as false",
    ]


@pytest.mark.parametrize(
    ("http", "expected"),
    [
        ({"response": {"status": 200}}, 200),
        ({"response": {"status": "503"}}, 503),
        ({"response": {"status": 404.0}}, 404),
        ({"response": {"status": True}}, None),
        ({"response": {"status": "OK"}}, None),
        ({"response": "200"}, None),
        ({}, None),
    ],
)
def test_http_status_is_the_response_status_when_it_is_a_whole_number(
    http: dict[str, Any], expected: int | None
) -> None:
    assert fields.http_status(http) == expected


def test_exceptions_with_stacks_from_a_real_go_document() -> None:
    [segment] = from_file(SEGMENTS / "ddbSample.txt").roots
    [exception] = segment.exceptions
    assert exception.id == "3e9e11e3ab3fba60" and exception.type == "dynamodb.ResourceNotFoundException"
    assert exception.message == "ResourceNotFoundException: Requested resource not found"
    assert exception.stack[-2:] == ["runtime/proc.go:203 in main", "runtime/asm_amd64.s:1373 in goexit"]
    assert exception.remote is True  # the error came back from DynamoDB


def test_exceptions_tolerate_partial_frames_and_wrong_types() -> None:
    warnings: list[str] = []
    cause = {
        "exceptions": [
            {
                "message": "m",
                "stack": [{"path": "a.py"}, {"line": 3, "label": "f"}, "raw frame"],
                "truncated": "2",
            },
            {"message": 5, "remote": "yes", "stack": {"path": "b.py"}, "truncated": 1.5},
            "just text",
        ]
    }
    found, ident = fields.exceptions(cause, warnings.append)
    assert ident is None
    assert [(e.message, e.stack, e.truncated, e.remote) for e in found] == [
        ("m", ["a.py", "?:3 in f", "raw frame"], 2, False),
        ("5", ["b.py"], 0, False),
        ("just text", [], 0, False),
    ]
    assert len(warnings) == 3
    assert fields.exceptions("0123456789abcdef", warnings.append) == ([], "0123456789abcdef")
    assert fields.exceptions({"working_directory": "/x"}, warnings.append) == ([], None)


def test_unexpected_values_are_described_without_recursing_into_them() -> None:
    deep: Any = []
    for _ in range(50_000):
        deep = [deep]
    assert fields.describe(deep) == "an array"
    assert fields.describe({"a": deep}) == "an object"
    assert fields.describe("x" * 100).endswith("…") and len(fields.describe("x" * 100)) == 40
    assert (
        fields.text(["a", "b"]) == "a,b" and fields.text(True) == "true" and fields.text(deep) == "an array"
    )
    [node] = build_trace(
        "t", [{"id": "a", "name": "n", "start_time": 1.0, "end_time": 2.0, "annotations": {"k": deep}}]
    ).roots
    assert node.annotations == {} and node.warnings == [
        "annotation 'k' is an array, not a string, number or boolean: dropped"
    ]
