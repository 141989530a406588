"""Annotations across many traces, read from GetTraceSummaries (no per-trace fetch needed).

A summary's `Annotations` maps each key to the distinct values the trace carried, each as
`{"AnnotationValue": {"NumberValue" | "StringValue" | "BooleanValue": v}, "ServiceIds": [...]}`. This module
turns summaries into rows (one per trace) and, per key and value, into counts and duration statistics.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from xrayctl.trace.model import AnnotationValue, Status
from xrayctl.trace.ranking import rank

_EXACT_INT_LIMIT = 2**53  # beyond this a double no longer holds every integer: keep the float


@dataclass(frozen=True, slots=True)  # one per trace of the window: 100,000 of them, no __dict__ each
class AnnotatedTrace:
    trace_id: str
    start_time: datetime | None
    duration: float | None  # seconds, first segment start to last segment end
    response_time: float | None  # seconds, the root segment alone
    status: Status
    # key -> its distinct values; tuples, so that rows with the same values can share them (see `listing`)
    annotations: dict[str, tuple[AnnotationValue, ...]]


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


def _row(
    summary: Mapping[str, Any],
    chosen: Iterable[tuple[str, Any]],
    shared: dict[tuple[Any, ...], tuple[AnnotationValue, ...]] | None = None,
) -> AnnotatedTrace:
    """The row of `summary` with the annotations `chosen` from it ((key, entries) pairs, in column order);
    `shared` holds the value tuples of earlier rows, for this row to use the same ones."""
    annotations: dict[str, tuple[AnnotationValue, ...]] = {}
    for key, entries in chosen:
        # An AnnotationValue with none of the members botocore knows carries nothing that could be shown.
        values = tuple(value for value in map(_entry_value, entries) if value is not None)
        if shared is not None:
            # Keyed with each value's type: True, 1 and 1.0 are equal, and each must stay what it is.
            values = shared.setdefault(tuple((type(value), value) for value in values), values)
        annotations[key] = values
    return AnnotatedTrace(
        trace_id=summary["Id"],
        start_time=summary.get("StartTime"),
        duration=summary.get("Duration"),
        response_time=summary.get("ResponseTime"),
        status=_status(summary),
        annotations=annotations,
    )


def _entry_value(entry: Mapping[str, Any]) -> AnnotationValue | None:
    return _value(entry.get("AnnotationValue") or {})


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


def row_to_dict(row: AnnotatedTrace, keys: Sequence[str] = ()) -> dict[str, Any]:
    """The row for --output json; given the listing's `keys`, its annotations in their order."""
    annotations = row.annotations
    chosen = [key for key in keys if key in annotations] if keys else list(annotations)
    return {
        "trace_id": row.trace_id,
        "start_time": row.start_time.isoformat() if row.start_time else None,
        "duration": row.duration,
        "response_time": row.response_time,
        "status": row.status,
        "annotations": {key: list(annotations[key]) for key in chosen},
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
    """What list-annotations shows: the rows, the keys (columns), and what the window held.

    The counts are over the window, whatever the limit: `scanned` traces (those the filter let through), of
    which `annotated` carry an annotation (given keys: one of them) and `candidates` could be rows; `rows`
    are the first `limit` of the candidates in `sort`'s order, or all of them.
    """

    rows: list[AnnotatedTrace]
    keys: list[str]
    scanned: int
    annotated: int = 0
    candidates: int = 0
    sort: str | None = None
    limit: int | None = None

    @property
    def limited(self) -> bool:
        """Whether the limit left candidates out: the rows are the first `limit`, not all of them."""
        return len(self.rows) < self.candidates


def listing(
    pages: Iterable[Iterable[Mapping[str, Any]]],
    keys: Sequence[str] = (),
    *,
    sort: str | None = None,
    limit: int | None = None,
) -> Listing:
    """Every trace of the window as a row (a failed request often has no annotation, and is the row a reader
    looks for), with all its keys; given `keys`, only those columns and the traces that carry one of them.
    Rows are in `sort`'s order (`xrayctl.trace.ranking`: largest first; None: newest first), at most `limit`
    of them (the first `limit` rows that would be shown: with `keys`, of the traces that carry one); columns
    are `keys`, else the keys on most rows first, then by name. The counts are the window's (`Listing`).

    Each page of summaries becomes rows as it comes, and is let go: a row holds what the table shows, a small
    part of a parsed summary (100,000 summaries held at once took 700 MB). The values of most traces are
    the values of many others (a tenant, a status code): the rows share one tuple for each such set, which
    halves what 100,000 rows take.
    """
    wanted = list(keys)
    shared: dict[tuple[Any, ...], tuple[AnnotationValue, ...]] = {}
    counts = {"scanned": 0, "annotated": 0}

    def rows() -> Iterator[AnnotatedTrace]:
        for page in pages:
            for summary in page:
                entry = summary.get("Annotations") or {}
                chosen = [(key, entry[key]) for key in wanted if key in entry] if wanted else entry.items()
                row = _row(summary, chosen, shared)
                counts["scanned"] += 1
                if row.annotations:
                    counts["annotated"] += 1
                elif wanted:  # no column of this row would show a value
                    continue
                yield row

    ranked = rank(rows(), sort=sort, limit=limit)
    if wanted:
        columns = wanted
    else:
        on_rows = Counter(key for row in ranked.rows for key in row.annotations)
        columns = sorted(on_rows, key=lambda key: (-on_rows[key], key))
    return Listing(
        ranked.rows,
        columns,
        counts["scanned"],
        annotated=counts["annotated"],
        candidates=ranked.scanned,
        sort=sort,
        limit=limit,
    )
