"""Traces and invocations as JSON (`--output json`): the documented schema.

A trace tree can be 5,000+ levels deep, so `trace_to_dict` builds it with an explicit stack, and
`xrayctl.text.jsonwrite.dumps` writes it without recursion.

Trace object:

| field            | type             | meaning                                                              |
|------------------|------------------|----------------------------------------------------------------------|
| `trace_id`       | string           | the X-Ray trace id                                                   |
| `start_time`     | number or null   | epoch seconds of the earliest node start                             |
| `end_time`       | number or null   | epoch seconds of the latest node end                                 |
| `duration`       | number or null   | `end_time - start_time`, seconds                                     |
| `node_count`     | integer          | nodes in the tree (segments, subsegments, inferred segments)         |
| `in_progress`    | boolean          | some node has no end yet: the trace may still grow                   |
| `limit_exceeded` | boolean          | X-Ray returned only part of the trace (BatchGetTraces LimitExceeded) |
| `warnings`       | array of strings | problems found while building the tree (orphans, bad fields, ...)    |
| `summary`        | object or null   | the GetTraceSummaries entry as X-Ray returned it, times as ISO 8601  |
| `roots`          | array of nodes   | the top-level nodes, in display order                                |

Node object:

| field              | type             | meaning                                                      |
|--------------------|------------------|--------------------------------------------------------------|
| `id`               | string           | the segment or subsegment id                                 |
| `name`             | string           | its name                                                     |
| `kind`             | string           | `segment`, `subsegment` or `inferred` (added by X-Ray)       |
| `origin`           | string or null   | e.g. `AWS::Lambda::Function`, `AWS::S3::Bucket`              |
| `namespace`        | string or null   | `aws`, `remote`, `local` or null                             |
| `label`            | string           | one readable line, e.g. `S3 PutObject my-bucket/key`         |
| `start_time`       | number or null   | epoch seconds                                                |
| `end_time`         | number or null   | epoch seconds; null while in progress                        |
| `duration`         | number or null   | seconds                                                      |
| `offset`           | number or null   | seconds from the trace's `start_time` to this node's start   |
| `self_time`        | number or null   | seconds of it that no descendant, at any depth, covers       |
| `critical_time`    | number           | seconds of its own time on the critical path (0: see below)  |
| `in_progress`      | boolean          | the node has not ended                                       |
| `status`           | string           | `ok`, `error` (4xx), `throttle` (429) or `fault` (5xx)       |
| `http_status`      | integer or null  | the HTTP response status, when recorded                      |
| `annotations`      | object           | key to string, number or boolean                             |
| `metadata`         | object           | namespace to any JSON value, as recorded                     |
| `http` `aws` `sql` | object           | the document's fields of those names, as recorded            |
| `exceptions`       | array of objects | `message` `type` `id` `remote` `stack` (strings) `truncated` |
| `links`            | array of objects | span links to other traces (`trace_id`, `id`, `attributes`)  |
| `extra`            | object           | the entity's other fields as recorded (see below)            |
| `warnings`         | array of strings | problems found while placing this node                       |
| `children`         | array of nodes   | in display order (by start time)                             |

`critical_time` is 0 for a node off the critical path, and for one on it whose children cover its whole
interval (`trace.critical`).

`extra` holds every field of the segment document that the fields above do not: `resource_arn`, `service`,
`user`, `precursor_ids`, unknown keys; and under `cause`, the cause's fields besides its exceptions
(`working_directory`, `paths`).

An invocation (`invoke --output json`) is `function_name`, `status_code`, `function_error` (null or e.g.
`Unhandled`), `executed_version`, `request_id`, `trace_id`, `payload` (the response payload as text),
`payload_json` (that text parsed, or null when it is not JSON), `log_tail` (text or null); from the log
tail's REPORT line `cold_start` (true when Lambda initialised the function for it: the line has an Init
Duration), `init_duration` and `duration` (seconds: the initialisation, on a cold start, and the handler's
run), each null without a REPORT line; and `trace_status` (`ok`, `error`, `throttle` or `fault`: the
trace's, as its summary flags it, so a 200 over a faulted trace shows; null when the trace was not read).
"""

from __future__ import annotations

from typing import Any

from xrayctl.aws.invoke import InvocationResult, parse_payload, payload_text
from xrayctl.text.jsonwrite import json_safe
from xrayctl.trace.critical import CriticalPath, critical_path
from xrayctl.trace.model import Node, Trace
from xrayctl.trace.status import trace_status


def trace_to_dict(trace: Trace) -> dict[str, Any]:
    """The trace in the schema above. Raw dicts (metadata, http, ...) are the model's own, not copies."""
    roots: list[dict[str, Any]] = []
    critical = critical_path(trace)
    stack: list[tuple[Node, list[dict[str, Any]]]] = [(root, roots) for root in reversed(trace.roots)]
    while stack:
        node, siblings = stack.pop()
        entry = _node_dict(trace, node, critical)
        siblings.append(entry)
        stack.extend((child, entry["children"]) for child in reversed(node.children))
    return {
        "trace_id": trace.id,
        "start_time": trace.start_time,
        "end_time": trace.end_time,
        "duration": trace.duration,
        "node_count": trace.node_count,
        "in_progress": trace.in_progress,
        "limit_exceeded": trace.limit_exceeded,
        "warnings": list(trace.warnings),
        "summary": json_safe(trace.summary) if trace.summary is not None else None,
        "roots": roots,
    }


def invocation_to_dict(result: InvocationResult, trace: Trace | None = None) -> dict[str, Any]:
    """An invocation result in the schema above; `trace`: its trace, once read."""
    text = payload_text(result.payload)
    report = result.report
    return {
        "function_name": result.function_name,
        "status_code": result.status_code,
        "function_error": result.function_error,
        "executed_version": result.executed_version,
        "request_id": result.request_id,
        "trace_id": result.trace_id,
        "payload": text,
        "payload_json": parse_payload(text)[1],
        "log_tail": result.log_tail,
        "cold_start": result.cold_start,
        "init_duration": report.init_duration if report else None,
        "duration": report.duration if report else None,
        "trace_status": trace_status(trace) if trace is not None else None,
    }


def _node_dict(trace: Trace, node: Node, critical: CriticalPath) -> dict[str, Any]:
    return {
        "id": node.id,
        "name": node.name,
        "kind": node.kind,
        "origin": node.origin,
        "namespace": node.namespace,
        "label": node.label,
        "start_time": node.start_time,
        "end_time": node.end_time,
        "duration": node.duration,
        "offset": trace.offset(node),
        "self_time": node.self_time,
        "critical_time": critical.time(node),
        "in_progress": node.in_progress,
        "status": node.status,
        "http_status": node.http_status,
        "annotations": node.annotations,
        "metadata": node.metadata,
        "http": node.http,
        "aws": node.aws,
        "sql": node.sql,
        "exceptions": [
            {
                "message": exc.message,
                "type": exc.type,
                "id": exc.id,
                "remote": exc.remote,
                "stack": list(exc.stack),
                "truncated": exc.truncated,
            }
            for exc in node.exceptions
        ],
        "links": node.links,
        "extra": node.extra,
        "warnings": list(node.warnings),
        "children": [],
    }
