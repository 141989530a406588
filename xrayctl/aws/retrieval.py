"""Reading traces where Transaction Search keeps them: StartTraceRetrieval, then ListRetrievedTraces.

With Transaction Search on (GetTraceSegmentDestination: CloudWatchLogs, ACTIVE), spans go to the CloudWatch
Logs group `aws/spans` and BatchGetTraces finds none of them. A retrieval reads them: StartTraceRetrieval
takes at most 100 trace ids and a time window and answers a token; ListRetrievedTraces answers SCHEDULED or
RUNNING with nothing, then COMPLETE with pages of traces whose spans, in the XRAY format, are the segment
documents BatchGetTraces would have returned; or FAILED, CANCELLED or TIMEOUT (60 minutes). botocore has no
paginator for it: NextToken is followed here.

`TraceRetrieval` is what `XRayReader` asks when BatchGetTraces misses an id. It asks the destination once
(per reader, so once per command) and keeps the answer. With Transaction Search on, every read is a retrieval.
While the destination is changing (PENDING), or cannot be asked (the permission is missing), an id that
BatchGetTraces does not find and that is too old for ingestion to explain (SETTLED_AGE) gets one retrieval, in
case its spans went to CloudWatch Logs: a failure of that attempt only leaves the id not found, and a success
makes every later read a retrieval. An account whose destination is X-Ray, ACTIVE, pays for none of this.

Each retrieval's window is taken from the ids' epochs (a trace's spans start at or after the time in its id,
give or take clock skew, and end within WINDOW_AFTER), ids far apart in time going to separate retrievals. The
status is polled with capped, jittered back-off, never past the caller's deadline; a retrieval still running
at the deadline, or when the user presses Ctrl-C, is cancelled (CancelTraceRetrieval) before the error, so
nothing is left running in the account. Once a status poll has answered, a throttle or an endpoint failure
that outlasts botocore's retries is polled through until the deadline.

A wait polls until its deadline, and its last poll can start a retrieval that has no time left to complete.
When earlier retrievals of the same ids have completed, that one adds nothing: it is cancelled, and their
answer stands (a trace none of them found is not found, with the window they searched). Only a retrieval that
ended otherwise than COMPLETE, or is cut at the deadline with no completed one before it, is a failure.

An id whose time is past X-Ray's retention or in the future (`aws/retention.py`) is never retrieved: no
window of 1969 or 2106 can hold its trace, and the not-found message says why, as without Transaction Search.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from xrayctl.aws.errors import elsewhere, translate_errors
from xrayctl.aws.retention import not_kept, not_kept_reasons
from xrayctl.aws.wait import SETTLED_AGE
from xrayctl.errors import RetrievalFailed, Throttled, Unreachable, XrayctlError
from xrayctl.trace.ids import trace_epoch

logger = logging.getLogger(__name__)

MAX_IDS = 100  # StartTraceRetrieval's limit
# The window around the ids' epochs: spans may start a little before the id's time (the clock of whoever made
# the id), and a trace lasts at most about this long (a Lambda function runs up to 15 minutes; queues and
# retries add to that).
WINDOW_BEFORE = 5 * 60.0
WINDOW_AFTER = 60 * 60.0
# Ids further apart than this go to separate retrievals, so that no window is longer than about two hours.
SPREAD = 60 * 60.0
TERMINAL = {"FAILED", "CANCELLED", "TIMEOUT"}
_ENDED = {
    "FAILED": "ended FAILED",
    "CANCELLED": "was CANCELLED (CancelTraceRetrieval, by another caller)",
    "TIMEOUT": "TIMED OUT at X-Ray (a retrieval ends after 60 minutes)",
}
_FIXES = {
    "FAILED": (
        "Try again; if it lasts, open the trace in CloudWatch's Transaction Search (log group aws/spans)."
    ),
    "CANCELLED": "Run the command again.",
    "TIMEOUT": "Ask for fewer traces at a time, or try again later.",
}


def _seconds(value: float) -> str:
    return f"{value:g}"


def retrieval_window(trace_ids: Sequence[str], now: float) -> tuple[int, int]:
    """(StartTime, EndTime) covering the spans of these traces, in whole epoch seconds (botocore sends this
    operation's times as whole seconds: the end is rounded up, or a span of this very second would be left
    out); never ending before the newest id's second is over, nor (for ids not from the future) after now."""
    epochs = [trace_epoch(i) for i in trace_ids]
    newest = max(epochs)
    return math.floor(min(epochs) - WINDOW_BEFORE), math.ceil(
        min(newest + WINDOW_AFTER, max(now, newest + 1))
    )


def _groups(trace_ids: Sequence[str]) -> Iterator[list[str]]:
    """The ids in retrievals of at most MAX_IDS whose epochs lie within SPREAD of each other."""
    group: list[str] = []
    for trace_id in sorted(dict.fromkeys(trace_ids), key=trace_epoch):
        if group and (len(group) == MAX_IDS or trace_epoch(trace_id) - trace_epoch(group[0]) > SPREAD):
            yield group
            group = []
        group.append(trace_id)
    if group:
        yield group


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


class TraceRetrieval:
    def __init__(
        self,
        client: Any,
        *,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
        backoff: Callable[[int], float],
    ) -> None:
        self._client = client
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._backoff = backoff
        self._lock = threading.Lock()
        self._destination: tuple[str, str] | None = None  # (Destination, Status); ("", "") if not known
        self._tried: set[str] = set()  # ids the fallback has asked for already
        self._found_some = False  # a fallback retrieval found traces: they are in CloudWatch Logs
        self._asked: dict[str, None] = {}  # every id asked for, in order (for messages)
        # The ids and window of each retrieval that completed, for messages: what was searched, and where.
        self._searched: list[tuple[frozenset[str], int, int]] = []

    # ------------------------------------------------------------------------------------- destination

    def destination(self) -> tuple[str, str]:
        """GetTraceSegmentDestination's (Destination, Status), asked once; ("", "") if it cannot be asked
        (the permission is missing, or the endpoint does not have the operation)."""
        with self._lock:
            if self._destination is None:
                from botocore.exceptions import BotoCoreError, ClientError

                try:
                    answer = self._client.get_trace_segment_destination()
                    self._destination = (str(answer.get("Destination")), str(answer.get("Status")))
                except (ClientError, BotoCoreError) as exc:
                    logger.debug("GetTraceSegmentDestination failed: %s", exc)
                    self._destination = ("", "")
            return self._destination

    @property
    def only_way(self) -> bool:
        """Every read is a retrieval: the destination (already asked) said Transaction Search is on, or a
        retrieval found traces that BatchGetTraces did not."""
        return self._found_some or self._destination == ("CloudWatchLogs", "ACTIVE")

    def active(self) -> bool:
        """Transaction Search is on (asking the destination if it has not been asked)."""
        return self.destination() == ("CloudWatchLogs", "ACTIVE")

    # ------------------------------------------------------------------------------------------ reading

    def for_missing(self, missing: Sequence[str], deadline: float) -> dict[str, dict[str, Any]]:
        """Traces of `missing` (ids BatchGetTraces did not find) that a retrieval finds, if one should be
        made (see the module's docstring)."""
        if self._found_some or self.active():
            return self.fetch(missing, deadline)
        if self.destination() == ("XRay", "ACTIVE"):
            return {}
        now = self._wall_clock()
        old = [
            i
            for i in self._retrievable(missing)
            if i not in self._tried and now - trace_epoch(i) > SETTLED_AGE
        ]
        if not old:
            return {}
        self._tried.update(old)
        try:
            found = self.fetch(old, deadline)
        except XrayctlError as exc:  # no permission, no aws/spans, a failed retrieval: the ids stay not found
            logger.debug("trace retrieval for %s failed: %s", ", ".join(old), exc)
            return {}
        self._found_some = self._found_some or bool(found)
        return found

    def fetch(self, trace_ids: Sequence[str], deadline: float) -> dict[str, dict[str, Any]]:
        """The traces the retrievals find, by id, in BatchGetTraces' shape (Id, Duration, LimitExceeded,
        Segments); an id with no span in its window is left out, and so is one X-Ray cannot hold (past
        retention, from the future), unasked. Raises RetrievalFailed, or the error of a call that failed
        before any status poll answered."""
        found: dict[str, dict[str, Any]] = {}
        for group in _groups(self._retrievable(trace_ids)):
            found.update(self._retrieve(group, deadline))
        return found

    def _retrievable(self, trace_ids: Sequence[str]) -> list[str]:
        """The ids worth a retrieval: all but those X-Ray cannot hold (`retention.not_kept`)."""
        self._asked.update(dict.fromkeys(trace_ids))
        expired, future = not_kept(trace_ids, self._wall_clock())
        return [i for i in trace_ids if i not in expired and i not in future]

    def _retrieve(self, trace_ids: list[str], deadline: float) -> dict[str, dict[str, Any]]:
        start, end = retrieval_window(trace_ids, self._wall_clock())
        with translate_errors():
            token = self._client.start_trace_retrieval(
                TraceIds=trace_ids,
                StartTime=datetime.fromtimestamp(start, tz=timezone.utc),
                EndTime=datetime.fromtimestamp(end, tz=timezone.utc),
            ).get("RetrievalToken")
        if not token:
            raise RetrievalFailed(
                f"The trace retrieval for {_which(trace_ids)} could not start: StartTraceRetrieval answered "
                "no RetrievalToken.",
                "Check --endpoint-url and AWS_ENDPOINT_URL: the endpoint does not answer as X-Ray does.",
            )
        with self._cancelled_unless_finished(token) as finished:
            first = self._completed(token, trace_ids, deadline, finished)
            if first is None:  # cut at the deadline, and superseded: cancelled on the way out
                return {}
            found: dict[str, dict[str, Any]] = {}
            for page in self._pages(token, first):
                for trace in page.get("Traces") or []:
                    _merge(found, trace)
            finished.append(True)
        self._searched.append((frozenset(trace_ids), start, end))
        return {trace_id: trace for trace_id, trace in found.items() if trace["Segments"]}

    @contextmanager
    def _cancelled_unless_finished(self, token: str) -> Iterator[list[bool]]:
        """Cancel the retrieval when the block ends before it finished (an error, our deadline, Ctrl-C)."""
        finished: list[bool] = []
        try:
            yield finished
        finally:
            if not finished:
                self.cancel(token)

    def cancel(self, token: str) -> None:
        """CancelTraceRetrieval, once; its failure changes nothing for the user (the retrieval ends on its
        own at 60 minutes)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.cancel_trace_retrieval(RetrievalToken=token)
        except (ClientError, BotoCoreError) as exc:
            logger.debug("CancelTraceRetrieval failed: %s", exc)

    def _completed(
        self, token: str, trace_ids: list[str], deadline: float, finished: list[bool]
    ) -> dict[str, Any] | None:
        """Poll until COMPLETE (its first page returned); raise RetrievalFailed when it ends otherwise or is
        still running at `deadline`, unless earlier retrievals of all these ids completed: then None (their
        answer stands; see the module's docstring)."""
        polls = 0
        answered = False
        failure: Throttled | Unreachable | None = None
        status = "SCHEDULED"
        while True:
            try:
                with translate_errors():
                    page = self._client.list_retrieved_traces(RetrievalToken=token, TraceFormat="XRAY")
            except (Throttled, Unreachable) as exc:
                if not answered or (isinstance(exc, Unreachable) and exc.refused):
                    raise
                failure = exc
            else:
                answered, failure = True, None
                status = str(page.get("RetrievalStatus") or "SCHEDULED")
                if status == "COMPLETE":
                    return page
                if status in TERMINAL:
                    finished.append(True)  # nothing left to cancel
                    raise RetrievalFailed(
                        f"The trace retrieval for {_which(trace_ids)} {_ENDED[status]}.", _FIXES[status]
                    )
            remaining = deadline - self._clock()
            if remaining <= 0:
                if failure is not None:
                    raise failure
                if self._answered(trace_ids):
                    return None
                raise RetrievalFailed(
                    f"The trace retrieval for {_which(trace_ids)} was still {status} when the wait ended; "
                    "it was cancelled.",
                    "Retrievals can take a while: try a longer --timeout.",
                )
            self._sleep(min(remaining, self._backoff(polls)))
            polls += 1

    def _pages(self, token: str, first: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
        yield first
        tokens: set[str] = set()
        next_token = first.get("NextToken")
        while next_token and next_token not in tokens:
            tokens.add(next_token)
            with translate_errors():
                page = self._client.list_retrieved_traces(
                    RetrievalToken=token, TraceFormat="XRAY", NextToken=next_token
                )
            yield page
            next_token = page.get("NextToken")

    def _answered(self, trace_ids: Sequence[str]) -> bool:
        """Whether a retrieval that completed has asked for each of these ids."""
        asked = set().union(*(ids for ids, _, _ in self._searched))
        return asked.issuperset(trace_ids)

    def not_found_message(self, which: str, missing: Sequence[str] | None = None) -> tuple[str, str]:
        """(message, fix) for traces that no retrieval found: `missing`, the ids `which` names (by default,
        the ids asked for that it names)."""
        ids = list(missing) if missing is not None else [i for i in self._asked if i in which]
        expired, future = not_kept(ids, self._wall_clock())
        reasons = not_kept_reasons(expired, future)
        searched = [i for i in ids if i not in expired and i not in future]
        if ids and not searched:  # asked of no retrieval: why X-Ray cannot have them is the whole answer
            if expired:  # and for an old id, the reasons any missing trace may have
                reasons += [_NOT_SAMPLED, elsewhere()]
            return f"{which} not found.", _sentence(reasons)
        whose = "it" if len(ids) == 1 else "them" if len(searched) == len(ids) else ", ".join(searched)
        windows = _spans(
            (start, end) for asked, start, end in self._searched if not asked.isdisjoint(searched)
        )
        where = " and ".join(f"from {_when(start)} to {_when(end)}" for start, end in windows)
        message = (
            f"{which} not found: Transaction Search is on in this account and region, and a trace retrieval "
            f"(StartTraceRetrieval) found no span of {whose} in CloudWatch Logs"
            + (f" {where} UTC." if where else ".")
        )
        return message, _sentence(
            [
                *reasons,
                "the request may not have been sampled, its spans may still be on their way (use --wait, or "
                "a longer --timeout), or it was recorded in another region or account (check --region and "
                "--profile)",
            ]
        )


_NOT_SAMPLED = "the request may not have been sampled (only sampled requests are recorded)"


def _sentence(clauses: Sequence[str]) -> str:
    text = "; ".join(clauses)
    return f"{text[:1].upper()}{text[1:]}."


def _spans(windows: Iterator[tuple[int, int]] | Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The windows merged where they overlap or touch (a wait's retrievals of one id differ only in how far
    toward now they reach), in time order."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _which(trace_ids: Sequence[str]) -> str:
    if len(trace_ids) == 1:
        return f"trace {trace_ids[0]}"
    return f"{len(trace_ids)} traces ({trace_ids[0]}, ...)"


def _merge(found: dict[str, dict[str, Any]], trace: Mapping[str, Any]) -> None:
    """A retrieved trace into `found`, in BatchGetTraces' shape; a trace continued over pages becomes one,
    each span once."""
    trace_id, spans = trace.get("Id"), trace.get("Spans") or []
    if not isinstance(trace_id, str):
        return
    known = found.setdefault(
        trace_id, {"Id": trace_id, "Duration": trace.get("Duration"), "LimitExceeded": False, "Segments": []}
    )
    ids = {segment.get("Id") for segment in known["Segments"]}
    for span in spans:
        if span.get("Id") not in ids:
            ids.add(span.get("Id"))
            known["Segments"].append({"Id": span.get("Id"), "Document": span.get("Document")})
