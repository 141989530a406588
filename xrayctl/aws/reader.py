"""Reading X-Ray: traces by id (BatchGetTraces), summaries over time (GetTraceSummaries), and waiting.

botocore parses every response; this module only decides what to ask for and when:
- BatchGetTraces takes at most 5 ids a call, pages with NextToken and may answer `UnprocessedTraceIds`, which
  are asked again a few times. An id X-Ray does not return is reported, never dropped.
- GetTraceSummaries is read in time slices on one thread-safe client, at most `max_workers` calls in flight
  (`--max-concurrency`), each page handed on as it arrives, without duplicates (a trace can fall in two
  slices). How the slices are chosen, and why, is said at `summary_pages`. A window is first bounded by what
  X-Ray keeps (`aws/retention.py`).
- The summaries of traces asked for by id are read with TimeRangeType=TraceId over the seconds in their ids
  (`get_summaries`): the ids of one second, or of a few seconds in a row, cost one call, two if that time
  holds more than a page of traces.
- Ingestion has no documented bound, so `wait_for_traces` polls, with capped exponential back-off and full
  jitter, until each trace exists, has nothing in progress and has stopped changing; it never sleeps past the
  deadline, and each call is bounded by the client's connect/read timeouts and retries. An id whose time is
  past X-Ray's retention or in the future is asked for once: waiting cannot bring its trace.
- With Transaction Search on, BatchGetTraces finds nothing: the traces are read through trace retrievals
  instead (`aws/retrieval.py`, asked by `_read` when BatchGetTraces misses an id), and polled the same way.
"""

from __future__ import annotations

import math
import queue
import random
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from xrayctl.aws.errors import elsewhere, translate_errors
from xrayctl.aws.indexing import Coverage, summary_coverage
from xrayctl.aws.inflight import InFlightLimit
from xrayctl.aws.retention import FUTURE_SKEW, RETENTION_DAYS, Window, retained
from xrayctl.aws.retrieval import TraceRetrieval
from xrayctl.aws.slices import SLICE_LENGTH, id_windows, longest_first, split_dense
from xrayctl.aws.threads import ThreadPool
from xrayctl.aws.wait import SETTLE_TIME, SETTLED_AGE, Waiting, WaitStatus, build
from xrayctl.errors import RetrievalFailed, Throttled, TraceNotFound, Unreachable, XrayctlError
from xrayctl.trace.ids import trace_epoch
from xrayctl.trace.model import Trace

BATCH_SIZE = 5  # BatchGetTraces' limit
UNPROCESSED_RETRIES = 3
BACKOFF_BASE = 0.25
BACKOFF_CAP = 2.0
# GetTraceSummaries with TimeRangeType=TraceId selects traces by the time in their id ("trace start time" in
# the API reference; the time is whole seconds): a run of seconds holding ids asked for is one window, read
# until every id of it is found. Runs are cut at this length, so that the ids of a long stretch are read as
# several windows at once rather than one window's pages one after another.
ID_RUN_SECONDS = 10
# Calls in flight at once by default (--max-concurrency). A throttled call is retried by botocore with its
# back-off; an account that is often near its X-Ray quota can have botocore pace every call to what the
# service accepts with AWS_RETRY_MODE=adaptive.
MAX_CONCURRENCY = 5
# A window found to hold more than a page is read as this many slices per worker: enough that a worker that
# finishes early takes another instead of idling while one dense slice is still paging, and few enough
# that the last, partly filled page of each slice (a call that returns less than a page) costs little.
SLICES_PER_WORKER = 2
# Threads per call in flight when summaries are read concurrently: a thread that parses an answer (botocore,
# ~17 ms a page) does not hold a call's place, another's request is sent meanwhile (see xrayctl.aws.inflight).
PARSING_THREADS = 2
# How long a read without --wait may wait for a trace retrieval to complete (Transaction Search).
RETRIEVAL_TIMEOUT = 30.0

T = TypeVar("T")


@dataclass(frozen=True)
class FetchResult:
    """BatchGetTraces' answer for some ids, in the order they were asked for."""

    traces: dict[
        str, dict[str, Any]
    ]  # id -> the botocore-parsed trace: Id, Duration, LimitExceeded, Segments
    missing: list[str]  # asked for, not returned
    unprocessed: list[str] = field(default_factory=list)  # the missing ones X-Ray said it could not process


class _PendingSummaries:
    """Summaries read on a thread (`XRayReader._summaries_alongside`), attached once the traces exist."""

    def __init__(
        self,
        future: Future[dict[str, tuple[dict[str, Any] | None, str | None]]] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self._future = future
        self._stop = stop

    @property
    def started(self) -> bool:
        return self._future is not None

    def attach(self, traces: Sequence[Trace]) -> None:
        if self._future is not None:
            _attach(traces, self._future.result())

    def cancel(self) -> None:
        """Start no more calls (those running end on their own)."""
        if self._stop is not None:
            self._stop.set()
        if self._future is not None:
            self._future.cancel()


class XRayReader:
    def __init__(
        self,
        client: Any,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        max_workers: int = MAX_CONCURRENCY,
        rng: random.Random | None = None,
        settle_time: float = SETTLE_TIME,
        missing_grace: float | None = None,
    ) -> None:
        """`max_workers`: calls in flight at once (1: one after another); `settle_time`, `missing_grace`: see
        `aws/wait.py` (the backend sets them for AWS or the local stack)."""
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._client = client
        self._settle_time = settle_time
        self._missing_grace = missing_grace
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._max_workers = max_workers
        self._rng = rng or random.Random()
        # Where Transaction Search keeps the traces; it asks GetTraceSegmentDestination once, for the reader.
        self._search = TraceRetrieval(
            client, sleep=sleep, clock=clock, wall_clock=wall_clock, backoff=self._backoff
        )

    # ------------------------------------------------------------------------------------------ by id

    def get_traces(self, ids: Sequence[str]) -> FetchResult:
        with translate_errors():
            return self._fetch(ids, deadline=None)

    def read(self, ids: Sequence[str], *, timeout: float = RETRIEVAL_TIMEOUT) -> FetchResult:
        """The traces as X-Ray has them now, for a caller that polls (`aws/follow.py`): BatchGetTraces, or
        trace retrievals with Transaction Search on, as `show-trace` reads them; unprocessed ids are not
        asked again (the next poll asks)."""
        with translate_errors():
            return self._read(ids, self._clock() + timeout, retries=0)

    def fetch_traces(
        self, ids: Sequence[str], *, with_summary: bool = False, timeout: float = RETRIEVAL_TIMEOUT
    ) -> list[Trace]:
        """The traces as X-Ray has them now; raises TraceNotFound naming any it does not have (carrying the
        ones it found, for the caller to show). `timeout` bounds a trace retrieval, if one is needed."""
        with translate_errors(), self._summaries_alongside(ids if with_summary else ()) as summaries:
            result = self._read(ids, self._clock() + timeout)
            traces = [build(raw) for raw in result.traces.values()]
            if summaries.started:
                summaries.attach(traces)
            elif with_summary and not self._search.only_way:
                self._attach_summaries(traces)
            if result.missing:
                raise self._not_found(result.missing, waited=None, found=traces)
        return traces

    def wait_for_traces(
        self,
        ids: Sequence[str],
        *,
        timeout: float,
        on_poll: Callable[[WaitStatus], None] | None = None,
        with_summary: bool = False,
    ) -> list[Trace]:
        """Poll until every trace exists and is complete, or until `timeout` seconds have passed.

        Complete means: nothing in progress, and the documents unchanged for `settle_time`
        (ORPHAN_SETTLE_FACTOR times as long while an entity's parent is missing), or the trace is older than
        SETTLED_AGE. At the deadline, a trace that exists but is not complete is still returned, with
        `in_progress` set when a node is open and a warning saying so, for the caller to decide; a trace
        not found at all raises TraceNotFound with the reasons it may be missing. A trace missing at the
        first poll whose id is past retention or in the future is not waited for.
        """
        deadline = self._clock() + timeout
        state = Waiting(list(dict.fromkeys(ids)), self._settle_time, self._missing_grace)
        # Most traces asked for are complete at the first poll: their summaries are read alongside it.
        with translate_errors(), self._summaries_alongside(state.wanted if with_summary else ()) as early:
            while True:
                try:
                    with translate_errors():
                        # No retries of unprocessed ids inside a poll: the next poll asks again anyway.
                        result = self._read(state.asked, deadline, retries=0)
                except (Throttled, Unreachable, RetrievalFailed) as exc:
                    state.failed(exc)
                else:
                    state.answered(
                        result.traces,
                        result.missing,
                        now=self._clock(),
                        wall_now=self._wall_clock(),
                        cannot_appear=self._cannot_appear,
                    )
                remaining = deadline - self._clock()
                if on_poll is not None:
                    on_poll(state.status(remaining))
                if state.done or remaining <= 0:
                    break
                self._sleep(min(remaining, self._backoff(state.polls - 1 + state.failures)))
            traces = state.traces()
            # With Transaction Search on, only an indexed fraction of traces has a summary: the ones read
            # alongside the first poll are all there is worth asking for.
            if (state.polls == 1 or self._search.only_way) and early.started:
                early.attach(traces)
            elif with_summary and not self._search.only_way:
                self._attach_summaries(traces)  # the summaries read at the first poll are out of date
            if state.missing:
                waited = None if state.found_none_that_could_appear else round(timeout - max(remaining, 0), 1)
                raise self._not_found(state.missing, waited=waited, found=traces)
        return traces

    def get_summary(self, trace_id: str) -> dict[str, Any] | None:
        """The trace's GetTraceSummaries entry, or None if X-Ray has none."""
        return self.get_summaries([trace_id]).get(trace_id)

    def get_summaries(self, trace_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The GetTraceSummaries entries X-Ray has of these traces, by id; raises the first failure.

        The ids are read by the seconds in them (TimeRangeType=TraceId): one window per run of consecutive
        seconds (`aws/slices.id_windows`), paged only until every id of it is found, the windows read
        `max_workers` at a time. A second holds the traces that started in it, a page or two even in a busy
        account, whatever the rest of the day holds.
        """
        found: dict[str, dict[str, Any]] = {}
        for _, summaries, failure in self._id_summaries(trace_ids):
            if failure is not None:
                raise failure
            found.update(summaries)
        return found

    def summary_coverage(self) -> Coverage | None:
        """What share of traces the summaries cover, with Transaction Search on (`aws/indexing.py`). Asked
        after the summaries, not beside them: --max-concurrency bounds every call in flight."""
        return summary_coverage(self._client, self._search.active)

    # ---------------------------------------------------------------------------------------- over time

    def retained(self, start: datetime, end: datetime) -> Window:
        """[start, end] bounded by what X-Ray keeps now, with a note for each bound that moved."""
        return retained(start, end, self._wall_clock())

    def iter_summaries(
        self,
        start: datetime,
        end: datetime,
        *,
        filter_expression: str | None = None,
        time_range_type: str = "Event",
        slice_length: timedelta = SLICE_LENGTH,
    ) -> Iterator[dict[str, Any]]:
        """Every trace summary in [start, end] (bounded by what X-Ray keeps), each trace once, newest first
        (by StartTime, then by id). All of them are held to be sorted: `summary_pages` holds one page."""
        found = [
            summary
            for page in self.summary_pages(
                start,
                end,
                filter_expression=filter_expression,
                time_range_type=time_range_type,
                slice_length=slice_length,
            )
            for summary in page
        ]
        found.sort(key=_order, reverse=True)
        yield from found

    def summary_pages(
        self,
        start: datetime,
        end: datetime,
        *,
        filter_expression: str | None = None,
        time_range_type: str = "Event",
        slice_length: timedelta = SLICE_LENGTH,
    ) -> Iterator[list[dict[str, Any]]]:
        """The trace summaries in [start, end] a page at a time, as the pages come in, each trace once (in no
        particular order): a caller that keeps only what it needs of each page holds one page, not the
        window. The window is first bounded by what X-Ray keeps (`retained`: the caller says so).

        The window is cut into slices of at most `slice_length` (one call may not cover more). With one
        worker, each slice's pages are followed one after another. Otherwise the first page of every slice
        is read concurrently, and a slice that fits in its first page is done: a sparse window costs one call
        per slice, as before. Following NextToken in the slices that did not fit would read them one page
        after another: a day of 10,000 traces is ~100 pages, and four 6 h slices are only four streams,
        which cannot be four times faster than one. So that dense time is cut again, into
        `SLICES_PER_WORKER` x `max_workers` slices of equal length (`aws/slices.py`), each read to its last
        page on the pool: every worker stays busy, and each slice adds only its last, partly filled page
        to the pages one stream would read. At most `max_workers` calls are in flight.

        Slices share their boundaries, so nothing on a boundary is lost; what two slices both return (a
        trace on a boundary, one active in both under the Event time range, a first page read again) is
        handed on once. Correctness never depends on the order the service returns summaries in.
        """
        window = self.retained(start, end)
        slices = longest_first(window.start, window.end, slice_length)
        seen: set[str] = set()
        with translate_errors():
            pages: Generator[list[dict[str, Any]], None, None]
            if self._max_workers <= 1:
                pages = (
                    page
                    for lower, upper in slices
                    for page in self._summary_pages(lower, upper, time_range_type, filter_expression)
                )
            else:
                pages = self._concurrent_pages(slices, time_range_type, filter_expression, slice_length)
            try:
                for page in pages:
                    fresh = [summary for summary in page if summary["Id"] not in seen]
                    seen.update(summary["Id"] for summary in fresh)
                    if fresh:
                        yield fresh
            finally:
                # A caller that stops reading stops the reads now, not when the collector finds the pages'
                # generator (Python 3.10 keeps it, through the traceback, until then).
                pages.close()

    def _concurrent_pages(
        self,
        slices: list[tuple[datetime, datetime]],
        time_range_type: str,
        filter_expression: str | None,
        slice_length: timedelta,
    ) -> Generator[list[dict[str, Any]], None, None]:
        limit = InFlightLimit(self._max_workers, self._client)
        threads = self._max_workers * PARSING_THREADS
        pool = ThreadPool(threads, "xray-summaries")
        # Pages read on the pool wait here for the caller, a few at most: a caller slower than the reads
        # holds the threads back instead of letting the window pile up in memory.
        arrived: queue.Queue[Any] = queue.Queue(maxsize=threads)
        stop = threading.Event()
        try:
            firsts = [
                pool.submit(
                    self._limited, limit, self._first_page, lower, upper, time_range_type, filter_expression
                )
                for lower, upper in slices
            ]
            dense: list[tuple[datetime, datetime]] = []
            for (lower, upper), first in zip(slices, firsts, strict=True):
                page, more = first.result()
                yield page
                if more:
                    dense.append((lower, upper))
            parts = split_dense(dense, self._max_workers * SLICES_PER_WORKER, slice_length)
            for lower, upper in parts:
                pool.submit(
                    self._limited,
                    limit,
                    self._pages_into,
                    arrived,
                    stop,
                    lower,
                    upper,
                    time_range_type,
                    filter_expression,
                )
            running = len(parts)
            while running:
                item = arrived.get()
                if item is _PART_DONE:
                    running -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:
            # A failure (or Ctrl-C, or a caller that stops reading) must not start the other slices' calls,
            # nor wait for those running: they stop at their next page.
            stop.set()
            pool.cancel_pending()

    # ------------------------------------------------------------------------------------------ helpers

    def _read(self, ids: Sequence[str], deadline: float, retries: int = UNPROCESSED_RETRIES) -> FetchResult:
        """BatchGetTraces, or trace retrievals where Transaction Search keeps the traces (aws/retrieval)."""
        if self._search.only_way:  # BatchGetTraces finds nothing
            found = self._search.fetch(ids, deadline)
            return FetchResult(found, [i for i in dict.fromkeys(ids) if i not in found])
        result = self._fetch(ids, deadline, retries)
        retrieved = self._search.for_missing(result.missing, deadline) if result.missing else {}
        if not retrieved:
            return result
        traces = {**result.traces, **retrieved}
        return FetchResult(
            {i: traces[i] for i in dict.fromkeys(ids) if i in traces},
            [i for i in result.missing if i not in retrieved],
            [i for i in result.unprocessed if i not in retrieved],
        )

    def _fetch(
        self, ids: Sequence[str], deadline: float | None, retries: int = UNPROCESSED_RETRIES
    ) -> FetchResult:
        wanted = list(dict.fromkeys(ids))
        found: dict[str, dict[str, Any]] = {}
        pending = wanted
        unprocessed: list[str] = []
        for attempt in range(retries + 1):
            unprocessed = []
            for first in range(0, len(pending), BATCH_SIZE):
                unprocessed += self._batch(pending[first : first + BATCH_SIZE], found)
            unprocessed = [i for i in dict.fromkeys(unprocessed) if i not in found]
            if not unprocessed or attempt == retries:
                break
            delay = self._backoff(attempt)
            if deadline is not None:
                delay = min(delay, deadline - self._clock())
                if delay <= 0:
                    break
            self._sleep(delay)
            pending = unprocessed
        ordered = {i: found[i] for i in wanted if i in found}
        # X-Ray answers only for the ids asked, but whatever else it sends is kept rather than dropped.
        ordered.update((i, trace) for i, trace in found.items() if i not in ordered)
        return FetchResult(ordered, [i for i in wanted if i not in found], unprocessed)

    def _batch(self, ids: list[str], found: dict[str, dict[str, Any]]) -> list[str]:
        """Read one batch of ids, every page, into `found` (only traces with segments); return unprocessed."""
        unprocessed: list[str] = []
        kwargs: dict[str, Any] = {"TraceIds": ids}
        tokens: set[str] = set()
        while True:
            response = self._client.batch_get_traces(**kwargs)
            for trace in response.get("Traces", []):
                if trace.get("Id") and trace.get("Segments"):
                    _merge(found, trace)
            unprocessed += response.get("UnprocessedTraceIds", [])
            token = response.get("NextToken")
            if not token or token in tokens:
                return unprocessed
            tokens.add(token)
            kwargs["NextToken"] = token

    def _summary_pages(
        self, start: datetime, end: datetime, time_range_type: str, filter_expression: str | None
    ) -> Iterator[list[dict[str, Any]]]:
        kwargs = _summaries_request(start, end, time_range_type, filter_expression)
        tokens: set[str] = set()
        while True:
            response = self._client.get_trace_summaries(**kwargs)
            yield response.get("TraceSummaries", [])
            token = response.get("NextToken")
            if not token or token in tokens:
                return
            tokens.add(token)
            kwargs["NextToken"] = token

    def _limited(self, limit: InFlightLimit, read: Callable[..., T], *args: Any) -> T:
        with limit.calls():
            return read(*args)

    def _pages_into(
        self,
        arrived: queue.Queue[Any],
        stop: threading.Event,
        start: datetime,
        end: datetime,
        time_range_type: str,
        filter_expression: str | None,
    ) -> None:
        """Read the window to its last page into `arrived`, then _PART_DONE; a failure goes there instead."""
        try:
            for page in self._summary_pages(start, end, time_range_type, filter_expression):
                if not _offer(arrived, page, stop):
                    return
        except BaseException as exc:  # noqa: BLE001 - raised by the reader of `arrived`
            _offer(arrived, exc, stop)
        else:
            _offer(arrived, _PART_DONE, stop)

    def _first_page(
        self, start: datetime, end: datetime, time_range_type: str, filter_expression: str | None
    ) -> tuple[list[dict[str, Any]], bool]:
        """The first page of the window, and whether it has more (a NextToken, not followed)."""
        response = self._client.get_trace_summaries(
            **_summaries_request(start, end, time_range_type, filter_expression)
        )
        return response.get("TraceSummaries", []), bool(response.get("NextToken"))

    def _attach_summaries(self, traces: list[Trace]) -> None:
        _attach(traces, self._summaries_or_warnings([trace.id for trace in traces]))

    def _summaries_or_warnings(
        self, trace_ids: Sequence[str], stop: threading.Event | None = None
    ) -> dict[str, tuple[dict[str, Any] | None, str | None]]:
        """Each id's summary, or None with the reason it could not be read; once `stop` is set, the ids not
        read yet are left out."""
        # The summary only adds X-Ray's own figures to the header: the trace is worth showing without it.
        result: dict[str, tuple[dict[str, Any] | None, str | None]] = {}
        for wanted, found, failure in self._id_summaries(trace_ids, stop):
            # Denied, throttled, timed out, 5xx: the documents came, or will say so.
            warning = f"no trace summary: {failure.message}" if failure is not None else None
            result.update((trace_id, (found.get(trace_id), warning)) for trace_id in wanted)
        return result

    def _id_summaries(
        self, trace_ids: Sequence[str], stop: threading.Event | None = None
    ) -> list[tuple[list[str], dict[str, dict[str, Any]], XrayctlError | None]]:
        """Per window of seconds (see `get_summaries`): the ids in it, the summaries found, the failure; the
        windows not read before `stop` was set are left out."""
        by_second: dict[int, list[str]] = {}
        for trace_id in dict.fromkeys(trace_ids):
            by_second.setdefault(trace_epoch(trace_id), []).append(trace_id)
        windows = [
            (first, last, [i for second in range(first, last + 1) for i in by_second.get(second, ())])
            for first, last in id_windows(by_second, ID_RUN_SECONDS)
        ]

        def read(
            window: tuple[int, int, list[str]],
        ) -> tuple[list[str], dict[str, dict[str, Any]], XrayctlError | None]:
            first, last, wanted = window
            try:
                with translate_errors():
                    return wanted, self._window_summaries(first, last, set(wanted)), None
            except XrayctlError as exc:
                return wanted, {}, exc

        return self._in_turns(read, windows, stop or threading.Event())

    def _window_summaries(self, first: int, last: int, wanted: set[str]) -> dict[str, dict[str, Any]]:
        """The summaries of `wanted` (their ids name the seconds first..last), read until all are found."""
        start = datetime.fromtimestamp(first, tz=timezone.utc)
        # The last second's traces started before its end; botocore sends whole seconds, so the window is
        # [first, last + 1]: it holds them whether the service counts its end in or not.
        end = datetime.fromtimestamp(last + 1, tz=timezone.utc)
        found: dict[str, dict[str, Any]] = {}
        # Leaving the loop leaves the pages' generator unfinished: no call is made for the next page.
        for page in self._summary_pages(start, end, "TraceId", None):
            found.update((s["Id"], s) for s in page if s.get("Id") in wanted)
            if len(found) == len(wanted):
                break
        return found

    def _in_turns(self, read: Callable[[Any], T], items: Sequence[Any], stop: threading.Event) -> list[T]:
        """`read` of each item, at most `max_workers` at once (threads pull the next item), until `stop` is
        set or one fails (its error is raised); the results in the items' order, of those read."""
        results: list[tuple[int, T]] = []
        positions = iter(range(len(items)))
        lock = threading.Lock()

        def work(_: int) -> None:
            while not stop.is_set():
                with lock:
                    position = next(positions, None)
                if position is None:
                    return
                try:
                    result = read(items[position])
                except BaseException:
                    stop.set()  # the others take no new item: the first failure is the answer
                    raise
                with lock:
                    results.append((position, result))

        workers = min(self._max_workers, len(items))
        if workers <= 1:
            work(0)
        else:
            ThreadPool(workers, "xray-summary").map(work, range(workers))
        return [result for _, result in sorted(results, key=lambda pair: pair[0])]

    @contextmanager
    def _summaries_alongside(self, ids: Sequence[str]) -> Iterator[_PendingSummaries]:
        """Read the summaries of `ids` on threads while the caller reads the documents.

        Against AWS each call is a network round trip; the two do not depend on each other, so `show-trace`
        pays for one instead of two. Leaving the block does not wait for the calls still running: after an
        error or Ctrl-C, nobody needs them (and one to a stalled endpoint lasts until its timeouts).
        """
        if not ids or self._max_workers <= 1:  # one request at a time: read after the documents
            yield _PendingSummaries()
            return
        stop = threading.Event()
        future = ThreadPool(1, "xray-summaries").submit(self._summaries_or_warnings, ids, stop)
        pending = _PendingSummaries(future, stop)
        try:
            yield pending
        finally:
            pending.cancel()

    def _backoff(self, attempt: int) -> float:
        # Full jitter over a capped exponential (AWS's recommended back-off). The exponent stops growing, so a
        # long wait never overflows nor, as in sam-cli, squares the delay.
        return self._rng.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(attempt, 16)))

    def _age(self, trace_id: str) -> float:
        """Seconds since the time in the id (negative for an id stamped in the future)."""
        return self._wall_clock() - trace_epoch(trace_id)

    def _cannot_appear(self, trace_id: str) -> bool:
        """X-Ray will not have this trace later if it does not now: past retention, or from the future."""
        age = self._age(trace_id)
        return age > RETENTION_DAYS * 86400 or age < -FUTURE_SKEW

    def _not_found(
        self, missing: list[str], *, waited: float | None, found: Sequence[Trace] = ()
    ) -> TraceNotFound:
        # An id with no trace yet may come back as unprocessed (the local stack does so): no reason apart.
        which = (
            f"Trace {missing[0]}" if len(missing) == 1 else f"{len(missing)} traces ({', '.join(missing)})"
        )
        if self._search.only_way or self._search.active():  # asked already when BatchGetTraces missed them
            message, fix = self._search.not_found_message(which)
            return TraceNotFound(message, fix, found=found)
        # The id says when the trace started, so its age tells which reasons can apply.
        ages = {i: self._age(i) for i in missing}
        expired = [i for i, age in ages.items() if age > RETENTION_DAYS * 86400]
        future = [i for i, age in ages.items() if age < -FUTURE_SKEW]
        reasons = []
        if expired:
            verb = "is" if len(expired) == 1 else "are"
            reasons.append(f"X-Ray keeps traces {RETENTION_DAYS} days and {', '.join(expired)} {verb} older")
        for trace_id in future:
            when = datetime.fromtimestamp(trace_epoch(trace_id), tz=timezone.utc).strftime(
                "%Y-%m-%d %H:%M:%S"
            )
            reasons.append(f"{trace_id}'s timestamp ({when} UTC) is in the future: check the id")
        if waited is None:
            message = f"{which} not found."
            ingesting = "X-Ray may still be ingesting it (wait a few seconds, or use --wait)"
        else:
            message = f"{which} not found after waiting {waited:g} s."
            ingesting = "X-Ray may still be ingesting it (try a longer --timeout)"
        if len(future) < len(missing):  # for a mistyped id alone, the other reasons would only mislead
            if any(-FUTURE_SKEW <= age <= SETTLED_AGE for age in ages.values()):
                reasons.append(ingesting)
            reasons.append("the request may not have been sampled (only sampled requests are recorded)")
            reasons.append(elsewhere())
            if self._search.destination() == ("", ""):
                reasons.append(
                    "and if Transaction Search is on here, xrayctl could not tell and look there (allow "
                    "xray:GetTraceSegmentDestination)"
                )
        fix = "; ".join(reasons)
        return TraceNotFound(message, f"{fix[0].upper()}{fix[1:]}.", found=found)

    def transaction_search_active(self) -> bool:
        """Whether segments go to CloudWatch Logs (GetTraceSegmentDestination, asked once per reader; any
        error means no)."""
        return self._search.active()


def _merge(found: dict[str, dict[str, Any]], trace: Mapping[str, Any]) -> None:
    """Add a trace from a BatchGetTraces page; a trace split over pages becomes one, each segment once."""
    known = found.get(trace["Id"])
    if known is None:
        found[trace["Id"]] = {**trace, "Segments": list(trace["Segments"])}
        return
    ids = {segment.get("Id") for segment in known["Segments"]}
    known["Segments"].extend(s for s in trace["Segments"] if s.get("Id") not in ids)
    known["LimitExceeded"] = bool(known.get("LimitExceeded") or trace.get("LimitExceeded"))


def _summaries_request(
    start: datetime, end: datetime, time_range_type: str, filter_expression: str | None
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "StartTime": start,
        "EndTime": end,
        "TimeRangeType": time_range_type,
        "Sampling": False,
    }
    if filter_expression:
        kwargs["FilterExpression"] = filter_expression
    return kwargs


def _order(summary: Mapping[str, Any]) -> tuple[float, str]:
    """Newest first is this, reversed: StartTime (one without sorts last), then the id (the local store's
    order), so that the order never depends on which page came in first."""
    return start_seconds(summary.get("StartTime")), str(summary.get("Id", ""))


def start_seconds(value: Any) -> float:
    """A summary's StartTime as seconds (botocore parses it into a datetime); none is -inf."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return -math.inf


def _attach(traces: Sequence[Trace], found: Mapping[str, tuple[dict[str, Any] | None, str | None]]) -> None:
    for trace in traces:
        if trace.id in found:
            trace.summary, warning = found[trace.id]
            if warning:
                trace.warnings.append(warning)


# What a part read into the queue puts there last.
_PART_DONE = object()


def _offer(arrived: queue.Queue[Any], item: Any, stop: threading.Event) -> bool:
    """Put `item` into `arrived` once there is room; False if the reader gave up meanwhile."""
    while not stop.is_set():
        try:
            arrived.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False
