"""X-Ray reads on a real botocore client: the requests sent (checked by Stubber against the service model),
paging, batching, retries of unprocessed ids, time slices, and waiting with a fake clock.

Traces are the X-Ray developer guide's BatchGetTraces response and a real Step Functions trace; summaries are
the guide's GetTraceSummaries response.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.support.paths import FIXTURES as TEST_FIXTURES
from xrayctl.aws.reader import BACKOFF_CAP, ID_RUN_SECONDS, XRayReader
from xrayctl.aws.wait import WaitStatus
from xrayctl.errors import ExitCode, Throttled, TraceNotFound, UsageError
from xrayctl.local.httpserver import LoopbackHTTPServer, Request, Response
from xrayctl.local.xray.api import XRayApiServer
from xrayctl.local.xray.store import TraceStore
from xrayctl.trace.build import build_trace
from xrayctl.trace.ids import trace_epoch

FIXTURES = TEST_FIXTURES / "xray-real"
GUIDE_TRACES = json.loads(
    (FIXTURES / "derived" / "doc-source__xray-api-gettingdata__block3.json").read_text()
)
GUIDE_SUMMARIES = json.loads(
    (FIXTURES / "derived" / "doc-source__xray-api-gettingdata__block2.json").read_text()
)
GUIDE_TRACE = GUIDE_TRACES["Traces"][0]
GUIDE_ID = GUIDE_TRACE["Id"]
UTC = timezone.utc


def step_functions_trace() -> dict[str, Any]:
    """The real Step Functions trace (its open subsegments are in progress), as BatchGetTraces lists it."""
    trace = json.loads((FIXTURES / "traces" / "iatk-stepfunctions-trace01.json").read_text())
    segments = [{"Id": doc["id"], "Document": json.dumps(doc)} for doc in trace["Segments"]]
    return {**trace, "Segments": segments}


def other_id(n: int) -> str:
    return f"1-59602603-{n:024x}"


class FakeTime:
    """Monotonic and wall clocks that move only when the code under test sleeps."""

    def __init__(self, wall_start: float) -> None:
        self.now = 0.0
        self.wall_start = wall_start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.wall_start + self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class Ceiling(random.Random):
    """Full jitter that always draws its upper bound, so the poll schedule is known."""

    def uniform(self, a: float, b: float) -> float:
        return b


def reader(client: Any, fake: FakeTime, **kwargs: Any) -> XRayReader:
    return XRayReader(
        client,
        sleep=fake.sleep,
        clock=fake.clock,
        wall_clock=fake.wall,
        max_workers=1,
        rng=Ceiling(),
        **kwargs,
    )


NOW_2017 = float(trace_epoch(GUIDE_ID) + 2)  # as if the guide's trace had just been recorded


# ------------------------------------------------------------------------------------------- BatchGetTraces


def test_ids_are_sent_five_at_a_time_and_missing_ones_reported(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    ids = [other_id(1), other_id(2), GUIDE_ID, other_id(3), other_id(4), other_id(5), other_id(6)]
    stubber.add_response("batch_get_traces", {"Traces": [GUIDE_TRACE]}, {"TraceIds": ids[:5]})
    stubber.add_response("batch_get_traces", {"Traces": []}, {"TraceIds": ids[5:]})
    result = reader(client, FakeTime(NOW_2017)).get_traces(ids)
    assert list(result.traces) == [GUIDE_ID]
    assert len(result.traces[GUIDE_ID]["Segments"]) == 5
    assert result.missing == [i for i in ids if i != GUIDE_ID]
    assert result.unprocessed == []


def test_result_follows_the_order_asked_not_the_order_answered(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    second = step_functions_trace()
    stubber.add_response(
        "batch_get_traces", {"Traces": [GUIDE_TRACE, second]}, {"TraceIds": [second["Id"], GUIDE_ID]}
    )
    result = reader(client, FakeTime(NOW_2017)).get_traces([second["Id"], GUIDE_ID, second["Id"]])
    assert list(result.traces) == [second["Id"], GUIDE_ID]


def test_next_token_is_followed_and_a_split_trace_is_joined(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    segments = GUIDE_TRACE["Segments"]
    first = {**GUIDE_TRACE, "Segments": segments[:3]}
    rest = {**GUIDE_TRACE, "Segments": segments[2:]}  # X-Ray may repeat a segment across pages
    stubber.add_response(
        "batch_get_traces", {"Traces": [first], "NextToken": "page-2"}, {"TraceIds": [GUIDE_ID]}
    )
    stubber.add_response(
        "batch_get_traces", {"Traces": [rest]}, {"TraceIds": [GUIDE_ID], "NextToken": "page-2"}
    )
    (trace,) = reader(client, FakeTime(NOW_2017)).fetch_traces([GUIDE_ID])
    whole = build_trace(GUIDE_ID, GUIDE_TRACE["Segments"])
    assert [node.id for node in trace.walk()] == [node.id for node in whole.walk()]  # each segment once
    assert trace.warnings == whole.warnings


def test_unprocessed_ids_are_asked_again_after_a_pause(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    ids = [GUIDE_ID, other_id(1)]
    stubber.add_response(
        "batch_get_traces", {"Traces": [], "UnprocessedTraceIds": [GUIDE_ID]}, {"TraceIds": ids}
    )
    stubber.add_response("batch_get_traces", {"Traces": [GUIDE_TRACE]}, {"TraceIds": [GUIDE_ID]})
    fake = FakeTime(NOW_2017)
    result = reader(client, fake).get_traces(ids)
    assert list(result.traces) == [GUIDE_ID] and result.missing == [other_id(1)]
    assert len(fake.sleeps) == 1 and 0 < fake.sleeps[0] <= BACKOFF_CAP


def test_ids_left_unprocessed_are_reported_after_bounded_retries(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    for _ in range(4):
        stubber.add_response(
            "batch_get_traces", {"Traces": [], "UnprocessedTraceIds": [GUIDE_ID]}, {"TraceIds": [GUIDE_ID]}
        )
    fake = FakeTime(NOW_2017)
    result = reader(client, fake).get_traces([GUIDE_ID])
    assert result.missing == result.unprocessed == [GUIDE_ID]
    assert len(fake.sleeps) == 3
    assert fake.sleeps == sorted(fake.sleeps)  # backing off


def test_segments_keep_their_documents_for_the_tree(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    stubber.add_response("batch_get_traces", {"Traces": [GUIDE_TRACE]}, {"TraceIds": [GUIDE_ID]})
    (trace,) = reader(client, FakeTime(NOW_2017)).fetch_traces([GUIDE_ID])
    (root,) = trace.roots
    assert root.name == "Scorekeep"
    assert {node.name for node in trace.walk()} >= {"random-name", "DynamoDB", "SNS"}


@pytest.mark.parametrize(("code", "status"), [("ThrottledException", 429), ("ThrottlingException", 400)])
def test_throttling_after_retries_is_throttled(xray: tuple[Any, Stubber], code: str, status: int) -> None:
    client, stubber = xray
    stubber.add_client_error(
        "batch_get_traces", code, "Rate exceeded", status, expected_params={"TraceIds": [GUIDE_ID]}
    )
    with pytest.raises(Throttled) as caught:
        reader(client, FakeTime(NOW_2017)).get_traces([GUIDE_ID])
    assert caught.value.exit_code == ExitCode.THROTTLED and "BatchGetTraces" in caught.value.message


# ------------------------------------------------------------------------------------ not found, and why


def destination(stubber: Stubber, name: str = "XRay", status: str = "ACTIVE") -> None:
    stubber.add_response("get_trace_segment_destination", {"Destination": name, "Status": status}, {})


def test_missing_trace_without_waiting_says_why_it_may_be(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    stubber.add_response("batch_get_traces", {"Traces": []}, {"TraceIds": [GUIDE_ID]})
    destination(stubber)
    with pytest.raises(TraceNotFound) as caught:
        reader(client, FakeTime(NOW_2017)).fetch_traces([GUIDE_ID])
    error = caught.value
    assert error.message == f"Trace {GUIDE_ID} not found."
    assert error.fix is not None
    assert "--wait" in error.fix and "sampled" in error.fix and "--region" in error.fix
    assert "30 days" not in error.fix  # the id says the trace is seconds old
    assert error.exit_code == ExitCode.NOT_FOUND


def test_trace_past_retention_is_named_first_and_not_as_still_ingesting(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    stubber.add_response("batch_get_traces", {"Traces": []}, {"TraceIds": [GUIDE_ID]})
    destination(stubber)
    with pytest.raises(TraceNotFound) as caught:
        reader(client, FakeTime(NOW_2017 + 31 * 86400)).fetch_traces([GUIDE_ID])
    fix = caught.value.fix or ""
    assert fix.startswith(f"X-Ray keeps traces 30 days and {GUIDE_ID} is older;")
    assert "ingesting" not in fix


def test_denied_destination_check_is_ignored(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    stubber.add_response("batch_get_traces", {"Traces": []}, {"TraceIds": [GUIDE_ID]})
    stubber.add_client_error("get_trace_segment_destination", "AccessDeniedException", "no", 403)
    with pytest.raises(TraceNotFound) as caught:
        reader(client, FakeTime(NOW_2017)).fetch_traces([GUIDE_ID])
    assert "sampled" in (caught.value.fix or "")


# ---------------------------------------------------------------------------------------------- waiting


def test_wait_until_the_trace_exists_and_stops_changing(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    partial = {**GUIDE_TRACE, "Segments": GUIDE_TRACE["Segments"][:3]}
    not_yet = {"Traces": [], "UnprocessedTraceIds": [GUIDE_ID]}  # not asked again within the poll
    for answer in (not_yet, {"Traces": [partial]}, {"Traces": [GUIDE_TRACE]}, {"Traces": [GUIDE_TRACE]}):
        stubber.add_response("batch_get_traces", answer, {"TraceIds": [GUIDE_ID]})
    fake = FakeTime(NOW_2017)
    statuses: list[WaitStatus] = []
    (trace,) = reader(client, fake).wait_for_traces([GUIDE_ID], timeout=30, on_poll=statuses.append)
    assert trace.node_count == build_trace(GUIDE_ID, GUIDE_TRACE["Segments"]).node_count
    assert not trace.in_progress and not any("wait ended" in w for w in trace.warnings)
    assert [(len(s.missing), len(s.in_progress), len(s.complete)) for s in statuses] == [
        (1, 0, 0),
        (0, 1, 0),  # found, but documents were still arriving
        (0, 1, 0),
        (0, 0, 1),
    ]
    assert str(statuses[1]) == "0/1 complete, 1 in progress (poll 2, 30 s left)"
    # Capped exponential back-off: 0.25, 0.5, 1 s (never squared).
    assert fake.sleeps == [0.25, 0.5, 1.0]


def test_a_trace_that_ended_minutes_ago_needs_no_settling_poll(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    stubber.add_response("batch_get_traces", {"Traces": [GUIDE_TRACE]}, {"TraceIds": [GUIDE_ID]})
    ended = build_trace(GUIDE_ID, GUIDE_TRACE["Segments"]).end_time
    assert ended is not None
    fake = FakeTime(ended + 120)  # two minutes after its last segment closed; the id is still recent
    (trace,) = reader(client, fake).wait_for_traces([GUIDE_ID], timeout=0)
    assert not any("wait ended" in w for w in trace.warnings)
    assert fake.sleeps == []


def test_wait_gives_up_at_the_deadline_without_sleeping_past_it(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    fake = FakeTime(NOW_2017)
    # 0.25 + 0.5 + 1 + 2 + 2 + 2 = 7.75, then 0.25 left: 8 polls in an 8 s wait; the destination is asked
    # once, when the first poll misses the trace.
    stubber.add_response("batch_get_traces", {"Traces": []}, {"TraceIds": [GUIDE_ID]})
    destination(stubber)
    for _ in range(7):
        stubber.add_response("batch_get_traces", {"Traces": []}, {"TraceIds": [GUIDE_ID]})
    with pytest.raises(TraceNotFound) as caught:
        reader(client, fake).wait_for_traces([GUIDE_ID], timeout=8)
    assert fake.now == 8 and max(fake.sleeps) == BACKOFF_CAP
    assert caught.value.message == f"Trace {GUIDE_ID} not found after waiting 8 s."
    assert "try a longer --timeout" in (caught.value.fix or "")


def test_a_store_that_keeps_at_once_gives_up_an_old_missing_id_after_its_grace(
    xray: tuple[Any, Stubber],
) -> None:
    client, stubber = xray
    fake = FakeTime(NOW_2017 + 6 * 60)  # the id says its trace started six minutes ago (a mistyped one)
    # Polls at 0, 0.25, 0.75 and 1.75 s; the one at 3.75 s is past the 2 s grace: given up there.
    stubber.add_response("batch_get_traces", {"Traces": []}, {"TraceIds": [GUIDE_ID]})
    destination(stubber)
    for _ in range(4):
        stubber.add_response("batch_get_traces", {"Traces": []}, {"TraceIds": [GUIDE_ID]})
    with pytest.raises(TraceNotFound) as caught:
        reader(client, fake, missing_grace=2.0).wait_for_traces([GUIDE_ID], timeout=30)
    assert fake.now == 3.75
    assert caught.value.message == f"Trace {GUIDE_ID} not found after waiting 3.8 s."


def test_a_recent_missing_id_is_waited_for_to_the_deadline_even_with_a_grace(
    xray: tuple[Any, Stubber],
) -> None:
    client, stubber = xray
    fake = FakeTime(NOW_2017)  # its trace started two seconds ago: its segments may still be on their way
    stubber.add_response("batch_get_traces", {"Traces": []}, {"TraceIds": [GUIDE_ID]})
    destination(stubber)
    for _ in range(7):
        stubber.add_response("batch_get_traces", {"Traces": []}, {"TraceIds": [GUIDE_ID]})
    with pytest.raises(TraceNotFound):
        reader(client, fake, missing_grace=2.0).wait_for_traces([GUIDE_ID], timeout=8)
    assert fake.now == 8


def test_a_trace_past_retention_is_asked_for_once_not_waited_for(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    stubber.add_response("batch_get_traces", {"Traces": []}, {"TraceIds": [GUIDE_ID]})
    destination(stubber)
    fake = FakeTime(NOW_2017 + 31 * 86400)
    with pytest.raises(TraceNotFound) as caught:
        reader(client, fake).wait_for_traces([GUIDE_ID], timeout=30)
    assert fake.sleeps == []
    assert caught.value.message == f"Trace {GUIDE_ID} not found."
    assert (caught.value.fix or "").startswith(f"X-Ray keeps traces 30 days and {GUIDE_ID} is older;")


def test_an_id_from_the_future_is_asked_for_once_and_called_a_bad_id(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    stubber.add_response("batch_get_traces", {"Traces": []}, {"TraceIds": [GUIDE_ID]})
    destination(stubber)
    fake = FakeTime(NOW_2017 - 3600)  # the id says an hour from now
    with pytest.raises(TraceNotFound) as caught:
        reader(client, fake).wait_for_traces([GUIDE_ID], timeout=30)
    assert fake.sleeps == []
    assert caught.value.message == f"Trace {GUIDE_ID} not found."
    assert (
        caught.value.fix
        == f"{GUIDE_ID}'s timestamp (2017-07-08 00:23:31 UTC) is in the future: check the id."
    )


def test_a_few_minutes_of_clock_skew_is_still_waited_for(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    for poll in range(2):  # polls at 0 and 0.25 s, the deadline
        stubber.add_response("batch_get_traces", {"Traces": []}, {"TraceIds": [GUIDE_ID]})
        if poll == 0:
            destination(stubber)
    fake = FakeTime(NOW_2017 - 60)  # this machine's clock a minute behind whoever chose the id
    with pytest.raises(TraceNotFound) as caught:
        reader(client, fake).wait_for_traces([GUIDE_ID], timeout=0.25)
    assert fake.now == 0.25
    assert "ingesting" in (caught.value.fix or "") and "future" not in (caught.value.fix or "")


def test_found_traces_are_kept_when_a_hopeless_id_is_missing(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    future = "1-7fffffff-0123456789abcdef01234567"
    stubber.add_response("batch_get_traces", {"Traces": [GUIDE_TRACE]}, {"TraceIds": [GUIDE_ID, future]})
    destination(stubber)
    fake = FakeTime(NOW_2017 + 86400)  # the guide's trace is a day old: complete at once
    with pytest.raises(TraceNotFound) as caught:
        reader(client, fake).wait_for_traces([GUIDE_ID, future], timeout=30)
    assert fake.sleeps == []
    assert [trace.id for trace in caught.value.found] == [GUIDE_ID]
    assert "2038-01-19 03:14:07 UTC) is in the future" in (caught.value.fix or "")


def test_trace_still_in_progress_at_the_deadline_is_returned_flagged(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    open_trace = step_functions_trace()
    fake = FakeTime(float(trace_epoch(open_trace["Id"])))
    for _ in range(4):  # polls at 0, 0.25, 0.75 and at the deadline, 1 s
        stubber.add_response("batch_get_traces", {"Traces": [open_trace]}, {"TraceIds": [open_trace["Id"]]})
    (trace,) = reader(client, fake).wait_for_traces([open_trace["Id"]], timeout=1)
    assert trace.in_progress
    assert any("still in progress when the wait ended" in w for w in trace.warnings)
    assert fake.now == 1


def test_a_trace_whose_parent_segment_has_not_arrived_is_waited_for(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    # Without its Scorekeep segment, the guide's trace has a subsegment whose parent is nowhere (yet).
    headless = {
        **GUIDE_TRACE,
        "Segments": [s for s in GUIDE_TRACE["Segments"] if s["Id"] != "194fcc8747581230"],
    }
    assert any("is not in this trace" in w for w in build_trace(GUIDE_ID, headless["Segments"]).warnings)
    # Polls at 0, 0.25, 0.75, 1.75 and 3.75 s: quiet for over the 1 s settle time, but a parent is missing.
    for answer in [headless] * 5 + [GUIDE_TRACE] * 2:
        stubber.add_response("batch_get_traces", {"Traces": [answer]}, {"TraceIds": [GUIDE_ID]})
    fake = FakeTime(NOW_2017)
    (trace,) = reader(client, fake).wait_for_traces([GUIDE_ID], timeout=30)
    assert trace.node_count == build_trace(GUIDE_ID, GUIDE_TRACE["Segments"]).node_count
    assert trace.warnings == []


def test_a_parent_that_never_comes_does_not_hold_the_wait_to_its_deadline(
    xray: tuple[Any, Stubber],
) -> None:
    client, stubber = xray
    headless = {
        **GUIDE_TRACE,
        "Segments": [s for s in GUIDE_TRACE["Segments"] if s["Id"] != "194fcc8747581230"],
    }
    # Polls at 0, 0.25, 0.75, 1.75, 3.75, 5.75, 7.75, 9.75 and 11.75 s: quiet for ten settle times by then.
    for _ in range(9):
        stubber.add_response("batch_get_traces", {"Traces": [headless]}, {"TraceIds": [GUIDE_ID]})
    fake = FakeTime(NOW_2017)
    (trace,) = reader(client, fake).wait_for_traces([GUIDE_ID], timeout=30)
    assert fake.now < 30
    assert any("is not in this trace" in w for w in trace.warnings)
    assert not any("wait ended" in w for w in trace.warnings)


def test_a_missing_parent_at_the_deadline_is_said_so(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    headless = {
        **GUIDE_TRACE,
        "Segments": [s for s in GUIDE_TRACE["Segments"] if s["Id"] != "194fcc8747581230"],
    }
    for _ in range(4):  # polls at 0, 0.25, 0.75 and at the deadline, 1.5 s
        stubber.add_response("batch_get_traces", {"Traces": [headless]}, {"TraceIds": [GUIDE_ID]})
    (trace,) = reader(client, FakeTime(NOW_2017)).wait_for_traces([GUIDE_ID], timeout=1.5)
    assert "a parent segment had not arrived when the wait ended (see --timeout)" in trace.warnings


def test_an_old_trace_is_taken_as_it_is_at_once(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    open_trace = step_functions_trace()
    stubber.add_response("batch_get_traces", {"Traces": [open_trace]}, {"TraceIds": [open_trace["Id"]]})
    fake = FakeTime(float(trace_epoch(open_trace["Id"]) + 86400))
    (trace,) = reader(client, fake).wait_for_traces([open_trace["Id"]], timeout=30)
    assert trace.in_progress and fake.sleeps == []  # a day on, an open node will not close any more


def test_wait_polls_only_the_traces_not_yet_complete(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    open_trace = step_functions_trace()  # new, and in progress all along
    ids = [GUIDE_ID, open_trace["Id"]]  # the guide's trace is years old: complete at first sight
    stubber.add_response("batch_get_traces", {"Traces": [GUIDE_TRACE, open_trace]}, {"TraceIds": ids})
    for _ in range(3):
        stubber.add_response("batch_get_traces", {"Traces": [open_trace]}, {"TraceIds": [open_trace["Id"]]})
    fake = FakeTime(float(trace_epoch(open_trace["Id"])))
    traces = reader(client, fake).wait_for_traces(ids, timeout=1)
    assert [t.id for t in traces] == ids
    assert [t.in_progress for t in traces] == [False, True]


# -------------------------------------------------------------------------------------------- summaries


def summaries_request(start: datetime, end: datetime, **extra: Any) -> dict[str, Any]:
    return {"StartTime": start, "EndTime": end, "TimeRangeType": "Event", "Sampling": False, **extra}


def id_window(first: int, last: int) -> dict[str, Any]:
    """The request that reads the traces whose ids name the seconds first..last."""
    return {
        "StartTime": datetime.fromtimestamp(first, tz=UTC),
        "EndTime": datetime.fromtimestamp(last + 1, tz=UTC),
        "TimeRangeType": "TraceId",
        "Sampling": False,
    }


def test_summary_of_one_trace_is_read_from_the_second_in_its_id(xray: tuple[Any, Stubber]) -> None:
    """TimeRangeType=TraceId selects by the time in the id: that second holds the trace, however busy the
    minutes around it are. Pages are followed until the trace is found, and no further."""
    client, stubber = xray
    other, wanted = GUIDE_SUMMARIES["TraceSummaries"]
    assert wanted["Id"] == GUIDE_ID
    request = id_window(trace_epoch(GUIDE_ID), trace_epoch(GUIDE_ID))
    stubber.add_response("get_trace_summaries", {"TraceSummaries": [other], "NextToken": "2"}, request)
    stubber.add_response(
        "get_trace_summaries", {"TraceSummaries": [wanted], "NextToken": "3"}, {**request, "NextToken": "2"}
    )
    summary = reader(client, FakeTime(NOW_2017 + 86400)).get_summary(GUIDE_ID)
    assert summary is not None and summary["Annotations"]["UserID"][0]["AnnotationValue"] == {
        "StringValue": "5M388M1E"
    }


def test_ids_are_read_by_runs_of_seconds_one_call_each(xray: tuple[Any, Stubber]) -> None:
    """Ids of the same second, or of seconds in a row, are read together; a second apart from them is not
    joined to them (the time between may hold any number of traces). Runs stop at ID_RUN_SECONDS."""
    client, stubber = xray
    base = trace_epoch(GUIDE_ID)
    seconds = [base, base, base + 1, base + 2, base + 9, *range(base + 100, base + 100 + ID_RUN_SECONDS + 1)]
    ids = [f"1-{second:08x}-{n:024x}" for n, second in enumerate(seconds)]
    summaries = [{"Id": trace_id, "Duration": 1.0} for trace_id in ids]
    newest = base + 100 + ID_RUN_SECONDS
    for first, last in [
        (newest - ID_RUN_SECONDS + 1, newest),
        (base + 100, base + 100),
        (base + 9, base + 9),
        (base, base + 2),
    ]:
        found = [s for s in summaries if first <= trace_epoch(s["Id"]) <= last]
        stubber.add_response("get_trace_summaries", {"TraceSummaries": found}, id_window(first, last))
    got = reader(client, FakeTime(NOW_2017)).get_summaries(ids)
    assert got == {s["Id"]: s for s in summaries}


def test_a_failed_summary_read_is_raised_as_the_error_it_is(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    stubber.add_client_error("get_trace_summaries", "ThrottledException", "Rate exceeded", 429)
    with pytest.raises(Throttled) as caught:
        reader(client, FakeTime(NOW_2017)).get_summaries([GUIDE_ID])
    assert "GetTraceSummaries" in caught.value.message


def test_fetch_with_summary_attaches_it(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    stubber.add_response("batch_get_traces", {"Traces": [GUIDE_TRACE]}, {"TraceIds": [GUIDE_ID]})
    stubber.add_response("get_trace_summaries", {"TraceSummaries": GUIDE_SUMMARIES["TraceSummaries"]})
    (trace,) = reader(client, FakeTime(NOW_2017)).fetch_traces([GUIDE_ID], with_summary=True)
    assert trace.summary is not None and trace.summary["Duration"] == 3.232


def test_summary_denied_leaves_a_warning_not_a_failure(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    stubber.add_response("batch_get_traces", {"Traces": [GUIDE_TRACE]}, {"TraceIds": [GUIDE_ID]})
    stubber.add_client_error("get_trace_summaries", "AccessDeniedException", "not authorized", 403)
    (trace,) = reader(client, FakeTime(NOW_2017)).fetch_traces([GUIDE_ID], with_summary=True)
    assert trace.summary is None
    assert any(w.startswith("no trace summary: Access denied to GetTraceSummaries") for w in trace.warnings)


def test_a_short_window_is_one_request_with_its_pages(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    end = datetime(2017, 7, 8, 1, 0, tzinfo=UTC)
    start = end - timedelta(hours=2)
    first, second = GUIDE_SUMMARIES["TraceSummaries"]
    expr = 'annotation.UserID = "5M388M1E"'
    request = summaries_request(start, end, FilterExpression=expr)
    stubber.add_response("get_trace_summaries", {"TraceSummaries": [first], "NextToken": "n"}, request)
    stubber.add_response("get_trace_summaries", {"TraceSummaries": [second]}, {**request, "NextToken": "n"})
    got = list(reader(client, FakeTime(end.timestamp())).iter_summaries(start, end, filter_expression=expr))
    assert [s["Id"] for s in got] == [first["Id"], second["Id"]]


def test_a_long_window_is_read_in_slices_of_six_hours_newest_first(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    end = datetime(2017, 7, 8, 12, 0, tzinfo=UTC)
    start = end - timedelta(hours=14)
    first, second = GUIDE_SUMMARIES["TraceSummaries"]
    six = timedelta(hours=6)
    # The newest slice and the one before both hold `first` (it straddles their boundary): yielded once.
    stubber.add_response(
        "get_trace_summaries", {"TraceSummaries": [first]}, summaries_request(end - six, end)
    )
    stubber.add_response(
        "get_trace_summaries",
        {"TraceSummaries": [first, second]},
        summaries_request(end - 2 * six, end - six),
    )
    stubber.add_response(
        "get_trace_summaries", {"TraceSummaries": []}, summaries_request(start, end - 2 * six)
    )
    got = list(reader(client, FakeTime(end.timestamp())).iter_summaries(start, end))
    assert [s["Id"] for s in got] == [first["Id"], second["Id"]]


def test_bad_filter_expression_is_a_usage_error(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    stubber.add_client_error(
        "get_trace_summaries", "InvalidRequestException", "Invalid filter expression", 400
    )
    end = datetime(2017, 7, 8, 1, 0, tzinfo=UTC)
    with pytest.raises(UsageError, match="Invalid filter expression"):
        list(
            reader(client, FakeTime(NOW_2017)).iter_summaries(
                end - timedelta(hours=1), end, filter_expression="(("
            )
        )


def test_slices_are_read_concurrently_over_http() -> None:
    """A stand-in X-Ray on 127.0.0.1 answers each window with a summary per hour in it, both ends included."""
    end = datetime(2017, 7, 9, 6, 0, tzinfo=UTC)
    start = end - timedelta(hours=30)
    windows: list[tuple[float, float]] = []
    in_flight = [0, 0]  # now, most at once
    lock = threading.Lock()
    all_in = threading.Barrier(3, timeout=5)  # three slices must be in flight together to get past it

    def handle(request: Request) -> Response:
        body = request.json()
        low, high = float(body["StartTime"]), float(body["EndTime"])
        with lock:
            windows.append((low, high))
            arrival = len(windows)
            in_flight[0] += 1
            in_flight[1] = max(in_flight)
        if arrival <= 3:
            all_in.wait()
        with lock:
            in_flight[0] -= 1
        hours = range(-(-int(low) // 3600) * 3600, int(high) + 1, 3600)
        summaries = [
            {"Id": f"1-{hour:08x}-{0:024x}", "Duration": 1.0} for hour in sorted(hours, reverse=True)
        ]
        return Response.json(200, {"TraceSummaries": summaries})

    http = LoopbackHTTPServer(handle).start()
    try:
        client = boto3.client(
            "xray",
            region_name="us-east-1",
            endpoint_url=http.url,
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        xray_reader = XRayReader(client, max_workers=5, wall_clock=end.timestamp)
        got = [s["Id"] for s in xray_reader.iter_summaries(start, end)]
    finally:
        http.stop()
    assert in_flight[1] >= 3
    assert sorted(windows) == [
        (start.timestamp() + n * 6 * 3600, start.timestamp() + (n + 1) * 6 * 3600) for n in range(5)
    ]
    # One trace per hour of the window, newest first, the hours on slice boundaries only once.
    assert got == [f"1-{int(end.timestamp()) - n * 3600:08x}-{0:024x}" for n in range(31)]


@pytest.mark.parametrize("wait", [False, True], ids=["fetch", "wait"])
def test_the_summary_is_read_alongside_the_documents_not_after_them(wait: bool) -> None:
    """Against AWS each call is a round trip: show-trace pays for one, not two. A stand-in X-Ray on 127.0.0.1
    holds both answers until both requests have arrived, which only happens if they are in flight together."""
    both_in = threading.Barrier(2, timeout=5)
    paths: list[str] = []

    def handle(request: Request) -> Response:
        paths.append(request.path)
        both_in.wait()
        if request.path == "/Traces":
            return Response.json(200, {"Traces": [GUIDE_TRACE], "UnprocessedTraceIds": []})
        return Response.json(200, GUIDE_SUMMARIES)

    http = LoopbackHTTPServer(handle).start()
    try:
        client = boto3.client(
            "xray",
            region_name="us-east-1",
            endpoint_url=http.url,
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        xray_reader = XRayReader(client, max_workers=5)
        if wait:
            (trace,) = xray_reader.wait_for_traces([GUIDE_ID], timeout=5, with_summary=True)
        else:
            (trace,) = xray_reader.fetch_traces([GUIDE_ID], with_summary=True)
    finally:
        http.stop()
    assert sorted(paths) == ["/TraceSummaries", "/Traces"]
    assert trace.summary is not None
    assert trace.summary["Id"] == GUIDE_ID
    assert not trace.warnings


# ------------------------------------------------------- summaries in time slices, over the local X-Ray API


def _traces_every(step: int, start: int, end: int) -> list[str]:
    """A trace starting at every `step` seconds from `end` back to `start` (both included), half a second
    long, as the SDK would send it; returns the documents."""
    documents = []
    for number, at in enumerate(range(end, start - 1, -step)):
        documents.append(
            json.dumps(
                {
                    "id": f"{number + 1:016x}",
                    "trace_id": f"1-{at:08x}-{number:024x}",
                    "name": "svc",
                    "start_time": float(at),
                    "end_time": at + 0.5,
                    "annotations": {"n": number},
                }
            )
        )
    return documents


@pytest.fixture
def local_xray(tmp_path: Path) -> Iterator[tuple[Any, XRayApiServer]]:
    """The local X-Ray API on a fresh store, pages of 5 summaries, and a botocore client of it."""
    store = TraceStore(tmp_path / "traces.sqlite3")
    api = XRayApiServer(store, page_size=5, delay=0.02).start()
    client = boto3.client(
        "xray",
        region_name="us-east-1",
        endpoint_url=api.url,
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    try:
        yield client, api
    finally:
        api.stop()
        store.close()


def _peak_in_flight(api: XRayApiServer) -> int:
    with urllib.request.urlopen(f"{api.url}/health", timeout=5) as response:
        return int(json.loads(response.read())["peak_in_flight"])


def test_a_dense_window_read_in_slices_loses_and_repeats_nothing(
    local_xray: tuple[Any, XRayApiServer],
) -> None:
    """12 h, a trace every 10 minutes on the minute: every slice boundary (whole hours) holds a trace, which
    both neighbouring slices return. Each comes out once, newest first, as one request at a time reads it."""
    client, api = local_xray
    end = 1_700_000_000 - 1_700_000_000 % 3600
    start = end - 12 * 3600
    documents = _traces_every(600, start, end)
    assert client.put_trace_segments(TraceSegmentDocuments=documents)["UnprocessedTraceSegments"] == []
    expected = [json.loads(document)["trace_id"] for document in documents]  # newest first
    window = (datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
    now = window[1].timestamp

    concurrent = [s["Id"] for s in XRayReader(client, max_workers=3, wall_clock=now).iter_summaries(*window)]
    assert concurrent == expected
    assert 1 < _peak_in_flight(api) <= 3
    one_at_a_time = [
        s["Id"] for s in XRayReader(client, max_workers=1, wall_clock=now).iter_summaries(*window)
    ]
    assert one_at_a_time == expected


def test_a_sparse_window_costs_one_call_per_six_hours(local_xray: tuple[Any, XRayApiServer]) -> None:
    client, _ = local_xray
    end = 1_700_000_000
    documents = _traces_every(3 * 3600, end - 12 * 3600, end)[:4]  # fewer than a page in each 6 h slice
    client.put_trace_segments(TraceSegmentDocuments=documents)
    calls: list[dict[str, Any]] = []
    client.meta.events.register(
        "before-call.xray.GetTraceSummaries", lambda params, **_: calls.append(params)
    )
    got = XRayReader(client, wall_clock=lambda: end).iter_summaries(
        datetime.fromtimestamp(end - 12 * 3600, UTC), datetime.fromtimestamp(end, UTC)
    )
    assert [s["Id"] for s in got] == [json.loads(d)["trace_id"] for d in documents]
    assert len(calls) == 2


def test_max_workers_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        XRayReader(object(), max_workers=0)


def test_summaries_by_id_cost_a_call_a_second_in_a_dense_store(local_xray: tuple[Any, XRayApiServer]) -> None:
    """Two traces a second for ten minutes, pages of 5: each id's summary is read from its own second (one
    page), not from the minutes around it (a page per 2.5 seconds). The ids of one second share a call."""
    client, _ = local_xray
    end = 1_700_000_000
    documents = [
        json.dumps(
            {
                "id": f"{n + 1:016x}",
                "trace_id": f"1-{end - n // 2:08x}-{n:024x}",
                "name": "svc",
                "start_time": end - n / 2,
                "end_time": end - n / 2 + 0.1,
            }
        )
        for n in range(1200)
    ]
    assert client.put_trace_segments(TraceSegmentDocuments=documents)["UnprocessedTraceSegments"] == []
    ids = [json.loads(document)["trace_id"] for document in documents]
    calls: list[dict[str, Any]] = []
    client.meta.events.register(
        "before-call.xray.GetTraceSummaries", lambda params, **_: calls.append(params)
    )
    xray_reader = XRayReader(client, wall_clock=lambda: end + 60)

    summary = xray_reader.get_summary(ids[600])
    assert summary is not None and summary["Id"] == ids[600]
    assert len(calls) == 1
    calls.clear()
    assert set(xray_reader.get_summaries(ids[600:602])) == set(ids[600:602])  # one second
    assert len(calls) == 1
    calls.clear()
    apart = ids[0:1200:40]  # 30 ids, 20 seconds apart
    assert set(xray_reader.get_summaries(apart)) == set(apart)
    assert len(calls) == 30
    calls.clear()
    # A trace the store does not have: its second is read to its last page, and no more.
    assert xray_reader.get_summary(f"1-{end - 300:08x}-{'f' * 24}") is None
    assert len(calls) == 1


def test_pages_wait_for_a_slow_caller_and_stop_when_it_stops(local_xray: tuple[Any, XRayApiServer]) -> None:
    """A page goes to the caller as it comes; the reads run at most a few pages ahead of a caller that is
    slower than they are (what they read is held until it is taken), and stop when the caller stops."""
    client, _ = local_xray
    end = 1_700_000_000
    documents = _traces_every(12, end - 3600, end)  # 301 traces: 61 pages of 5
    assert client.put_trace_segments(TraceSegmentDocuments=documents)["UnprocessedTraceSegments"] == []
    calls: list[dict[str, Any]] = []
    client.meta.events.register(
        "before-call.xray.GetTraceSummaries", lambda params, **_: calls.append(params)
    )
    window = (datetime.fromtimestamp(end - 3600, UTC), datetime.fromtimestamp(end, UTC))
    xray_reader = XRayReader(client, max_workers=2, wall_clock=lambda: end)
    threads_before = set(threading.enumerate())

    pages = xray_reader.summary_pages(*window)
    taken = [next(pages), next(pages)]
    time.sleep(1.0)  # time enough to read all 61 pages, two at a time
    # The window's first page; the second taken came after the newest part's first page, the same traces
    # again (skipped); then the four readers of the parts: four pages waiting, four more read and held.
    read_ahead = len(calls)
    assert len(taken) + 1 < read_ahead <= 1 + 2 + 4 + 4
    pages.close()
    time.sleep(0.5)
    assert len(calls) == read_ahead
    # The readers held back have gone, not waiting for a caller that will never come.
    readers = [t for t in threading.enumerate() if t not in threads_before and t.name.startswith("xray-")]
    assert not readers

    ids = [s["Id"] for page in xray_reader.summary_pages(*window) for s in page]
    assert sorted(ids) == sorted(json.loads(document)["trace_id"] for document in documents)


def test_a_window_past_retention_is_read_from_its_bound(local_xray: tuple[Any, XRayApiServer]) -> None:
    """The reader bounds any window it is given by what X-Ray keeps, whoever calls it: from year 1 to year
    9999 is 30 days and 5 minutes, read in 121 slices, not 3 million."""
    client, _ = local_xray
    end = 1_700_000_000
    assert client.put_trace_segments(TraceSegmentDocuments=_traces_every(3600, end - 3 * 3600, end))
    calls: list[dict[str, Any]] = []
    client.meta.events.register(
        "before-call.xray.GetTraceSummaries", lambda params, **_: calls.append(json.loads(params["body"]))
    )
    xray_reader = XRayReader(client, wall_clock=lambda: end)
    window = (datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC))
    assert xray_reader.retained(*window).notes  # what the caller is given to say
    got = [s["Id"] for s in xray_reader.iter_summaries(*window)]
    assert len(got) == 4
    assert len(calls) == 30 * 4 + 1
    assert min(call["StartTime"] for call in calls) == end - 30 * 86400
    assert max(call["EndTime"] for call in calls) == end + 300
