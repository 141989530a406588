"""Following X-Ray (`aws/follow`): what a long run remembers stays bounded, polls are paced and back off, and
each trace is given back once, when complete, against the local X-Ray API read through botocore."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.tui import OK, OTHER, of_trace, put, restamp
from xrayctl.aws.clients import AwsOptions, Clients
from xrayctl.aws.follow import FAILURE_CAP, Completion, Pace, SeenIds, SummaryFollower
from xrayctl.aws.reader import XRayReader
from xrayctl.local.xray.api import XRayApiServer
from xrayctl.local.xray.store import TraceStore


@pytest.fixture
def reader(store: TraceStore) -> Iterator[XRayReader]:
    server = XRayApiServer(store).start()
    options = AwsOptions(region="us-east-1", endpoint_url=server.url, credentials=("t", "t"), isolated=True)
    yield XRayReader(Clients(options).xray, settle_time=0.1)
    server.stop()


def test_seen_ids_keep_at_most_their_limit_forgetting_the_least_recently_met() -> None:
    seen = SeenIds(limit=3)
    for trace_id in "abcd":
        seen.put(trace_id)
    assert len(seen) == 3 and "a" not in seen
    seen.put("b")  # met again: now the most recent
    seen.put("e")
    assert "b" in seen and "c" not in seen and len(seen) == 3


def test_pace_grows_while_nothing_happens_up_to_its_cap_and_returns_to_the_base_after_news() -> None:
    pace = Pace(1.0, 5.0)
    waits = [pace.after(news=False) for _ in range(8)]
    assert waits[0] == 1.5 and waits == sorted(waits) and waits[-1] == 5.0
    assert pace.after(news=True) == 1.0


def test_pace_after_failures_backs_off_with_jitter_never_past_the_failure_cap() -> None:
    pace = Pace(1.0, 5.0, rng=random.Random(7))
    waits = [pace.after_failure() for _ in range(20)]
    assert 5.0 <= waits[0] <= 10.0
    assert all(wait <= FAILURE_CAP for wait in waits) and max(waits) > 30
    assert pace.failures == 20
    pace.after(news=False)
    assert pace.failures == 0


def test_the_summary_follower_gives_new_and_revised_traces_once_each(
    store: TraceStore, reader: XRayReader
) -> None:
    now = time.time()
    put(store, of_trace(OK, now))
    follower = SummaryFollower(
        reader, start=datetime.now(timezone.utc) - timedelta(minutes=1), filter_expression=None, overlap=5
    )
    assert [s["Id"] for s in follower.first()] == [restamp(OK, now)]
    assert follower.poll() == []  # nothing new
    later = time.time()
    put(store, of_trace(OTHER, later))
    assert [s["Id"] for s in follower.poll()] == [restamp(OTHER, later)]
    extra = {**of_trace(OK, now)[0], "id": "00000000000000ff", "name": "late"}
    extra.pop("subsegments", None)
    put(store, [extra])  # X-Ray received more of the first trace: a new revision
    assert [s["Id"] for s in follower.poll()] == [restamp(OK, now)]
    assert follower.poll() == []


def test_completion_gives_a_trace_back_once_when_complete_and_refuses_past_its_bound(
    store: TraceStore, reader: XRayReader
) -> None:
    now = time.time()
    put(store, of_trace(OK, now))
    completion = Completion(reader, settle_time=0.1, timeout=30, max_pending=1)
    assert completion.follow(restamp(OK, now))
    assert not completion.follow(restamp(OTHER, now))  # one is followed already: refused, not dropped
    assert completion.poll().traces == []  # seen once: not settled yet
    time.sleep(0.15)
    (trace,) = completion.poll().traces
    assert trace.id == restamp(OK, now) and completion.pending == 0
    assert completion.follow(restamp(OK, now))  # given back already: never again
    assert completion.pending == 0


def test_completion_gives_up_at_its_timeout_saying_which_trace_never_came(reader: XRayReader) -> None:
    completion = Completion(reader, settle_time=0.1, timeout=0.2)
    missing = restamp(OK, time.time())
    completion.follow(missing)
    assert completion.poll().missing == []
    time.sleep(0.25)
    assert completion.poll().missing == [missing]
