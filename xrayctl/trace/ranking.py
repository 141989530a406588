"""The slowest, newest or failing traces of a window: `list-annotations --sort --limit --status`.

`--status` is a shorthand for X-Ray's own filter keywords (`fault`, `error`, `throttle`, `ok`), so the
service does the filtering; several are OR'd, and a `--filter` given too is AND'd with them. Sorting reads
each trace summary's own figures (Duration, ResponseTime, StartTime), largest first; with a limit only that
many summaries are ever kept (a heap), however long the window.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

STATUSES = ("fault", "error", "throttle", "ok")
SORT_KEYS = ("duration", "response", "start")
_FIELDS = {"duration": "Duration", "response": "ResponseTime", "start": "StartTime"}


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


def _value(summary: Mapping[str, Any], field: str) -> float:
    """The summary's figure as a number to sort on; a missing one sorts last."""
    value = summary.get(field)
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return -math.inf


@dataclass
class Ranked:
    summaries: list[Mapping[str, Any]]
    scanned: int  # summaries in the window, before the limit


class _Counting:
    """An iterator that counts what passes through it."""

    def __init__(self, items: Iterable[Mapping[str, Any]]) -> None:
        self._items = iter(items)
        self.count = 0

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        return self

    def __next__(self) -> Mapping[str, Any]:
        item = next(self._items)
        self.count += 1
        return item


def rank(summaries: Iterable[Mapping[str, Any]], *, sort: str | None, limit: int | None) -> Ranked:
    """The summaries by `sort` (largest first; None: as they come, newest first), at most `limit` of them."""
    counting = _Counting(summaries)
    if sort is None:
        kept = list(itertools.islice(counting, limit) if limit is not None else counting)
        for _ in counting:  # the rest is only counted
            pass
        return Ranked(kept, counting.count)
    field = _FIELDS[sort]
    key: Callable[[Mapping[str, Any]], float] = lambda summary: _value(summary, field)  # noqa: E731
    if limit is None:
        return Ranked(sorted(counting, key=key, reverse=True), counting.count)
    # nlargest is stable: of equal figures, the one that came first (the newer) stays first.
    return Ranked(heapq.nlargest(limit, counting, key=key), counting.count)
