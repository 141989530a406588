"""The segment documents the Lambda service itself records for one traced invocation.

Real Lambda (active tracing) writes two segments per invocation, in the shape of
tests/fixtures/xray-real/traces/iatk-lambda-traceWithLinks01.json:

- `AWS::Lambda`: the service receiving the Invoke call. `http.response.status` is 200, or 202 for an Event
  invocation, whose segment ends when the request is queued and carries `Dwell Time` and `Attempt #1`
  subsegments that run past its end (as in the async fixture in xray-real/derived).
- `AWS::Lambda::Function`: the function's execution environment, parented to the `AWS::Lambda` segment, with
  `Initialization` (cold start only; it starts before its parent, as in real traces: never clamp it),
  `Invocation` and `Overhead`. The function's own subsegments, sent by the X-Ray SDK with
  `parent_id` = the Invocation id, nest under Invocation.

Failures: Lambda's runtimes report an unhandled exception with the `Lambda-Runtime-Function-XRay-Error-Cause`
header (awslambdaric builds it with `make_xray_fault`), a `cause` object in the segment document format. This
module marks the Function segment `fault: true` with that cause, and the subsegment where it happened
(Invocation, or Initialization for an init error) `fault: true` with the exception's id as its cause, which
the segment format allows instead of repeating the exception. Fault, not error, because an unhandled function
error, a timeout and a crash are all reported by Lambda as `FunctionError: Unhandled` with a 200 to the
caller, i.e. a failure of the service behind the call, not of the request; the fixtures hold no real failed
Lambda trace to confirm which flag Lambda sets, so that is a judgement, not a copy. The `AWS::Lambda` segment
stays unmarked: the Invoke call itself succeeded.

The cause the function sends is untrusted (the function can post anything to the Runtime API), so it is parsed
defensively and rebuilt from known fields only, which also bounds its nesting before `json.dumps`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LOCAL_ACCOUNT_ID = "000000000000"
_MAX_EXCEPTIONS = 10
_MAX_FRAMES = 100
_MAX_TEXT = 4096


def new_segment_id() -> str:
    """A segment or subsegment id: 16 hex digits, as X-Ray requires."""
    return secrets.token_hex(8)


def function_arn(region: str, name: str) -> str:
    return f"arn:aws:lambda:{region}:{LOCAL_ACCOUNT_ID}:function:{name}"


Window = tuple[float, float]  # (start, end) in epoch seconds


@dataclass(frozen=True)
class FunctionFailure:
    """An invocation that ended in a function error, a timeout, a crash or an init error."""

    error_type: str
    message: str
    # The runtime's X-Ray cause header or error document, as sent; None when Lambda itself ended the run.
    xray_cause: str | None = None
    in_init: bool = False  # the failure happened before the handler ran


@dataclass(frozen=True)
class InvocationRecord:
    """What the local Lambda service observed about one invocation, in epoch seconds."""

    trace_id: str
    caller_parent_id: str | None  # Parent= of the caller's trace header
    function_name: str
    region: str
    request_id: str
    service_segment_id: str
    function_segment_id: str
    invocation_id: str  # also the Parent= given to the function
    received: float  # the Invoke request arrived
    responded: float  # the Invoke response was sent (Event: the 202)
    init: Window | None  # cold start only
    invocation: Window | None  # None when the handler never got the event
    overhead_end: float | None  # the runtime asked for its next event; None if it never did
    asynchronous: bool = False
    failure: FunctionFailure | None = None


def lambda_segments(record: InvocationRecord) -> list[str]:
    """The `AWS::Lambda` and `AWS::Lambda::Function` documents for `record`, as JSON strings."""
    return [
        json.dumps(doc, separators=(",", ":"))
        for doc in (_service_segment(record), _function_segment(record))
    ]


def _service_segment(record: InvocationRecord) -> dict[str, Any]:
    arn = function_arn(record.region, record.function_name)
    doc: dict[str, Any] = {
        "id": record.service_segment_id,
        "name": record.function_name,
        "start_time": record.received,
        "trace_id": record.trace_id,
        "end_time": record.responded,
    }
    if record.caller_parent_id:
        doc["parent_id"] = record.caller_parent_id
    doc["http"] = {"response": {"status": 202 if record.asynchronous else 200}}
    doc["aws"] = {"request_id": record.request_id}
    doc["origin"] = "AWS::Lambda"
    doc["resource_arn"] = arn
    if record.asynchronous:
        attempt_start = _function_start(record)
        attempt_end = _function_end(record)
        doc["subsegments"] = [
            {
                "id": new_segment_id(),
                "name": "Dwell Time",
                "start_time": record.received,
                "end_time": attempt_start,
            },
            {
                "id": new_segment_id(),
                "name": "Attempt #1",
                "start_time": attempt_start,
                "end_time": attempt_end,
                "http": {"response": {"status": 200}},
            },
        ]
    return doc


def _function_start(record: InvocationRecord) -> float:
    # The real Function segment starts with Invocation; Initialization sticks out before it.
    if record.invocation is not None:
        return record.invocation[0]
    return record.init[0] if record.init is not None else record.received


def _function_end(record: InvocationRecord) -> float:
    ends = [window[1] for window in (record.init, record.invocation) if window is not None]
    if record.overhead_end is not None:
        ends.append(record.overhead_end)
    return max(ends, default=_function_start(record))


def _function_segment(record: InvocationRecord) -> dict[str, Any]:
    arn = function_arn(record.region, record.function_name)
    arn_only = {"function_arn": arn}
    subsegments: list[dict[str, Any]] = []
    init_doc: dict[str, Any] | None = None
    invocation_doc: dict[str, Any] | None = None
    if record.init is not None:
        init_doc = {"id": new_segment_id(), "name": "Initialization", "start_time": record.init[0]}
        init_doc.update(end_time=record.init[1], aws=dict(arn_only))
        subsegments.append(init_doc)
    if record.invocation is not None:
        invocation_doc = {
            "id": record.invocation_id,
            "name": "Invocation",
            "start_time": record.invocation[0],
        }
        invocation_doc.update(end_time=record.invocation[1], aws=dict(arn_only))
        subsegments.append(invocation_doc)
        if record.overhead_end is not None:
            subsegments.append(
                {
                    "id": new_segment_id(),
                    "name": "Overhead",
                    "start_time": record.invocation[1],
                    "end_time": max(record.overhead_end, record.invocation[1]),
                    "aws": dict(arn_only),
                }
            )
    doc: dict[str, Any] = {
        "id": record.function_segment_id,
        "name": record.function_name,
        "start_time": _function_start(record),
        "trace_id": record.trace_id,
        "end_time": _function_end(record),
        "parent_id": record.service_segment_id,
        "aws": {
            "account_id": LOCAL_ACCOUNT_ID,
            "function_arn": arn,
            "cloudwatch_logs": [{"log_group": f"/aws/lambda/{record.function_name}"}],
            "resource_names": [record.function_name],
        },
        "origin": "AWS::Lambda::Function",
    }
    if record.failure is not None:
        cause = failure_cause(record.failure)
        doc["fault"] = True
        doc["cause"] = cause
        where = init_doc if record.failure.in_init or invocation_doc is None else invocation_doc
        if where is not None:
            where["fault"] = True
            where["cause"] = cause["exceptions"][0]["id"]
    if subsegments:
        doc["subsegments"] = subsegments
    return doc


def failure_cause(failure: FunctionFailure) -> dict[str, Any]:
    """A segment `cause` for `failure`: the runtime's own X-Ray cause when it is usable, else built from the
    error type and message. Always has at least one exception, each with an id."""
    cause = _parse_runtime_cause(failure.xray_cause) if failure.xray_cause else None
    if cause is None:
        cause = {"exceptions": [{"message": _text(failure.message), "type": _text(failure.error_type)}]}
    for exception in cause["exceptions"]:
        exception["id"] = new_segment_id()
    return cause


def _parse_runtime_cause(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # deep nesting from a hostile function must not crash the service
        return None
    if not isinstance(data, Mapping) or not isinstance(data.get("exceptions"), list):
        return None
    exceptions = [
        _exception(item) for item in data["exceptions"][:_MAX_EXCEPTIONS] if isinstance(item, Mapping)
    ]
    if not exceptions:
        return None
    cause: dict[str, Any] = {"exceptions": exceptions}
    if isinstance(data.get("working_directory"), str):
        cause["working_directory"] = _text(data["working_directory"])
    if isinstance(data.get("paths"), list):
        cause["paths"] = [_text(path) for path in data["paths"][:_MAX_FRAMES] if isinstance(path, str)]
    return cause


def _exception(item: Mapping[str, Any]) -> dict[str, Any]:
    exception: dict[str, Any] = {"message": _text(item.get("message")), "type": _text(item.get("type"))}
    frames = item.get("stack")
    if isinstance(frames, list):
        stack = []
        for frame in frames[:_MAX_FRAMES]:
            if isinstance(frame, Mapping):
                line = frame.get("line")
                entry: dict[str, Any] = {"path": _text(frame.get("path")), "label": _text(frame.get("label"))}
                if isinstance(line, int) and not isinstance(line, bool):
                    entry["line"] = line
                stack.append(entry)
        exception["stack"] = stack
        if len(frames) > _MAX_FRAMES:
            exception["truncated"] = len(frames) - _MAX_FRAMES
    return exception


def _text(value: object) -> str:
    if not isinstance(value, str):
        return ""
    if len(value) <= _MAX_TEXT:
        return value
    # A segment document is capped at 64 KB: keep the start, and say how much was cut.
    return f"{value[:_MAX_TEXT]}... [{len(value) - _MAX_TEXT} more characters]"
