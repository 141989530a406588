"""What X-Ray keeps: the traces of the last 30 days, and none from the future.

A window of time is bounded by it before any call is made. Without the bound, `--since 1000d` was read as
4,000 slices of six hours, `--start 0` as 80,000 (X-Ray answers each, with nothing), and a window reaching
back to year 1 overflowed while it was being cut. The bound is a fact the user is told (`Window.notes`), not
a silent change: whoever asked for more than X-Ray keeps learns that it is not there to read.

A trace id says when its trace started, so the same bounds tell which ids X-Ray cannot have (`not_kept`),
whatever the way of reading them (BatchGetTraces, or a trace retrieval with Transaction Search on), and why
(`not_kept_reasons`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from xrayctl.trace.ids import trace_epoch

RETENTION_DAYS = 30
RETENTION = timedelta(days=RETENTION_DAYS)
# An id or an event stamped further ahead of this machine's clock than any clock skew explains names no trace
# X-Ray has; within it, a host whose clock runs ahead still records traces a reader can find.
FUTURE_SKEW = 5 * 60.0
# A bound moved by less than this is not worth a line (`--since 30d` is computed a moment before the bound).
_NOTEWORTHY = timedelta(seconds=1)


@dataclass(frozen=True)
class Window:
    """The part of a window X-Ray can hold; `notes` says what was left out, one sentence each."""

    start: datetime
    end: datetime
    notes: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Nothing to read: the window lies wholly outside what X-Ray keeps."""
        return self.start >= self.end


def retained(start: datetime, end: datetime, now: float | None = None) -> Window:
    """[start, end] (aware) bounded by X-Ray's retention as of `now` (epoch seconds; default: this moment).

    A window wholly outside it becomes an empty one (start == end, at the bound it lies beyond), which costs
    no call; `notes` say so.
    """
    current = datetime.fromtimestamp(time.time() if now is None else now, tz=timezone.utc)
    oldest = current - RETENTION
    newest = current + timedelta(seconds=FUTURE_SKEW)
    notes = []
    if end < oldest:
        notes.append(
            f"X-Ray keeps traces {RETENTION_DAYS} days: the window ends at {_shown(end)}, before "
            f"{_shown(oldest)}; there is nothing to read."
        )
        return Window(oldest, oldest, tuple(notes))
    if start > newest:
        notes.append(f"The window starts in the future ({_shown(start)}): there is nothing to read.")
        return Window(newest, newest, tuple(notes))
    if oldest - start >= _NOTEWORTHY:
        notes.append(
            f"X-Ray keeps traces {RETENTION_DAYS} days: reading from {_shown(oldest)}, not {_shown(start)}."
        )
    if end - newest >= _NOTEWORTHY:
        notes.append(f"The window ends in the future ({_shown(end)}): reading to {_shown(newest)}.")
    return Window(max(start, oldest), min(end, newest), tuple(notes))


def _shown(moment: datetime) -> str:
    # Not strftime: its %Y writes year 1 as "1" on glibc.
    return f"{moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(' ', 'seconds')} UTC"


def not_kept(trace_ids: Sequence[str], now: float) -> tuple[list[str], list[str]]:
    """(expired, future): the ids whose time is older than X-Ray keeps traces, and those stamped further in
    the future than clock skew explains, as of `now` (epoch seconds). X-Ray has no trace of either, and
    never will: neither is worth a wait or a retrieval."""
    expired = [i for i in trace_ids if now - trace_epoch(i) > RETENTION.total_seconds()]
    future = [i for i in trace_ids if trace_epoch(i) - now > FUTURE_SKEW]
    return expired, future


def not_kept_reasons(expired: Sequence[str], future: Sequence[str]) -> list[str]:
    """Why those ids (`not_kept`'s) are not found, one clause each, for a not-found message."""
    reasons = []
    if expired:
        verb = "is" if len(expired) == 1 else "are"
        reasons.append(f"X-Ray keeps traces {RETENTION_DAYS} days and {', '.join(expired)} {verb} older")
    for trace_id in future:
        when = datetime.fromtimestamp(trace_epoch(trace_id), tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        reasons.append(f"{trace_id}'s timestamp ({when} UTC) is in the future: check the id")
    return reasons
