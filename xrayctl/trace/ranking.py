"""The slowest, newest or failing traces of a window: `list-annotations --sort --limit --status`.

`--status` is a shorthand for X-Ray's own filter keywords (`fault`, `error`, `throttle`, `ok`), so the
service does the filtering; several are OR'd, and a `--filter` given too is AND'd with them. Sorting reads
each trace's own figures (its summary's Duration, ResponseTime, StartTime, as a row of
`xrayctl.trace.annotations` holds them), largest first, then the newest; with a limit only that many rows are
ever kept (a heap), however long the window. The rows come in the order their pages were read, which is no
order at all: ties are broken by start time and then by trace id, as the service pages them.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

STATUSES = ("fault", "error", "throttle", "ok")
SORT_KEYS = ("duration", "response", "start")


def status_filter(statuses: Sequence[str], expression: str | None) -> str | None:
    """The filter expression for `--status` values and a `--filter` expression (None when neither)."""
    chosen = list(dict.fromkeys(statuses))
    if not chosen:
        return expression
    unknown = [status for status in chosen if status not in STATUSES]
    if unknown:
        raise ValueError(f"unknown status {unknown[0]!r}")
    keywords = chosen[0] if len(chosen) == 1 else "(" + " OR ".join(chosen) + ")"
    if expression and expression.strip():
        return f"({expression}) AND {keywords}"
    return keywords


class Figures(Protocol):
    """What a trace is ranked by (`xrayctl.trace.annotations.AnnotatedTrace` has these)."""

    @property
    def trace_id(self) -> str: ...
    @property
    def start_time(self) -> datetime | float | None: ...
    @property
    def duration(self) -> float | None: ...
    @property
    def response_time(self) -> float | None: ...


T = TypeVar("T", bound=Figures)

_FIGURES: dict[str, Callable[[Figures], Any]] = {
    "duration": lambda row: row.duration,
    "response": lambda row: row.response_time,
    "start": lambda row: row.start_time,
}


def figure_value(value: Any) -> float:
    """A figure as a number to sort on; a missing one sorts last."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return -math.inf


@dataclass
class Ranked(Generic[T]):
    rows: list[T]
    scanned: int  # rows given, before the limit


def rank(rows: Iterable[T], *, sort: str | None, limit: int | None) -> Ranked[T]:
    """The rows by `sort` (largest first; None: newest first), at most `limit` of them."""
    figure = _FIGURES[sort] if sort is not None else _FIGURES["start"]
    scanned = 0

    def counted() -> Iterator[T]:
        nonlocal scanned
        for row in rows:
            scanned += 1
            yield row

    def key(row: T) -> tuple[float, float, str]:
        return figure_value(figure(row)), figure_value(row.start_time), row.trace_id

    if limit is None:
        return Ranked(sorted(counted(), key=key, reverse=True), scanned)
    return Ranked(heapq.nlargest(limit, counted(), key=key), scanned)
