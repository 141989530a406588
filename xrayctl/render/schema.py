"""Traces as JSON (`--output json`): a documented schema, and a serializer that survives any nesting depth.

`json.dumps` recurses once per nesting level and raises RecursionError past about 1,000 levels; a trace tree
can be 5,000+ levels deep (two JSON levels per tree level), and metadata values from a document can be deep
too. So `trace_to_dict` builds the tree with an explicit stack and `dumps` writes it with one: no recursion.
The data stays intact: characters a terminal would act on are written as JSON `\\u` escapes, never cut or
replaced.

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
| `self_time`        | number or null   | seconds spent in this node and in none of its children       |
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

`extra` holds every field of the segment document that the fields above do not: `resource_arn`, `service`,
`user`, `precursor_ids`, unknown keys; and under `cause`, the cause's fields besides its exceptions
(`working_directory`, `paths`).

An invocation (`invoke --output json`) is `function_name`, `status_code`, `function_error` (null or e.g.
`Unhandled`), `executed_version`, `request_id`, `trace_id`, `payload` (the response payload as text),
`payload_json` (that text parsed, or null when it is not JSON) and `log_tail` (text or null).

Numbers JSON cannot hold (NaN, Infinity: a hand-written input file may have them) are written as `null`;
values that are not JSON types (datetimes) are written as strings. Beyond 64 levels, indentation stops
growing, so a 5,000-level tree stays a few megabytes instead of gigabytes of spaces; the JSON is the same.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import datetime
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import TYPE_CHECKING, Any

from xrayctl.text.sanitize import UNSAFE
from xrayctl.trace.model import Node, Trace

if TYPE_CHECKING:
    from xrayctl.render.invocation import InvocationResult

MAX_INDENT_LEVELS = 64


def trace_to_dict(trace: Trace) -> dict[str, Any]:
    """The trace in the schema above. Raw dicts (metadata, http, ...) are the model's own, not copies."""
    roots: list[dict[str, Any]] = []
    stack: list[tuple[Node, list[dict[str, Any]]]] = [(root, roots) for root in reversed(trace.roots)]
    while stack:
        node, siblings = stack.pop()
        entry = _node_dict(trace, node)
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


def invocation_to_dict(result: InvocationResult) -> dict[str, Any]:
    """An invocation result in the schema above."""
    text = payload_text(result.payload)
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
    }


def payload_text(payload: bytes | str) -> str:
    """The payload as text: Lambda payloads are UTF-8 JSON; undecodable bytes show as U+FFFD."""
    return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else payload


def parse_payload(text: str) -> tuple[bool, Any]:
    """(True, value) when `text` is JSON, else (False, None); deep nesting counts as not JSON."""
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError):
        return False, None


def _node_dict(trace: Trace, node: Node) -> dict[str, Any]:
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


def json_safe(value: Any) -> Any:
    """A copy of `value` holding only JSON types: datetimes become ISO 8601 strings, tuples lists."""
    if not isinstance(value, (dict, list, tuple)):
        return _safe_scalar(value)
    root: Any = {} if isinstance(value, dict) else []
    # (source container, its copy): each container is copied once, children pushed as they are met.
    stack: list[tuple[Any, Any]] = [(value, root)]
    while stack:
        source, copy = stack.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in items:
            if isinstance(item, (dict, list, tuple)):
                child: Any = {} if isinstance(item, dict) else []
                stack.append((item, child))
                item = child
            else:
                item = _safe_scalar(item)
            if isinstance(copy, dict):
                copy[key] = item
            else:
                copy.append(item)
    return root


def _safe_scalar(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def dumps(obj: Any, indent: int | None = 2) -> str:
    """`obj` as JSON text, like `json.dumps(obj, indent=indent, ensure_ascii=False)` but at any depth."""
    return "".join(iter_json(obj, indent))


def preview(obj: Any, max_len: int) -> str:
    """Compact one-line JSON of `obj`, cut to `max_len` characters with `…`; encodes no more than that."""
    out: list[str] = []
    length = 0
    for chunk in iter_json(obj, None):
        out.append(chunk)
        length += len(chunk)
        if length > max_len:
            return "".join(out)[: max_len - 1] + "…"
    return "".join(out)


class _Frame:
    __slots__ = ("first", "is_dict", "items")

    def __init__(self, items: Iterator[Any], is_dict: bool) -> None:
        self.items = items
        self.is_dict = is_dict
        self.first = True


_END: Any = object()


def iter_json(obj: Any, indent: int | None = 2) -> Iterator[str]:
    """JSON text of `obj` in chunks, written with an explicit stack of open containers."""
    item_sep = "," if indent is not None else ", "
    stack: list[_Frame] = []
    value = obj
    pending = True  # `value` has yet to be written
    while True:
        if pending:
            pending = False
            if isinstance(value, dict):
                if value:
                    yield "{"
                    stack.append(_Frame(iter(value.items()), True))
                else:
                    yield "{}"
            elif isinstance(value, (list, tuple)):
                if value:
                    yield "["
                    stack.append(_Frame(iter(value), False))
                else:
                    yield "[]"
            else:
                yield _scalar(value)
        if not stack:
            return
        frame = stack[-1]
        item: Any = next(frame.items, _END)
        if item is _END:
            stack.pop()
            closer = "}" if frame.is_dict else "]"
            yield closer if indent is None else _newline(indent, len(stack)) + closer
            continue
        separator = "" if frame.first else item_sep
        frame.first = False
        if indent is not None:
            separator += _newline(indent, len(stack))
        if frame.is_dict:
            key, value = item
            yield separator + _key(key) + ": "
        else:
            value = item
            if separator:
                yield separator
        pending = True


def _newline(indent: int, level: int) -> str:
    return "\n" + " " * (indent * min(level, MAX_INDENT_LEVELS))


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return _string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return float.__repr__(value) if math.isfinite(value) else "null"
    if isinstance(value, datetime):
        return encode_basestring(value.isoformat())
    return _string(str(value))


def _string(value: str) -> str:
    """A JSON string, UTF-8 as it is, but for the characters a terminal would act on (C1 controls, BiDi
    overrides, lone surrogates that UTF-8 cannot even write, ...): those as `\\u` escapes."""
    text = encode_basestring(value)  # escapes C0 controls, quote and backslash
    if value.isascii() and "\x7f" not in value:
        return text
    return UNSAFE.sub(lambda match: encode_basestring_ascii(match.group())[1:-1], text)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return _string(key)
    if key is None or isinstance(key, (bool, int, float)):
        # JSON keys are strings; these become what `json.dumps` makes of them.
        return _string(_scalar(key))
    return _string(str(key))
