"""What `browse` shows, apart from how it is drawn: where its traces come from (X-Ray, live or over a past
window, or a file) and the list of rows it keeps. No Textual here: the screens call these from worker threads.

- `LiveSource`: GetTraceSummaries over the window (`aws/follow.SummaryFollower`: the first read, then what
  is new or changed at each poll while the window ends now), a trace read until complete (`TraceWatch`).
- `FileSource`: the traces of a file in any format `show-trace --input` reads; nothing changes.
- `TraceList`: the rows, newest first or sorted by a column, at most `limit` of them (the newest kept), and
  none that started before the window, which slides with the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Protocol

from xrayctl.aws.follow import Pace, SummaryFollower, TraceWatch, overlap_for
from xrayctl.aws.reader import XRayReader
from xrayctl.errors import UsageError
from xrayctl.trace import ranking
from xrayctl.trace.model import Trace
from xrayctl.trace.rows import TraceRow, row_from_summary, row_from_trace

DEFAULT_LIMIT = 1_000  # rows, as the X-Ray console lists at most 1,000 traces
# Seconds between polls of the list: after news, and the longest while nothing changes (AWS, local stack).
AWS_PACE = (5.0, 30.0)
LOCAL_PACE = (1.0, 5.0)
# Seconds between reads of a trace X-Ray is still receiving (the settle time decides when it is complete).
AWS_TRACE_PACE = (1.0, 5.0)
LOCAL_TRACE_PACE = (0.2, 1.0)


class Watch(Protocol):
    trace_id: str
    polls: int

    def poll(self) -> tuple[Trace | None, bool]: ...


class Source(Protocol):
    """Where browse's traces come from."""

    live: bool  # the window ends now: the list is polled
    filterable: bool  # X-Ray is there to read a filter expression
    filter_expression: str | None  # the editable part of the filter (--filter)
    statuses: tuple[str, ...]  # --status

    @property
    def title(self) -> str:
        """What the title bar says: the backend, the window."""

    def first(self) -> list[TraceRow]: ...

    def refresh(self) -> list[TraceRow]: ...

    def coverage_note(self) -> str | None: ...

    def set_filter(self, expression: str | None) -> list[TraceRow]: ...

    def window_start(self) -> datetime | None: ...

    def watch(self, trace_id: str) -> Watch: ...

    def list_pace(self) -> Pace: ...

    def trace_pace(self) -> Pace: ...


class LiveSource:
    """Trace summaries from X-Ray (AWS or the local stack) over a window; polled while it ends now."""

    def __init__(
        self,
        reader: XRayReader,
        *,
        start: datetime,
        end: datetime | None,
        since: timedelta | None,
        filter_expression: str | None,
        statuses: Sequence[str] = (),
        limit: int = DEFAULT_LIMIT,
        settle_time: float,
        local: bool,
        label: str,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """`end` None: the window ends now and the list is live; `since`: the window slides (its length)."""
        self._reader = reader
        self._start = start
        self._end = end
        self._since = since
        self.filter_expression = filter_expression or None
        self.statuses = tuple(statuses)
        self.limit = limit
        self._settle_time = settle_time
        self._local = local
        self._wall_clock = wall_clock
        self.live = end is None
        self.filterable = True
        self.label = label
        self._follower = self._new_follower()

    @property
    def title(self) -> str:
        if self._since is not None and self.live:
            window = f"last {_span(self._since)}"
        else:
            window = f"from {_utc(self._start)}" + (f" to {_utc(self._end)}" if self._end else "")
        return f"{self.label} · {window}"

    def window_start(self) -> datetime | None:
        if self._since is not None and self.live:
            return self._now() - self._since
        return self._start

    def first(self) -> list[TraceRow]:
        if not self.live:
            assert self._end is not None
            summaries = self._reader.iter_summaries(self._start, self._end, filter_expression=self._filter())
        else:
            summaries = iter(self._follower.first())
        return ranking.rank(map(row_from_summary, summaries), sort=None, limit=self.limit).rows

    def refresh(self) -> list[TraceRow]:
        if not self.live:
            return []
        start = self.window_start()
        if start is not None:
            self._follower.start = start
        return [row_from_summary(summary) for summary in self._follower.poll()]

    def set_filter(self, expression: str | None) -> list[TraceRow]:
        """The list again under another filter expression; X-Ray's rejection raises (UsageError), and the
        filter in force stays as it was."""
        previous, follower = self.filter_expression, self._follower
        self.filter_expression = expression.strip() if expression and expression.strip() else None
        self._follower = self._new_follower()
        try:
            return self.first()
        except Exception:
            self.filter_expression, self._follower = previous, follower
            raise

    def watch(self, trace_id: str) -> Watch:
        return TraceWatch(self._reader, trace_id, settle_time=self._settle_time)

    def list_pace(self) -> Pace:
        return Pace(*(LOCAL_PACE if self._local else AWS_PACE))

    def trace_pace(self) -> Pace:
        return Pace(*(LOCAL_TRACE_PACE if self._local else AWS_TRACE_PACE))

    def coverage_note(self) -> str | None:
        """With Transaction Search on, what share of the traces the summaries cover."""
        covered = self._reader.summary_coverage()
        return covered.note() if covered is not None else None

    def _filter(self) -> str | None:
        return ranking.status_filter(self.statuses, self.filter_expression)

    def _new_follower(self) -> SummaryFollower:
        start = self.window_start() or self._start
        overlap = overlap_for(self._local)
        return SummaryFollower(self._reader, start=start, filter_expression=self._filter(), overlap=overlap)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._wall_clock(), tz=timezone.utc)


@dataclass
class _Loaded:
    trace: Trace
    trace_id: str
    polls: int = 0

    def poll(self) -> tuple[Trace | None, bool]:
        self.polls += 1
        return self.trace, True


class FileSource:
    """The traces of a file: listed once, opened at once; links reach the traces of the same file."""

    live = False
    filterable = False
    statuses: tuple[str, ...] = ()

    def __init__(self, traces: Sequence[Trace], *, name: str) -> None:
        self._traces = {trace.id: trace for trace in traces}
        self.filter_expression: str | None = None
        self.name = name

    @property
    def title(self) -> str:
        return f"file {self.name}"

    def first(self) -> list[TraceRow]:
        return [row_from_trace(trace) for trace in self._traces.values()]

    def refresh(self) -> list[TraceRow]:
        return []

    def set_filter(self, expression: str | None) -> list[TraceRow]:
        if expression and expression.strip():
            raise UsageError(
                "filter expressions are read by X-Ray, and --input has no X-Ray to ask.",
                "Browse the window from X-Ray (without --input) to filter it.",
            )
        return self.first()

    def window_start(self) -> datetime | None:
        return None

    def watch(self, trace_id: str) -> Watch:
        trace = self._traces.get(trace_id)
        if trace is None:
            raise UsageError(f"trace {trace_id} is not in {self.name}.")
        return _Loaded(trace, trace_id)

    def list_pace(self) -> Pace:
        return Pace(3600.0, 3600.0)

    def trace_pace(self) -> Pace:
        return Pace(3600.0, 3600.0)

    def coverage_note(self) -> str | None:
        return None


class TraceList:
    """The rows browse lists: by id, in the order chosen, at most `limit` (the newest kept)."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._rows: dict[str, TraceRow] = {}
        self.sort_column = "start"
        self.reverse = True  # newest (largest) first

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, trace_id: object) -> bool:
        return trace_id in self._rows

    def get(self, trace_id: str) -> TraceRow | None:
        return self._rows.get(trace_id)

    def replace_all(self, rows: Iterable[TraceRow]) -> None:
        self._rows = {}
        self.merge(rows)

    def merge(self, rows: Iterable[TraceRow]) -> list[str]:
        """Add new rows, replace changed ones; keep the newest `limit`. The ids added or changed."""
        changed = []
        for row in rows:
            known = self._rows.get(row.trace_id)
            if known is not None and row.start is None and known.start is not None:
                row = replace(row, start=known.start)
            self._rows[row.trace_id] = row
            changed.append(row.trace_id)
        if len(self._rows) > self.limit:
            newest = sorted(self._rows.values(), key=lambda r: r.sort_key("start"), reverse=True)
            self._rows = {row.trace_id: row for row in newest[: self.limit]}
        return [trace_id for trace_id in changed if trace_id in self._rows]

    def drop_before(self, start: datetime | None) -> list[str]:
        """Forget rows that started before `start` (the window slid past them); their ids."""
        if start is None:
            return []
        cutoff = start.timestamp()
        gone = [i for i, row in self._rows.items() if row.start is not None and row.start < cutoff]
        for trace_id in gone:
            del self._rows[trace_id]
        return gone

    def sort_by(self, column: str) -> None:
        """Sort by `column`; the same column again reverses the order. Largest first for a new column."""
        if column == self.sort_column:
            self.reverse = not self.reverse
        else:
            self.sort_column, self.reverse = column, column not in ("entry", "id")

    def rows(self) -> list[TraceRow]:
        """The rows in the chosen order (missing values last either way); ties newest first."""
        present = [row for row in self._rows.values() if row.sort_key(self.sort_column)[0] == 0]
        absent = [row for row in self._rows.values() if row.sort_key(self.sort_column)[0] != 0]
        by_start = sorted(present, key=lambda r: r.sort_key("start"), reverse=True)
        ordered = sorted(by_start, key=lambda r: r.sort_key(self.sort_column)[1], reverse=self.reverse)
        return ordered + sorted(absent, key=lambda r: r.sort_key("start"), reverse=True)


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _utc(moment: datetime | None) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "now"
