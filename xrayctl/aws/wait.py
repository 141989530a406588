"""Deciding that a trace is complete. X-Ray ingests each segment on its own schedule (seconds, unbounded).

A trace is complete when nothing in it is in progress and its documents have stopped changing for the settle
time (ORPHAN_SETTLE_FACTOR times as long while an entity's parent is missing), or when X-Ray has long had all
of it. `Settling` is what the polls have shown of one trace; `WaitStatus` is what a wait reports after each
poll. The polling itself (what to ask, when to give up, how long to sleep) is `XRayReader.wait_for_traces`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
