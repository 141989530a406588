"""xrayctl's own `--output json` read back into traces: `show-trace --input` of a file xrayctl wrote.

The schema is the one `xrayctl.render.schema` writes (the README's JSON output section): `{"traces": [...]}`
from `show-trace`, `{"invocations": [...], "traces": [...]}` from `invoke`, or one trace object. Reading a
file and writing it with `-o json` again gives the same bytes: each field the writer takes from the model is
read back into the model as it was written (labels, self times, statuses and warnings are not derived
again), and what the writer derives from them (durations, offsets, node counts) comes out the same.

The file comes from outside like any input: every field's type is checked, and a file that does not hold this
schema is an `InputError` naming the first field that is wrong (`traces[0].roots[2].children[1].start_time`).
Trees are rebuilt without recursion: a 5,000-level trace reads back as it was written.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from xrayctl.errors import InputError
from xrayctl.trace.fields import describe
from xrayctl.trace.model import STATUS_SEVERITY, ExceptionInfo, Node, Trace

_KINDS = ("segment", "subsegment", "inferred")
# Summary fields that are times: botocore gives datetimes, the writer writes ISO 8601, and they are read back
# as datetimes so that the header shows them and writing them again gives the same text.
_SUMMARY_TIMES = ("StartTime", "MatchedEventTime")

# A place in the file, built only when a field is wrong: (the place it is in, the key or index under it).
_Where = tuple[Any, str | int] | None


def is_saved_json(data: Any) -> bool:
    """Whether `data` is xrayctl's own JSON output (a trace object, or an object holding a list of them)."""
    if not isinstance(data, Mapping):
        return False
    if "roots" in data and "trace_id" in data:
        return True
    if "invocations" in data:
        return True
    traces = data.get("traces")
    return isinstance(traces, list) and any(isinstance(t, Mapping) and "roots" in t for t in traces)


def traces_from_saved(data: Mapping[str, Any]) -> list[Trace]:
    """The traces in xrayctl's own JSON output; InputError naming the first field that is not the schema's."""
    if "roots" in data and "trace_id" in data:
        return [_trace(data, None)]
    entries = _field(data, "traces", None, list, "a list of traces")
    traces = []
    for index, entry in enumerate(entries):
        where = ((None, "traces"), index)
        traces.append(_trace(_object(entry, where), where))
    return traces


def _place(where: _Where) -> str:
    parts: list[str] = []
    while where is not None:
        where, step = where
        parts.append(f"[{step}]" if isinstance(step, int) else f".{step}")
    return "".join(reversed(parts)).lstrip(".") or "the file"


def _wrong(where: _Where, value: Any, expected: str) -> InputError:
    return InputError(
        f"{_place(where)} is {describe(value)}, not {expected}: this is not xrayctl's --output json.",
        "Give the file as xrayctl wrote it, or a saved `aws xray batch-get-traces` response.",
    )


def _object(value: Any, where: _Where) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _wrong(where, value, "an object")
    return value


def _field(
    obj: Mapping[str, Any], key: str, where: _Where, kinds: type | tuple[type, ...], expected: str
) -> Any:
    if key not in obj:
        raise InputError(
            f"{_place((where, key))} is missing: this is not xrayctl's --output json.",
            "Give the file as xrayctl wrote it, or a saved `aws xray batch-get-traces` response.",
        )
    value = obj[key]
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _as_tuple(kinds)):
        raise _wrong((where, key), value, expected)
    return value


def _as_tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _text(obj: Mapping[str, Any], key: str, where: _Where, *, optional: bool = False) -> Any:
    kinds = (str, type(None)) if optional else str
    return _field(obj, key, where, kinds, "a string or null" if optional else "a string")


def _seconds(obj: Mapping[str, Any], key: str, where: _Where) -> float | None:
    value = _field(obj, key, where, (int, float, type(None)), "a number of seconds or null")
    if isinstance(value, float) and not math.isfinite(value):
        raise _wrong((where, key), value, "a number of seconds or null")
    return value


def _strings(obj: Mapping[str, Any], key: str, where: _Where) -> list[str]:
    values = _field(obj, key, where, list, "a list of strings")
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise _wrong(((where, key), index), value, "a string")
    return list(values)


def _dict(obj: Mapping[str, Any], key: str, where: _Where) -> dict[str, Any]:
    value = _field(obj, key, where, dict, "an object")
    return value


def _summary(obj: Mapping[str, Any], where: _Where) -> dict[str, Any] | None:
    summary = _field(obj, "summary", where, (dict, type(None)), "an object or null")
    if summary is None:
        return None
    summary = dict(summary)
    for key in _SUMMARY_TIMES:
        value = summary.get(key)
        if isinstance(value, str):
            # Not a time datetime reads: kept as written, shown as it is, and written back the same.
            with contextlib.suppress(ValueError):
                summary[key] = datetime.fromisoformat(value)
    return summary


def _trace(entry: Mapping[str, Any], where: _Where) -> Trace:
    trace = Trace(
        id=_text(entry, "trace_id", where),
        warnings=_strings(entry, "warnings", where),
        limit_exceeded=_field(entry, "limit_exceeded", where, bool, "true or false"),
        summary=_summary(entry, where),
    )
    roots = _field(entry, "roots", where, list, "a list of nodes")
    nodes: list[Node] = []
    # (node object, its parent, where it is): children are read after their parent, never by recursion.
    pending: list[tuple[Any, Node | None, _Where]] = [
        (root, None, ((where, "roots"), index)) for index, root in reversed(list(enumerate(roots)))
    ]
    while pending:
        value, parent, place = pending.pop()
        node = _node(_object(value, place), place, parent)
        nodes.append(node)
        if parent is None:
            trace.roots.append(node)
        else:
            parent.children.append(node)
        children = _field(value, "children", place, list, "a list of nodes")
        under: _Where = (place, "children")
        pending.extend((child, node, (under, index)) for index, child in reversed(list(enumerate(children))))
    starts = [node.start_time for node in nodes if node.start_time is not None]
    ends = [node.end_time for node in nodes if node.end_time is not None]
    trace.start_time = min(starts, default=None)
    trace.end_time = max(ends, default=None)
    trace.node_count = len(nodes)
    trace.max_depth = max((node.depth for node in nodes), default=0)
    trace.in_progress = any(node.in_progress for node in nodes)
    return trace


def _node(entry: Mapping[str, Any], where: _Where, parent: Node | None) -> Node:
    kind = _field(entry, "kind", where, str, "segment, subsegment or inferred")
    if kind not in _KINDS:
        raise _wrong((where, "kind"), kind, "segment, subsegment or inferred")
    status = _field(entry, "status", where, str, "ok, error, throttle or fault")
    if status not in STATUS_SEVERITY:
        raise _wrong((where, "status"), status, "ok, error, throttle or fault")
    annotations = _dict(entry, "annotations", where)
    for key, value in annotations.items():
        if not isinstance(value, (str, int, float)):  # bool is an int
            raise _wrong(((where, "annotations"), key), value, "a string, number or boolean")
    return Node(
        id=_text(entry, "id", where),
        name=_text(entry, "name", where),
        kind=kind,
        origin=_text(entry, "origin", where, optional=True),
        namespace=_text(entry, "namespace", where, optional=True),
        label=_text(entry, "label", where),
        start_time=_seconds(entry, "start_time", where),
        end_time=_seconds(entry, "end_time", where),
        self_time=_seconds(entry, "self_time", where),
        in_progress=_field(entry, "in_progress", where, bool, "true or false"),
        status=status,
        http_status=_field(entry, "http_status", where, (int, type(None)), "an integer or null"),
        annotations=annotations,
        metadata=_dict(entry, "metadata", where),
        http=_dict(entry, "http", where),
        aws=_dict(entry, "aws", where),
        sql=_dict(entry, "sql", where),
        exceptions=_exceptions(entry, where),
        links=_links(entry, where),
        extra=_dict(entry, "extra", where),
        warnings=_strings(entry, "warnings", where),
        parent=parent,
        depth=0 if parent is None else parent.depth + 1,
    )


def _exceptions(entry: Mapping[str, Any], where: _Where) -> list[ExceptionInfo]:
    found = []
    for index, value in enumerate(_field(entry, "exceptions", where, list, "a list of exceptions")):
        place = ((where, "exceptions"), index)
        exception = _object(value, place)
        found.append(
            ExceptionInfo(
                message=_text(exception, "message", place),
                type=_text(exception, "type", place, optional=True),
                id=_text(exception, "id", place, optional=True),
                remote=_field(exception, "remote", place, bool, "true or false"),
                stack=_strings(exception, "stack", place),
                truncated=_field(exception, "truncated", place, int, "an integer"),
            )
        )
    return found


def _links(entry: Mapping[str, Any], where: _Where) -> list[dict[str, Any]]:
    links = _field(entry, "links", where, list, "a list of links")
    for index, link in enumerate(links):
        if not isinstance(link, dict):
            raise _wrong(((where, "links"), index), link, "an object")
    return list(links)
