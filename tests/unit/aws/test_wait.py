"""When a wait takes a trace as complete: nothing in progress and quiet long enough, longer while a parent is
missing, or old enough that X-Ray has long had all of it; and what it says of a trace it had to give up on."""

from __future__ import annotations

import json
from typing import Any

from xrayctl.aws.wait import ENDED_AGE, ORPHAN_SETTLE_FACTOR, SETTLED_AGE, observe

EPOCH = 1_800_000_000  # the trace's start, as its id says
TRACE_ID = f"1-{EPOCH:08x}-0123456789abcdef01234567"
SETTLE = 1.0


def raw(*documents: dict[str, Any]) -> dict[str, Any]:
    """A BatchGetTraces trace of these documents."""
    return {"Id": TRACE_ID, "Segments": [{"Id": d["id"], "Document": json.dumps(d)} for d in documents]}


def segment(ident: str, *, end: float | None = EPOCH + 1.0, parent: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"id": ident, "name": ident, "trace_id": TRACE_ID, "start_time": EPOCH + 0.5}
    if end is None:
        document["in_progress"] = True
    else:
        document["end_time"] = end
    if parent is not None:
        document["parent_id"] = parent
    return document


WALL_SOON = EPOCH + 5.0  # a few seconds after the trace: X-Ray may still be receiving it


def test_a_trace_is_complete_once_unchanged_for_the_settle_time() -> None:
    first = observe(None, raw(segment("a")), now=100.0)
    assert not first.complete(100.0 + SETTLE / 2, SETTLE, wall_now=WALL_SOON)
    again = observe(first, raw(segment("a")), now=100.0 + SETTLE / 2)
    assert again.unchanged_since == 100.0  # the same documents: still quiet since the first poll
    assert again.complete(100.0 + SETTLE, SETTLE, wall_now=WALL_SOON)


def test_a_change_starts_the_quiet_time_again() -> None:
    first = observe(None, raw(segment("a")), now=100.0)
    grown = observe(first, raw(segment("a"), segment("b")), now=100.9)
    assert grown.unchanged_since == 100.9
    assert not grown.complete(101.5, SETTLE, wall_now=WALL_SOON)


def test_a_node_in_progress_keeps_a_young_trace_incomplete_however_quiet() -> None:
    state = observe(None, raw(segment("a", end=None)), now=100.0)
    assert not state.complete(100.0 + 1000 * SETTLE, SETTLE, wall_now=WALL_SOON)
    assert "still in progress" in state.unfinished().warnings[-1]


def test_a_missing_parent_makes_the_trace_wait_longer_but_not_forever() -> None:
    state = observe(None, raw(segment("a", parent="0000000000000001")), now=100.0)
    assert state.orphaned
    assert not state.complete(100.0 + SETTLE, SETTLE, wall_now=WALL_SOON)
    assert state.complete(100.0 + ORPHAN_SETTLE_FACTOR * SETTLE, SETTLE, wall_now=WALL_SOON)
    assert "parent segment had not arrived" in state.unfinished().warnings[-1]


def test_a_trace_that_ended_a_minute_ago_needs_no_quiet_time_unless_a_parent_is_missing() -> None:
    long_ago = EPOCH + 1.0 + ENDED_AGE + 1
    whole = observe(None, raw(segment("a")), now=100.0)
    assert whole.complete(100.0, SETTLE, wall_now=long_ago)
    orphan = observe(None, raw(segment("a", parent="0000000000000001")), now=100.0)
    assert not orphan.complete(100.0, SETTLE, wall_now=long_ago)


def test_an_old_trace_is_complete_as_it_is_even_in_progress() -> None:
    state = observe(None, raw(segment("a", end=None)), now=100.0)
    assert state.complete(100.0, SETTLE, wall_now=EPOCH + SETTLED_AGE + 1)


def test_a_trace_still_changing_at_the_deadline_says_so() -> None:
    state = observe(None, raw(segment("a")), now=100.0)
    assert "segments were still arriving" in state.unfinished().warnings[-1]
