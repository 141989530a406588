"""Deciding that a trace is complete. X-Ray ingests each segment on its own schedule (seconds, unbounded).

A trace is complete when nothing in it is in progress and its documents have stopped changing for the settle
time (ORPHAN_SETTLE_FACTOR times as long while an entity's parent is missing), or when X-Ray has long had all
of it. `Settling` is what the polls have shown of one trace; `Waiting` is what a whole wait knows between
polls (which traces are complete, which cannot appear, why the latest poll failed); `WaitStatus` is what it
reports after each poll. The polling itself (when to ask, how long to sleep) is
`XRayReader.wait_for_traces`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from xrayctl.errors import RetrievalFailed, Throttled, Unreachable
from xrayctl.trace.build import build_trace, parse_document
from xrayctl.trace.ids import trace_epoch
from xrayctl.trace.model import Trace

# A trace unchanged this long (and with nothing in progress) is taken as complete; the Backend passes its own.
SETTLE_TIME = 1.0
# ... and this many times as long while an entity's parent is missing from it.
ORPHAN_SETTLE_FACTOR = 10
# A trace whose id is older than this has been ingested long ago: whatever X-Ray has is all there will be.
SETTLED_AGE = 15 * 60.0
# Segments are sent when they close: a trace whose every node ended this long ago has nothing on its way.
ENDED_AGE = 60.0

# What makes a poll fail without ending the wait, once a poll has answered (see `Waiting.failed`).
PollFailure = Throttled | Unreachable | RetrievalFailed


@dataclass(frozen=True)
class Settling:
    """One trace as the latest poll found it, and since when its documents have not changed."""

    trace: Trace
    fingerprint: tuple[tuple[str, str], ...]  # (segment id, document) of each segment, sorted
    unchanged_since: float  # monotonic seconds
    # A document at the top of the tree names a parent that is not in the trace (yet).
    orphaned: bool

    def complete(self, now: float, settle_time: float, *, wall_now: float) -> bool:
        """Whether the trace is complete at `now` (monotonic) / `wall_now` (epoch seconds)."""
        if wall_now - trace_epoch(self.trace.id) > SETTLED_AGE:
            return True
        if self.trace.in_progress:
            return False
        # A parent still missing is usually on its way (the SDK sends a child before its parent, and Lambda
        # its own segments after the function's), so such a trace must be quiet for longer; but not until the
        # deadline: an upstream caller that never reports to X-Ray leaves its callee's parent_id pointing at
        # nothing for good.
        settle = settle_time * (ORPHAN_SETTLE_FACTOR if self.orphaned else 1)
        if now - self.unchanged_since >= settle:
            return True
        ended = self.trace.end_time
        return not self.orphaned and ended is not None and wall_now - ended > ENDED_AGE

    def unfinished(self) -> Trace:
        """The trace as it was when the wait ended before it was complete, with a warning saying why."""
        if self.trace.in_progress:
            why = "still in progress when the wait ended: segments may be missing (see --timeout)"
        elif self.orphaned:
            why = "a parent segment had not arrived when the wait ended (see --timeout)"
        else:
            why = "segments were still arriving when the wait ended (see --timeout)"
        self.trace.warnings.append(why)
        return self.trace


def observe(previous: Settling | None, raw: Mapping[str, Any], now: float) -> Settling:
    """What a poll that returned `raw` (a BatchGetTraces trace) at `now` shows, after `previous`."""
    trace = build(raw)
    fingerprint = tuple(sorted((s.get("Id", ""), s.get("Document", "")) for s in raw["Segments"]))
    same = previous is not None and previous.fingerprint == fingerprint
    since = previous.unchanged_since if previous is not None and same else now
    return Settling(trace, fingerprint, since, _has_orphan(trace, raw))


def build(raw: Mapping[str, Any]) -> Trace:
    """The tree of a BatchGetTraces trace."""
    return build_trace(raw["Id"], raw["Segments"], limit_exceeded=raw.get("LimitExceeded") is True)


@dataclass
class Waiting:
    """A wait for `wanted` between its polls.

    `missing_grace`: how long an id missing since the first poll is waited for when its trace started over
    ENDED_AGE ago (None: to the deadline). A store that keeps what it receives at once (the local stack)
    would have had such a trace by now: a mistyped id there need not cost the whole --timeout.
    """

    wanted: list[str]
    settle_time: float
    missing_grace: float | None = None
    settling: dict[str, Settling] = field(default_factory=dict)  # each trace found, as last polled
    complete: set[str] = field(default_factory=set)
    given_up: set[str] = field(default_factory=set)  # missing, and no longer waited for
    hopeless: set[str] = field(default_factory=set)  # of those, the ones no wait could bring (cannot_appear)
    polls: int = 0  # polls answered
    first_answer: float | None = None  # monotonic time of the first poll answered
    # Why the latest poll failed (throttled or unreachable after botocore's retries, or a trace retrieval
    # that did not complete), until one succeeds; and how many failed in a row.
    failure: PollFailure | None = None
    failures: int = 0

    @property
    def asked(self) -> list[str]:
        """The ids the next poll asks for: neither complete nor given up."""
        return [i for i in self.wanted if i not in self.complete and i not in self.given_up]

    @property
    def done(self) -> bool:
        """Nothing more to wait for (the latest poll answered, and each id is complete or given up)."""
        return self.failure is None and len(self.complete) + len(self.given_up) == len(self.wanted)

    @property
    def missing(self) -> list[str]:
        return [i for i in self.wanted if i not in self.settling]

    @property
    def found_none_that_could_appear(self) -> bool:
        """Every id missing is one no wait could bring (past retention, or from the future)."""
        return all(i in self.hopeless for i in self.missing)

    def answered(
        self,
        traces: Mapping[str, Mapping[str, Any]],
        missing: Sequence[str],
        *,
        now: float,
        wall_now: float,
        cannot_appear: Callable[[str], bool],
    ) -> None:
        """A poll answered at `now` (monotonic) / `wall_now` (epoch): `traces` found, `missing` not."""
        self.failure, self.failures = None, 0
        self.polls += 1
        if self.first_answer is None:
            self.first_answer = now
        for trace_id in missing:
            if trace_id in self.settling:
                continue
            waited_long = (
                self.missing_grace is not None
                and now - self.first_answer >= self.missing_grace
                and wall_now - trace_epoch(trace_id) > ENDED_AGE
            )
            if cannot_appear(trace_id):
                self.hopeless.add(trace_id)
            if waited_long or trace_id in self.hopeless:
                self.given_up.add(trace_id)
        for trace_id, raw in traces.items():
            self.settling[trace_id] = state = observe(self.settling.get(trace_id), raw, now)
            if state.complete(now, self.settle_time, wall_now=wall_now):
                self.complete.add(trace_id)

    def failed(self, failure: PollFailure) -> None:
        """A poll failed. A first poll that fails ends the wait at once (the endpoint or the account is wrong
        more often than not), and so does an endpoint that no longer takes connections at all (`local serve`
        stopped): raised. Once a poll has answered, a throttle, a 5xx, a timeout, a dropped connection that
        outlasts botocore's retries, or a retrieval that did not complete, is passing weather: the wait polls
        on to its deadline, backing off further after each failure."""
        if self.polls == 0 or (isinstance(failure, Unreachable) and failure.refused):
            raise failure
        self.failure, self.failures = failure, self.failures + 1

    def status(self, remaining: float) -> WaitStatus:
        failing = self.failure.message if self.failure is not None else None
        return WaitStatus.of(
            self.wanted, self.complete, self.settling, polls=self.polls, remaining=remaining, failing=failing
        )

    def traces(self) -> list[Trace]:
        """The traces found, in the order wanted: complete ones as they are, the others with a warning saying
        why the wait ended early. Raises the latest poll's failure when it is the answer: whether X-Ray has
        a trace still missing by now is not known."""
        if self.failure is not None and any(i not in self.given_up for i in self.missing):
            raise self.failure
        found = [(i, self.settling[i]) for i in self.wanted if i in self.settling]
        traces = [state.trace if i in self.complete else state.unfinished() for i, state in found]
        if self.failure is not None:
            for trace in traces:
                if trace.id not in self.complete:
                    trace.warnings.append(f"the last poll failed: {self.failure.message}")
        return traces


@dataclass(frozen=True)
class WaitStatus:
    """Where `wait_for_traces` stands after a poll (passed to `on_poll`)."""

    polls: int
    remaining: float  # seconds until the deadline
    complete: tuple[str, ...]
    in_progress: tuple[str, ...]  # found, but still in progress or still changing
    missing: tuple[str, ...]
    failing: str | None = None  # why the latest poll failed (it is polled again), if it did

    @classmethod
    def of(
        cls,
        wanted: Sequence[str],
        complete: Collection[str],
        found: Collection[str],
        *,
        polls: int,
        remaining: float,
        failing: str | None = None,
    ) -> WaitStatus:
        return cls(
            polls=polls,
            remaining=remaining,
            complete=tuple(i for i in wanted if i in complete),
            in_progress=tuple(i for i in wanted if i in found and i not in complete),
            missing=tuple(i for i in wanted if i not in found),
            failing=failing,
        )

    def __str__(self) -> str:
        total = len(self.complete) + len(self.in_progress) + len(self.missing)
        parts = [f"{len(self.complete)}/{total} complete"]
        if self.in_progress:
            parts.append(f"{len(self.in_progress)} in progress")
        if self.missing:
            parts.append(f"{len(self.missing)} not found yet")
        if self.failing:
            parts.append(f"last poll failed: {self.failing}")
        return f"{', '.join(parts)} (poll {self.polls}, {max(self.remaining, 0):.0f} s left)"


def _has_orphan(trace: Trace, raw: Mapping[str, Any]) -> bool:
    """Whether a document at the top of the tree names a parent that is not in the trace (yet)."""
    roots = {node.id for node in trace.roots}
    for segment in raw["Segments"]:
        if segment.get("Id") not in roots:
            continue
        document = segment.get("Document")
        try:
            parsed = parse_document(document) if isinstance(document, str) else document
        except ValueError:
            continue  # the builder has said so in a warning; nothing here can fix it
        if isinstance(parsed, Mapping) and parsed.get("parent_id"):
            return True
    return False
