"""Reading X-Ray: traces by id (BatchGetTraces), summaries over time (GetTraceSummaries), and waiting.

botocore parses every response; this module only decides what to ask for and when:
- BatchGetTraces takes at most 5 ids a call, pages with NextToken and may answer `UnprocessedTraceIds`, which
  are asked again a few times. An id X-Ray does not return is reported, never dropped.
- GetTraceSummaries is read in time slices on one thread-safe client, at most `max_workers` calls in flight
  (`--max-concurrency`), then merged newest first without duplicates (a trace can fall in two slices). How
  the slices are chosen, and why, is said at `iter_summaries`.
- Ingestion has no documented bound, so `wait_for_traces` polls, with capped exponential back-off and full
  jitter, until each trace exists, has nothing in progress and has stopped changing; it never sleeps past the
  deadline, and each call is bounded by the client's connect/read timeouts and retries. An id whose time is
  past X-Ray's retention or in the future is asked for once: waiting cannot bring its trace.
- With Transaction Search on, BatchGetTraces finds nothing: the traces are read through trace retrievals
  instead (`aws/retrieval.py`, asked by `_read` when BatchGetTraces misses an id), and polled the same way.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from xrayctl.aws.errors import translate_errors
from xrayctl.aws.indexing import Coverage, summary_coverage
from xrayctl.aws.inflight import InFlightLimit
from xrayctl.aws.retrieval import TraceRetrieval
from xrayctl.aws.slices import split_dense
from xrayctl.aws.threads import DaemonPool
from xrayctl.aws.wait import SETTLE_TIME, SETTLED_AGE, Settling, WaitStatus, build, observe
from xrayctl.errors import RetrievalFailed, Throttled, TraceNotFound, Unreachable, XrayctlError
from xrayctl.trace.ids import trace_epoch
from xrayctl.trace.model import Trace

BATCH_SIZE = 5  # BatchGetTraces' limit
UNPROCESSED_RETRIES = 3
BACKOFF_BASE = 0.25
BACKOFF_CAP = 2.0
RETENTION_DAYS = 30
# An id stamped further ahead of this machine's clock than any clock skew explains names no trace X-Ray has.
FUTURE_SKEW = 5 * 60.0
# GetTraceSummaries with TimeRangeType=TraceId filters on the time in the id; the margin covers the clock
# skew of whoever chose the id, and the window stays far below the 6 h the console scans at a time.
SUMMARY_WINDOW_BEFORE = timedelta(minutes=5)
SUMMARY_WINDOW_AFTER = timedelta(minutes=15)
# The longest window one GetTraceSummaries call may cover (the X-Ray console reads 6 h at a time too).
SLICE_LENGTH = timedelta(hours=6)
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
    """Summaries being read on threads (`XRayReader._summaries_alongside`), attached once the traces exist."""

    def __init__(self, futures: Mapping[str, Future[tuple[dict[str, Any] | None, str | None]]]) -> None:
        self._futures = futures

    @property
    def started(self) -> bool:
        return bool(self._futures)

    def attach(self, traces: Sequence[Trace]) -> None:
        for trace in traces:
            future = self._futures.get(trace.id)
            if future is not None:
                trace.summary, warning = future.result()
                if warning:
                    trace.warnings.append(warning)

    def cancel(self) -> None:
        for future in self._futures.values():
            future.cancel()


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
    ) -> None:
        """`max_workers`: calls in flight at once (1: one after another)."""
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._client = client
        self._settle_time = settle_time
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
        wanted = list(dict.fromkeys(ids))
        deadline = self._clock() + timeout
        settling: dict[str, Settling] = {}  # what the polls have shown of each trace found
        complete: set[str] = set()
        given_up: set[str] = set()  # missing, and no wait can bring them
        polls = 0
        # Why the latest poll failed (throttled or unreachable after botocore's retries, or a trace retrieval
        # that did not complete), until one succeeds.
        failure: Throttled | Unreachable | RetrievalFailed | None = None
        failures = 0  # polls failed in a row
        # Most traces asked for are complete at the first poll: their summaries are read alongside it.
        with translate_errors(), self._summaries_alongside(wanted if with_summary else ()) as early:
            while True:
                asked = [i for i in wanted if i not in complete and i not in given_up]
                try:
                    with translate_errors():
                        # No retries of unprocessed ids inside a poll: the next poll asks again anyway.
                        result = self._read(asked, deadline, retries=0)
                except (Throttled, Unreachable, RetrievalFailed) as exc:
                    # A first poll that fails ends the wait at once: the endpoint or the account is wrong
                    # more often than not, and so is an endpoint that no longer takes connections at all
                    # (`local serve` stopped). Once a poll has answered, a throttle, a 5xx, a timeout or a
                    # dropped connection that outlasts botocore's retries is passing weather: the wait polls
                    # on to its deadline, backing off further after each failure.
                    # A retrieval that failed or did not complete in time is such weather too.
                    if polls == 0 or (isinstance(exc, Unreachable) and exc.refused):
                        raise
                    failure, failures = exc, failures + 1
                    now = self._clock()
                else:
                    failure, failures = None, 0
                    polls += 1
                    now = self._clock()
                    given_up.update(i for i in result.missing if i not in settling and self._cannot_appear(i))
                    for trace_id, raw in result.traces.items():
                        settling[trace_id] = observe(settling.get(trace_id), raw, now)
                        if settling[trace_id].complete(now, self._settle_time, wall_now=self._wall_clock()):
                            complete.add(trace_id)
                remaining = deadline - now
                if on_poll is not None:
                    failing = failure.message if failure is not None else None
                    on_poll(
                        WaitStatus.of(
                            wanted, complete, settling, polls=polls, remaining=remaining, failing=failing
                        )
                    )
                done = failure is None and len(complete) + len(given_up) == len(wanted)
                if done or remaining <= 0:
                    break
                self._sleep(min(remaining, self._backoff(polls - 1 + failures)))
            missing = [i for i in wanted if i not in settling]
            if failure is not None and any(i not in given_up for i in missing):
                raise failure  # whether X-Ray has the trace by now is not known: the failure is the answer
            traces = [
                settling[i].trace if i in complete else settling[i].unfinished()
                for i in wanted
                if i in settling
            ]
            if failure is not None:
                for trace in traces:
                    if trace.id not in complete:
                        trace.warnings.append(f"the last poll failed: {failure.message}")
            # With Transaction Search on, only an indexed fraction of traces has a summary: the ones read
            # alongside the first poll are all there is worth asking for.
            if (polls == 1 or self._search.only_way) and early.started:
                early.attach(traces)
            elif with_summary and not self._search.only_way:
                self._attach_summaries(traces)  # the summaries read at the first poll are out of date
            if missing:
                waited = None if given_up.issuperset(missing) else timeout
                raise self._not_found(missing, waited=waited, found=traces)
        return traces

    def get_summary(self, trace_id: str) -> dict[str, Any] | None:
        """The trace's GetTraceSummaries entry, or None if X-Ray has none."""
        epoch = datetime.fromtimestamp(trace_epoch(trace_id), tz=timezone.utc)
        now = datetime.fromtimestamp(self._wall_clock(), tz=timezone.utc)
        start = epoch - SUMMARY_WINDOW_BEFORE
        end = max(epoch + timedelta(seconds=1), min(epoch + SUMMARY_WINDOW_AFTER, now))
        with translate_errors():
            for page in self._summary_pages(start, end, time_range_type="TraceId", filter_expression=None):
                for summary in page:
                    if summary.get("Id") == trace_id:
                        return summary
        return None

    def summary_coverage(self) -> Coverage | None:
        """What share of traces the summaries cover, with Transaction Search on (`aws/indexing.py`). Asked
        after the summaries, not beside them: --max-concurrency bounds every call in flight."""
        return summary_coverage(self._client, self._search.active)

    # ---------------------------------------------------------------------------------------- over time

    def iter_summaries(
        self,
        start: datetime,
        end: datetime,
        *,
        filter_expression: str | None = None,
        time_range_type: str = "Event",
        slice_length: timedelta = SLICE_LENGTH,
    ) -> Iterator[dict[str, Any]]:
        """Every trace summary in [start, end], each trace once, newest first (by StartTime; the service's
        order where it gives none).

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
        yielded once. Correctness never depends on the order the service returns summaries in.
        """
        slices = []  # the service's longest, from the end: the oldest holds what is left
        upper = end
        while upper > start:
            slices.append((max(start, upper - slice_length), upper))
            upper = slices[-1][0]
        found: list[dict[str, Any]] = []
        with translate_errors():
            if self._max_workers <= 1:
                for lower, upper in slices:
                    for page in self._summary_pages(lower, upper, time_range_type, filter_expression):
                        found += page
            else:
                found = self._concurrent_summaries(slices, time_range_type, filter_expression, slice_length)
        seen: set[str] = set()
        # sorted() is stable: summaries with the same StartTime (or none) keep the order they came in.
        yield from sorted(_unseen(found, seen), key=_start_key, reverse=True)

    def _concurrent_summaries(
        self,
        slices: list[tuple[datetime, datetime]],
        time_range_type: str,
        filter_expression: str | None,
        slice_length: timedelta,
    ) -> list[dict[str, Any]]:
        limit = InFlightLimit(self._max_workers, self._client)
        pool = DaemonPool(self._max_workers * PARSING_THREADS, "xray-summaries")
        try:
            firsts = [
                pool.submit(
                    self._limited, limit, self._first_page, lower, upper, time_range_type, filter_expression
                )
                for lower, upper in slices
            ]
            found: list[dict[str, Any]] = []
            dense: list[tuple[datetime, datetime]] = []
            for (lower, upper), first in zip(slices, firsts, strict=True):
                page, more = first.result()
                found += page
                if more:
                    dense.append((lower, upper))
            parts = split_dense(dense, self._max_workers * SLICES_PER_WORKER, slice_length)
            rest = [
                pool.submit(
                    self._limited,
                    limit,
                    self._all_summaries,
                    lower,
                    upper,
                    time_range_type,
                    filter_expression,
                )
                for lower, upper in parts
            ]
            for part in rest:
                found += part.result()
            return found
        finally:
            # A failure (or Ctrl-C) must not start the other slices' calls, nor wait for those running.
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

    def _all_summaries(
        self, start: datetime, end: datetime, time_range_type: str, filter_expression: str | None
    ) -> list[dict[str, Any]]:
        pages = self._summary_pages(start, end, time_range_type, filter_expression)
        return [summary for page in pages for summary in page]

    def _first_page(
        self, start: datetime, end: datetime, time_range_type: str, filter_expression: str | None
    ) -> tuple[list[dict[str, Any]], bool]:
        """The first page of the window, and whether it has more (a NextToken, not followed)."""
        response = self._client.get_trace_summaries(
            **_summaries_request(start, end, time_range_type, filter_expression)
        )
        return response.get("TraceSummaries", []), bool(response.get("NextToken"))

    def _attach_summaries(self, traces: list[Trace]) -> None:
        if len(traces) <= 1 or self._max_workers <= 1:
            for trace in traces:
                self._attach_summary(trace)
            return
        DaemonPool(self._max_workers, "xray-summary").map(self._attach_summary, traces)

    def _attach_summary(self, trace: Trace) -> None:
        trace.summary, warning = self._summary_or_warning(trace.id)
        if warning:
            trace.warnings.append(warning)

    def _summary_or_warning(self, trace_id: str) -> tuple[dict[str, Any] | None, str | None]:
        # The summary only adds X-Ray's own figures to the header: the trace is worth showing without it.
        try:
            return self.get_summary(trace_id), None
        except XrayctlError as exc:  # denied, throttled, timed out, 5xx: the documents came, or will say so
            return None, f"no trace summary: {exc.message}"

    @contextmanager
    def _summaries_alongside(self, ids: Sequence[str]) -> Iterator[_PendingSummaries]:
        """Read the summaries of `ids` on threads while the caller reads the documents.

        Against AWS each call is a network round trip; the two do not depend on each other, so `show-trace`
        pays for one instead of two. Leaving the block does not wait for the calls still running: after an
        error or Ctrl-C, nobody needs them (and one to a stalled endpoint lasts until its timeouts).
        """
        if not ids or self._max_workers <= 1:  # one request at a time: read after the documents
            yield _PendingSummaries({})
            return
        workers = min(len(ids), self._max_workers)
        pool = DaemonPool(workers, "xray-summary")
        pending = _PendingSummaries({i: pool.submit(self._summary_or_warning, i) for i in ids})
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
            reasons.append("or it was recorded in another region or account (check --region and --profile)")
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


def _start_key(summary: Mapping[str, Any]) -> float:
    """A summary's StartTime as seconds (botocore parses it into a datetime); one without sorts last."""
    value = summary.get("StartTime")
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return -math.inf


def _unseen(summaries: list[dict[str, Any]], seen: set[str]) -> Iterator[dict[str, Any]]:
    for summary in summaries:
        if summary["Id"] not in seen:
            seen.add(summary["Id"])
            yield summary
