"""One row per trace, for the lists that follow traces (`browse`, `tail`): from a GetTraceSummaries entry, or
from a tree when there is no summary (`--input` files).

A row holds what the X-Ray console's trace list shows: start, duration, response time, status, entry point,
HTTP status and the annotations, with each annotation key's distinct values. Strings are as X-Ray has them;
renderers clean them for the terminal (`xrayctl.text.sanitize`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from xrayctl.trace.annotations import from_summary
from xrayctl.trace.fields import integer
from xrayctl.trace.model import STATUS_SEVERITY, AnnotationValue, Node, Status, Trace
from xrayctl.trace.status import trace_statuses

SORT_COLUMNS = ("start", "duration", "response", "status", "entry", "http", "id")


@dataclass(frozen=True, slots=True)
class TraceRow:
    trace_id: str
    start: float | None  # epoch seconds
    duration: float | None  # seconds, first start to last end
    response: float | None  # seconds, the entry segment alone
    status: Status
    entry: str | None = None  # the entry point's name
    entry_type: str | None = None  # its type or origin (AWS::Lambda, ...)
    http_status: int | None = None
    annotations: dict[str, tuple[AnnotationValue, ...]] = field(default_factory=dict)
    partial: bool = False  # X-Ray is still receiving it (IsPartial, or a node in progress)
    revision: int | None = None  # the summary's Revision: a new one means the trace changed

    # The figures `trace.ranking.rank` reads (a row is ranked as list-annotations ranks a summary's).
    @property
    def start_time(self) -> float | None:
        return self.start

    @property
    def response_time(self) -> float | None:
        return self.response

    def sort_key(self, column: str) -> tuple[int, Any]:
        """A key that sorts rows by `column` (one of SORT_COLUMNS, or `annotation:KEY`); missing values last
        in an ascending sort."""
        value: Any
        if column.startswith("annotation:"):
            values = self.annotations.get(column.partition(":")[2])
            if not values:
                return (1, 0)
            first = values[0]
            # Numbers before strings, compared among themselves; booleans as numbers.
            return (0, (0, float(first), "") if isinstance(first, (int, float)) else (1, 0.0, str(first)))
        if column == "status":
            value = STATUS_SEVERITY[self.status]
        elif column == "entry":
            value = (self.entry or "").lower()
        elif column == "http":
            value = self.http_status
        elif column == "id":
            value = self.trace_id
        else:
            value = getattr(self, column)
        return (1, 0) if value is None else (0, value)


def row_from_summary(summary: Mapping[str, Any]) -> TraceRow:
    """The row of a botocore-parsed GetTraceSummaries entry."""
    annotated = from_summary(summary)
    entry = summary.get("EntryPoint")
    entry = entry if isinstance(entry, Mapping) else {}
    http = summary.get("Http")
    http = http if isinstance(http, Mapping) else {}
    revision = summary.get("Revision")
    return TraceRow(
        trace_id=annotated.trace_id,
        start=_epoch(annotated.start_time),
        duration=_number(annotated.duration),
        response=_number(annotated.response_time),
        status=annotated.status,
        entry=_text(entry.get("Name")),
        entry_type=_text(entry.get("Type")),
        http_status=integer(http.get("HttpStatus")),
        annotations=annotated.annotations,
        partial=summary.get("IsPartial") is True,
        revision=revision if isinstance(revision, int) and not isinstance(revision, bool) else None,
    )


def row_from_trace(trace: Trace) -> TraceRow:
    """The row of a tree: its summary's when it has one, else what the tree itself says (as X-Ray would)."""
    if trace.summary is not None and trace.summary.get("Id") == trace.id:
        row = row_from_summary(trace.summary)
        return row if trace.start_time is None or row.start is not None else _with_tree_times(row, trace)
    entry = entry_root(trace)
    response = entry.duration if entry is not None and entry.kind == "segment" else None
    annotations: dict[str, list[AnnotationValue]] = {}
    for node in trace.walk():
        for key, value in node.annotations.items():
            values = annotations.setdefault(key, [])
            if not any(type(known) is type(value) and known == value for known in values):
                values.append(value)
    return TraceRow(
        trace_id=trace.id,
        start=trace.start_time,
        duration=trace.duration,
        response=response,
        status=trace_statuses(trace, None)[0],
        entry=entry.name if entry is not None else None,
        entry_type=entry.origin if entry is not None else None,
        http_status=entry.http_status if entry is not None else None,
        annotations={key: tuple(values) for key, values in annotations.items()},
        partial=trace.in_progress,
    )


def entry_root(trace: Trace) -> Node | None:
    """The root that started first: the request that began the trace."""
    timed = [root for root in trace.roots if root.start_time is not None]
    if timed:
        return min(timed, key=lambda root: root.start_time or 0.0)
    return trace.roots[0] if trace.roots else None


def annotation_keys(rows: Iterable[TraceRow]) -> list[str]:
    """Every annotation key of the rows, the ones on most rows first, then by name."""
    counts: dict[str, int] = {}
    for row in rows:
        for key in row.annotations:
            counts[key] = counts.get(key, 0) + 1
    return sorted(counts, key=lambda key: (-counts[key], key))


def _with_tree_times(row: TraceRow, trace: Trace) -> TraceRow:
    from dataclasses import replace

    return replace(row, start=trace.start_time, duration=row.duration or trace.duration)


def _epoch(value: object) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    return _number(value)


def _number(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
