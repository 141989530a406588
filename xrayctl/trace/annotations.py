"""Annotations across many traces, read from GetTraceSummaries (no per-trace fetch needed).

A summary's `Annotations` maps each key to the distinct values the trace carried, each as
`{"AnnotationValue": {"NumberValue" | "StringValue" | "BooleanValue": v}, "ServiceIds": [...]}`. This module
turns summaries into rows (one per trace) and, per key and value, into counts and duration statistics.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from xrayctl.trace.model import AnnotationValue, Status

_EXACT_INT_LIMIT = 2**53  # beyond this a double no longer holds every integer: keep the float


@dataclass(frozen=True)
class AnnotatedTrace:
    trace_id: str
    start_time: datetime | None
    duration: float | None  # seconds, first segment start to last segment end
    response_time: float | None  # seconds, the root segment alone
    status: Status
    annotations: dict[str, list[AnnotationValue]]


@dataclass(frozen=True)
class ValueStats:
    """How the traces that carry `key` = `value` went: how many, and their durations (seconds)."""

    key: str
    value: AnnotationValue
    traces: int
    min: float | None
    median: float | None
    p90: float | None
    max: float | None


def from_summary(summary: Mapping[str, Any]) -> AnnotatedTrace:
    """One row from a botocore-parsed GetTraceSummaries entry."""
    return _row(summary, (summary.get("Annotations") or {}).items())


def _row(summary: Mapping[str, Any], chosen: Iterable[tuple[str, Any]]) -> AnnotatedTrace:
    """The row of `summary` with the annotations `chosen` from it ((key, entries) pairs, in column order)."""
    annotations: dict[str, list[AnnotationValue]] = {}
    for key, entries in chosen:
        # An AnnotationValue with none of the members botocore knows carries nothing that could be shown.
        values = [_value(entry.get("AnnotationValue") or {}) for entry in entries]
        annotations[key] = [value for value in values if value is not None]
    return AnnotatedTrace(
        trace_id=summary["Id"],
        start_time=summary.get("StartTime"),
        duration=summary.get("Duration"),
        response_time=summary.get("ResponseTime"),
        status=_status(summary),
        annotations=annotations,
    )


def all_keys(rows: Iterable[AnnotatedTrace]) -> list[str]:
    """Every annotation key, the ones on most traces first, then by name."""
    counts = Counter(key for row in rows for key in row.annotations)
    return sorted(counts, key=lambda key: (-counts[key], key))


def select_keys(
    rows: Iterable[AnnotatedTrace], keys: Sequence[str], *, keep_all: bool = False
) -> list[AnnotatedTrace]:
    """Each row with only `keys`, in the order of `keys`; rows that carry none of them are left out unless
    `keep_all`."""
    selected = []
    for row in rows:
        kept = {key: row.annotations[key] for key in keys if key in row.annotations}
        if kept or keep_all:
            selected.append(
                AnnotatedTrace(
                    row.trace_id, row.start_time, row.duration, row.response_time, row.status, kept
                )
            )
    return selected


def summarize(rows: Iterable[AnnotatedTrace], keys: Sequence[str]) -> list[ValueStats]:
    """Per key (in the order of `keys`) and value (most traces first): trace count and duration stats.

    A trace counts once per distinct value it carries. Values are grouped by type too, so the number 1, the
    string "1" and the boolean true stay apart.
    """
    groups: dict[str, dict[tuple[str, AnnotationValue], list[float | None]]] = {key: {} for key in keys}
    for row in rows:
        for key in keys:
            seen = {(_kind(value), value) for value in row.annotations.get(key, [])}
            for group in seen:
                groups[key].setdefault(group, []).append(row.duration)
    stats = []
    for key in keys:
        ordered = sorted(groups[key].items(), key=lambda item: (-len(item[1]), item[0][0], str(item[0][1])))
        for (_, value), durations in ordered:
            stats.append(_stats(key, value, len(durations), [d for d in durations if d is not None]))
    return stats


def row_to_dict(row: AnnotatedTrace) -> dict[str, Any]:
    return {
        "trace_id": row.trace_id,
        "start_time": row.start_time.isoformat() if row.start_time else None,
        "duration": row.duration,
        "response_time": row.response_time,
        "status": row.status,
        "annotations": row.annotations,
    }


def stats_to_dict(stats: ValueStats) -> dict[str, Any]:
    return {
        "key": stats.key,
        "value": stats.value,
        "traces": stats.traces,
        "duration": {"min": stats.min, "median": stats.median, "p90": stats.p90, "max": stats.max},
    }


def _value(annotation_value: Mapping[str, Any]) -> AnnotationValue | None:
    # StringValue, then NumberValue, then BooleanValue, spelled out: this runs for every value of every trace.
    value = annotation_value.get("StringValue")
    if value is not None:
        return value
    value = annotation_value.get("NumberValue")
    if value is None:
        return annotation_value.get("BooleanValue")
    # JSON gives 200 as an int (botocore passes numbers through, and so does the reader's own parse);
    # int.is_integer exists only from Python 3.12.
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        # X-Ray keeps every number as a double: show the HTTP status 200, not 200.0.
        return int(value) if abs(value) < _EXACT_INT_LIMIT else value
    return value


def _status(summary: Mapping[str, Any]) -> Status:
    if summary.get("HasFault"):
        return "fault"
    if summary.get("HasThrottle"):
        return "throttle"
    if summary.get("HasError"):
        return "error"
    return "ok"


def _kind(value: AnnotationValue) -> str:
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, (int, float)) else "string"


def _stats(key: str, value: AnnotationValue, traces: int, durations: list[float]) -> ValueStats:
    if not durations:
        return ValueStats(key, value, traces, None, None, None, None)
    ordered = sorted(durations)
    # Nearest rank: p90 is a duration some trace really had.
    p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]
    return ValueStats(key, value, traces, ordered[0], statistics.median(ordered), p90, ordered[-1])


@dataclass(frozen=True)
class Listing:
    """What list-annotations shows: the rows, the keys (columns), and how many traces the window held."""

    rows: list[AnnotatedTrace]
    keys: list[str]
    scanned: int

    @property
    def annotated(self) -> int:
        return sum(1 for row in self.rows if row.annotations)


def listing(summaries: Iterable[Mapping[str, Any]], keys: Sequence[str] = ()) -> Listing:
    """Every trace of the window as a row (a failed request often has no annotation, and is the row a reader
    looks for), with all its keys; given `keys`, only those columns and the traces that carry one of them."""
    # The keys are counted on the summaries, so that each row is built once, with its columns in their order.
    summaries = list(summaries)
    entries = [summary.get("Annotations") or {} for summary in summaries]
    if keys:
        chosen = list(keys)
    else:
        counts = Counter(key for entry in entries for key in entry)
        chosen = sorted(counts, key=lambda key: (-counts[key], key))
    rows = []
    for summary, entry in zip(summaries, entries, strict=True):
        picked = [(key, entry[key]) for key in chosen if key in entry]
        if picked or not keys:
            rows.append(_row(summary, picked))
    scanned = len(summaries)
    # Let go of the summaries now: the rows are a small part of them, and the caller keeps the rows.
    del summaries, entries
    return Listing(rows, chosen, scanned)
