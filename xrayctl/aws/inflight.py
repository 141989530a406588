"""A bound on the requests one client has on the wire at once, counted from send to answer.

A pool of N threads, each making one call at a time, bounds the calls in flight at N, but a thread holds its
place while botocore parses the answer too: ~17 ms for a page of 100 trace summaries, and longer while it
waits for the GIL behind the other threads' parsing. With five threads, fewer than five requests are then on
the wire, and reading a day of traces at 100 ms a call took 3.2 s instead of 2.9 s. So the concurrent reads
run on more threads than the bound, and an `InFlightLimit` holds each request from botocore's `before-send`
event (signed, about to be sent) to its `before-parse` event (the answer is in): at most `limit` requests
are in flight, and parsing overlaps them.

Only calls made inside `InFlightLimit.calls()` count; other calls through the same client pass freely. The
event handlers are registered once per client and find the limit of the calling thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_HANDLERS = "xrayctl-in-flight"
_thread = threading.local()  # .limit: the InFlightLimit of this thread's calls; .holding: a slot is taken


class InFlightLimit:
    def __init__(self, limit: int, client: Any) -> None:
        """At most `limit` requests through `client` at once, of the calls made inside `calls()`."""
        self.slots = threading.BoundedSemaphore(max(1, limit))
        # Here, on the thread that makes the limit, not in calls() on each worker: botocore's registration
        # of a handler is not thread-safe.
        _install(client)

    @contextmanager
    def calls(self) -> Iterator[None]:
        """Count the requests this thread makes in the block against the limit."""
        if getattr(_thread, "limit", None) is not None:
            raise RuntimeError("InFlightLimit.calls() is already active on this thread")
        _thread.limit, _thread.holding = self, False
        try:
            yield
        finally:
            # botocore ends every attempt it catches a failure of (a refused connection, a body cut short)
            # with response-received. What it does not catch (Ctrl-C, an error raised by another handler)
            # ends the call here instead: the place is given back, or the limit would shrink for good.
            _leave()
            _thread.limit = None


def _install(client: Any) -> None:
    events = client.meta.events
    # unique_id: registering again (another reader on the same client) is a no-op.
    events.register("before-send", _enter, unique_id=f"{_HANDLERS}-send")
    events.register("before-parse", _leave, unique_id=f"{_HANDLERS}-parse")
    # Emitted after every attempt, also one that failed to connect or timed out (it never reaches
    # before-parse): botocore's retry back-off is slept without a slot.
    events.register("response-received", _leave, unique_id=f"{_HANDLERS}-received")


def _enter(**_: Any) -> None:
    limit: InFlightLimit | None = getattr(_thread, "limit", None)
    if limit is not None and not _thread.holding:
        limit.slots.acquire()
        _thread.holding = True


def _leave(**_: Any) -> None:
    limit: InFlightLimit | None = getattr(_thread, "limit", None)
    if limit is not None and _thread.holding:
        _thread.holding = False
        limit.slots.release()
