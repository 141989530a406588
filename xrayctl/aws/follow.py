"""Following X-Ray as traces arrive: the summaries of a window that ends now, poll after poll, and each new
trace read until it is complete, by the rule of `show-trace --wait` (`aws/wait.py`). `tail` and `browse`'s
live list and trace view are built on these.

What a long run costs, and why it stays bounded:
- Each poll reads the summaries of the time since the last poll, from `overlap` seconds before it
  (GetTraceSummaries, TimeRangeType Event: a trace active in that time; the overlap covers X-Ray's indexing
  delay). Its cost is the traffic of that stretch of time, not of the run.
- The ids met are remembered in `SeenIds`, at most `limit` of them (the least recently met forgotten first):
  a trace is reported once as long as it is met again within the last `limit` ids, which is far more than a
  poll's overlap holds.
- At most `max_pending` traces are read until complete at a time; one more is refused, and the caller says so.
- `Pace` spaces the polls: the base interval after news, longer while nothing happens, and after a failed
  poll (throttled, unreachable) a jittered back-off that grows to FAILURE_CAP.
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from xrayctl.aws.reader import FetchResult
from xrayctl.aws.wait import Settling, observe
from xrayctl.errors import RetrievalFailed, Throttled, Unreachable
from xrayctl.trace.model import Trace

MAX_SEEN = 100_000  # ids: about 10 MB at most
MAX_PENDING = 1_000  # traces read until complete at once: 200 BatchGetTraces calls a poll at most
GROWTH = 1.5  # the interval grows by this after a poll that found nothing
FAILURE_CAP = 60.0  # seconds: the longest wait after failed polls
# How far back each poll reads again: X-Ray indexes a trace some seconds after it ends (the local stack at
# once). `tail`'s polls: seconds between them while traces are on their way, the longest while none is.
AWS_OVERLAP, LOCAL_OVERLAP = 60.0, 5.0
AWS_TAIL_PACE, LOCAL_TAIL_PACE = (1.0, 5.0), (0.2, 0.5)


def overlap_for(local: bool) -> float:
    return LOCAL_OVERLAP if local else AWS_OVERLAP


class Reader(Protocol):
    """What following needs of `aws.reader.XRayReader`."""

    def iter_summaries(
        self, start: datetime, end: datetime, *, filter_expression: str | None = None
    ) -> Any: ...

    def read(self, ids: list[str], *, timeout: float = ...) -> FetchResult: ...

    def get_summary(self, trace_id: str) -> dict[str, Any] | None: ...


class Pace:
    """How long to wait before the next poll."""

    def __init__(self, base: float, cap: float, *, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = max(cap, base)
        self._delay = base
        self._failures = 0
        self._rng = rng or random.Random()

    def after(self, *, news: bool) -> float:
        """After a poll that answered: the base interval after news, else a longer one (up to `cap`)."""
        self._failures = 0
        self._delay = self.base if news else min(self.cap, self._delay * GROWTH)
        return self._delay

    def after_failure(self) -> float:
        """After a failed poll: a jittered wait that doubles with each failure in a row, up to FAILURE_CAP
        (never squared, as sam-cli's was)."""
        self._failures += 1
        ceiling = min(FAILURE_CAP, self.cap * 2 ** min(self._failures, 16))
        return self._rng.uniform(ceiling / 2, ceiling)

    @property
    def failures(self) -> int:
        """Failed polls in a row."""
        return self._failures


class SeenIds:
    """Ids met lately, each with a value (a summary's Revision), at most `limit`: the least recently met are
    forgotten first, so memory stays bounded however long the run."""

    def __init__(self, limit: int = MAX_SEEN) -> None:
        self.limit = limit
        self._ids: OrderedDict[str, Any] = OrderedDict()

    def get(self, trace_id: str, default: Any = None) -> Any:
        return self._ids.get(trace_id, default)

    def put(self, trace_id: str, value: Any = None) -> None:
        self._ids[trace_id] = value
        self._ids.move_to_end(trace_id)
        while len(self._ids) > self.limit:
            self._ids.popitem(last=False)

    def __contains__(self, trace_id: object) -> bool:
        return trace_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)


class SummaryFollower:
    """The summaries of a window that ends now: all of them at first, then after each poll those that are
    new or have changed (a higher Revision: X-Ray received more of the trace)."""

    def __init__(
        self,
        reader: Reader,
        *,
        start: datetime,
        filter_expression: str | None,
        overlap: float,
        wall_clock: Callable[[], float] = time.time,
        limit: int = MAX_SEEN,
    ) -> None:
        self._reader = reader
        self.start = start
        self.filter_expression = filter_expression
        self._overlap = timedelta(seconds=overlap)
        self._wall_clock = wall_clock
        self._seen = SeenIds(limit)
        self.last_poll: datetime | None = None  # the end of the window the last poll read

    def first(self) -> list[dict[str, Any]]:
        """Every summary from the start to now, newest first."""
        end = self._now()
        found = list(self._reader.iter_summaries(self.start, end, filter_expression=self.filter_expression))
        for summary in found:
            self._seen.put(summary["Id"], summary.get("Revision"))
        self.last_poll = end
        return found

    def poll(self) -> list[dict[str, Any]]:
        """The summaries that are new or changed since the last poll, newest first."""
        if self.last_poll is None:
            return self.first()
        end = self._now()
        start = max(self.start, self.last_poll - self._overlap)
        changed = []
        if end > start:
            summaries = self._reader.iter_summaries(start, end, filter_expression=self.filter_expression)
            for summary in summaries:
                trace_id, revision = summary["Id"], summary.get("Revision")
                if trace_id not in self._seen or self._seen.get(trace_id) != revision:
                    changed.append(summary)
                self._seen.put(trace_id, revision)
        self.last_poll = end
        return changed

    def seen(self, trace_id: str) -> bool:
        return trace_id in self._seen

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._wall_clock(), tz=timezone.utc)


@dataclass
class Finished:
    """What a `Completion.poll` gives back: traces complete now, traces given up on at their timeout (as they
    were, with a warning: `in_progress` when a node was open), and ids X-Ray never returned by then."""

    complete: list[Trace] = field(default_factory=list)
    timed_out: list[Trace] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def traces(self) -> list[Trace]:
        """Complete and timed-out traces, by start time."""
        return sorted(self.complete + self.timed_out, key=lambda trace: trace.start_time or 0.0)


@dataclass
class _Pending:
    summary: Mapping[str, Any] | None
    since: float  # monotonic
    settling: Settling | None = None


class Completion:
    """Traces read until each is complete (`Settling.complete`, the rule of `show-trace --wait`), each given
    back once, with the latest summary listed for it."""

    def __init__(
        self,
        reader: Reader,
        *,
        settle_time: float,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._reader = reader
        self._settle_time = settle_time
        self._timeout = timeout
        self._clock = clock
        self._wall_clock = wall_clock
        self.max_pending = max_pending
        self._pending: dict[str, _Pending] = {}
        self._done = SeenIds()  # given back already: a later revision of one is not given back again

    def follow(self, trace_id: str, summary: Mapping[str, Any] | None = None) -> bool:
        """Read `trace_id` until complete; a newer summary of one followed replaces the one kept. False when
        `max_pending` traces are followed already."""
        if trace_id in self._done:
            return True
        known = self._pending.get(trace_id)
        if known is not None:
            known.summary = summary or known.summary
            return True
        if len(self._pending) >= self.max_pending:
            return False
        self._pending[trace_id] = _Pending(summary, self._clock())
        return True

    @property
    def pending(self) -> int:
        return len(self._pending)

    def poll(self) -> Finished:
        """Read the traces followed (BatchGetTraces, 5 ids a call) and give back those that are done."""
        finished = Finished()
        if not self._pending:
            return finished
        result = self._reader.read(list(self._pending))
        now, wall_now = self._clock(), self._wall_clock()
        for trace_id, pending in list(self._pending.items()):
            raw = result.traces.get(trace_id)
            if raw is not None:
                pending.settling = observe(pending.settling, raw, now)
            settling = pending.settling
            timed_out = now - pending.since >= self._timeout
            if settling is not None and settling.complete(now, self._settle_time, wall_now=wall_now):
                finished.complete.append(_with_summary(settling.trace, pending.summary))
            elif timed_out and settling is not None:
                finished.timed_out.append(_with_summary(settling.unfinished(), pending.summary))
            elif timed_out:
                finished.missing.append(trace_id)
            else:
                continue
            del self._pending[trace_id]
            self._done.put(trace_id)
        return finished


class TraceWatch:
    """One trace read until it is complete, for a view that shows it meanwhile (`browse`'s trace view)."""

    def __init__(
        self,
        reader: Reader,
        trace_id: str,
        *,
        settle_time: float,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.trace_id = trace_id
        self._reader = reader
        self._settle_time = settle_time
        self._clock = clock
        self._wall_clock = wall_clock
        self._settling: Settling | None = None
        self._summary: Mapping[str, Any] | None = None
        self.polls = 0

    def poll(self) -> tuple[Trace | None, bool]:
        """The trace as X-Ray has it now (None until it has some of it), and whether it is complete; once
        complete, with its summary (read once), so that its header says what the list and show-trace say."""
        result = self._reader.read([self.trace_id])
        self.polls += 1
        now = self._clock()
        raw = result.traces.get(self.trace_id)
        if raw is not None:
            self._settling = observe(self._settling, raw, now)
        if self._settling is None:
            return None, False
        complete = self._settling.complete(now, self._settle_time, wall_now=self._wall_clock())
        if complete and self._summary is None:
            # X-Ray's flags (HasFault, ...) and the entry's HTTP status are the summary's; the tree alone
            # cannot always tell them (a fault in a subsegment of a function's segment).
            self._summary = self._reader.get_summary(self.trace_id) or {}
        return _with_summary(self._settling.trace, self._summary or None), complete


def _with_summary(trace: Trace, summary: Mapping[str, Any] | None) -> Trace:
    if summary is not None:
        trace.summary = dict(summary)
    return trace


def follow_traces(
    reader: Reader,
    *,
    start: datetime,
    filter_expression: str | None,
    settle_time: float,
    timeout: float,
    local: bool,
    pace: Pace | None = None,
    sleep: Callable[[float], None] = time.sleep,
    wall_clock: Callable[[], float] = time.time,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Trace | str]:
    """Traces as X-Ray completes them, each once, from `start` on, forever: `tail`. A string is a warning
    for the user (a trace given up on, a poll that failed and is tried again).

    `local`: the local stack, which stores what it receives at once: shorter intervals and overlap. The
    first poll's failure is raised (the endpoint or the account is more often wrong than busy); after
    that, a throttle, a 5xx or a timeout that outlasts botocore's retries is waited out with `pace`.
    """
    pace = pace or Pace(*(LOCAL_TAIL_PACE if local else AWS_TAIL_PACE))
    summaries = SummaryFollower(
        reader,
        start=start,
        filter_expression=filter_expression,
        overlap=overlap_for(local),
        wall_clock=wall_clock,
    )
    completion = Completion(
        reader, settle_time=settle_time, timeout=timeout, clock=clock, wall_clock=wall_clock
    )
    answered = False
    while True:
        try:
            new = summaries.poll()
            refused = [s["Id"] for s in reversed(new) if not completion.follow(s["Id"], s)]
            finished = completion.poll()
        except (Throttled, Unreachable, RetrievalFailed) as exc:
            if not answered or (isinstance(exc, Unreachable) and exc.refused):
                raise
            delay = pace.after_failure()
            yield f"{exc.message} (polling again in {delay:.0f} s)"
            sleep(delay)
            continue
        answered = True
        if refused:
            yield (
                f"{len(refused)} trace(s) not followed: {completion.max_pending} are read until complete "
                f"already ({', '.join(refused[:5])}{', ...' if len(refused) > 5 else ''})"
            )
        yield from finished.traces
        for trace_id in finished.missing:
            yield f"{trace_id}: listed by GetTraceSummaries, but not returned by X-Ray within {timeout:g} s"
        sleep(pace.after(news=bool(new) or completion.pending > 0))
