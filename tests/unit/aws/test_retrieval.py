"""Traces read through Transaction Search on a real botocore client: StartTraceRetrieval with the window from
the ids, ListRetrievedTraces polled with capped back-off and paged by hand, the retrieval's end states, its
cancellation, and when the reader goes there at all (Stubber checks every request against the model and the
order of the calls).

The spans are the X-Ray developer guide's BatchGetTraces segments, as ListRetrievedTraces returns them in the
XRAY format.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from tests.unit.aws.test_reader import GUIDE_ID, GUIDE_TRACE, NOW_2017, Ceiling, FakeTime, other_id
from xrayctl.aws.reader import BACKOFF_CAP, XRayReader
from xrayctl.aws.retrieval import MAX_IDS, WINDOW_AFTER, WINDOW_BEFORE, retrieval_window
from xrayctl.errors import AccessDenied, ExitCode, RetrievalFailed, Throttled, TraceNotFound
from xrayctl.trace.build import build_trace
from xrayctl.trace.ids import trace_epoch

TOKEN = "token-1"
SPANS = [{"Id": s["Id"], "Document": s["Document"]} for s in GUIDE_TRACE["Segments"]]


def reader(client: Any, fake: FakeTime) -> XRayReader:
    return XRayReader(
        client, sleep=fake.sleep, clock=fake.clock, wall_clock=fake.wall, max_workers=1, rng=Ceiling()
    )


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def destination(stubber: Stubber, name: str = "CloudWatchLogs", status: str = "ACTIVE") -> None:
    stubber.add_response("get_trace_segment_destination", {"Destination": name, "Status": status}, {})


def missed(stubber: Stubber, ids: list[str]) -> None:
    """BatchGetTraces finding nothing, as with Transaction Search on."""
    stubber.add_response("batch_get_traces", {"Traces": [], "UnprocessedTraceIds": []}, {"TraceIds": ids})


def started(
    stubber: Stubber, ids: list[str], window: tuple[float, float] | None = None, token: str = TOKEN
) -> None:
    expected: dict[str, Any] = {"TraceIds": ids, "StartTime": ANY, "EndTime": ANY}
    if window is not None:
        expected.update(StartTime=utc(window[0]), EndTime=utc(window[1]))
    stubber.add_response("start_trace_retrieval", {"RetrievalToken": token}, expected)


def status(stubber: Stubber, state: str, token: str = TOKEN) -> None:
    stubber.add_response(
        "list_retrieved_traces",
        {"RetrievalStatus": state, "Traces": []},
        {"RetrievalToken": token, "TraceFormat": "XRAY"},
    )


def page(
    stubber: Stubber, spans: list[dict[str, str]], next_token: str | None = None, after: str | None = None
) -> None:
    answer: dict[str, Any] = {
        "RetrievalStatus": "COMPLETE",
        "TraceFormat": "XRAY",
        "Traces": [{"Id": GUIDE_ID, "Duration": 3.232, "Spans": spans}],
    }
    if next_token:
        answer["NextToken"] = next_token
    expected = {"RetrievalToken": TOKEN, "TraceFormat": "XRAY"}
    if after:
        expected["NextToken"] = after
    stubber.add_response("list_retrieved_traces", answer, expected)


# ------------------------------------------------------------------------------------------ the window


def test_the_window_reaches_from_before_the_oldest_id_to_an_hour_after_the_newest_but_not_past_now() -> None:
    epoch = trace_epoch(GUIDE_ID)
    assert retrieval_window([GUIDE_ID], now=epoch + 10 * 86400) == (
        epoch - WINDOW_BEFORE,
        epoch + WINDOW_AFTER,
    )
    assert retrieval_window([GUIDE_ID], now=epoch + 59.2) == (epoch - WINDOW_BEFORE, epoch + 60)
    # An id a little ahead of this clock still gets a window that holds its own second.
    assert retrieval_window([GUIDE_ID], now=epoch - 30) == (epoch - WINDOW_BEFORE, epoch + 1)


# ------------------------------------------------------------------------- Transaction Search on: found


def test_a_trace_batch_get_cannot_see_is_retrieved_paged_by_hand_and_drawn(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    fake = FakeTime(NOW_2017 + 86400)  # a day-old trace: complete as found
    missed(stubber, [GUIDE_ID])
    destination(stubber)
    epoch = trace_epoch(GUIDE_ID)
    started(stubber, [GUIDE_ID], (epoch - WINDOW_BEFORE, epoch + WINDOW_AFTER))
    status(stubber, "SCHEDULED")
    status(stubber, "RUNNING")
    page(stubber, SPANS[:3], next_token="page-2")  # the trace continues on the next page
    page(stubber, SPANS[2:], after="page-2")  # and one span comes twice: kept once
    (trace,) = reader(client, fake).fetch_traces([GUIDE_ID], with_summary=True)
    assert trace.node_count == build_trace(GUIDE_ID, GUIDE_TRACE["Segments"]).node_count
    assert not trace.warnings and trace.summary is None  # no summary asked: only a fraction is indexed
    assert fake.sleeps == [0.25, 0.5]  # capped back-off between status polls


def test_the_destination_is_asked_once_per_reader(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    fake = FakeTime(NOW_2017 + 86400)
    missed(stubber, [GUIDE_ID])
    destination(stubber)
    for token in ("token-1", "token-2"):  # the second read goes straight to a retrieval
        started(stubber, [GUIDE_ID], token=token)
        stubber.add_response(
            "list_retrieved_traces",
            {"RetrievalStatus": "COMPLETE", "Traces": [{"Id": GUIDE_ID, "Spans": SPANS}]},
            {"RetrievalToken": token, "TraceFormat": "XRAY"},
        )
    the_reader = reader(client, fake)
    for _ in range(2):
        (trace,) = the_reader.fetch_traces([GUIDE_ID])
        assert trace.id == GUIDE_ID


def test_the_destination_x_ray_is_asked_once_per_reader_too(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    missed(stubber, [GUIDE_ID])
    destination(stubber, "XRay")
    missed(stubber, [GUIDE_ID])  # the second read: BatchGetTraces only, the destination known
    the_reader = reader(client, FakeTime(NOW_2017 + 86400))
    for _ in range(2):
        with pytest.raises(TraceNotFound):
            the_reader.fetch_traces([GUIDE_ID])


def test_more_than_100_ids_or_ids_hours_apart_take_separate_retrievals(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    fake = FakeTime(NOW_2017 + 86400)
    ids = [other_id(n) for n in range(MAX_IDS + 1)]
    later = f"{GUIDE_ID[:2]}{trace_epoch(GUIDE_ID) + 3 * 3600:08x}{GUIDE_ID[10:]}"
    asked = [*ids, later]
    for first in range(0, len(asked), 5):  # BatchGetTraces first, 5 at a time
        missed(stubber, asked[first : first + 5])
    destination(stubber)
    for number, group in enumerate((ids[:MAX_IDS], ids[MAX_IDS:], [later])):
        started(stubber, group, token=f"t{number}")
        stubber.add_response(
            "list_retrieved_traces",
            {"RetrievalStatus": "COMPLETE", "Traces": []},
            {"RetrievalToken": f"t{number}", "TraceFormat": "XRAY"},
        )
    with pytest.raises(TraceNotFound):
        reader(client, fake).fetch_traces(asked)


# ---------------------------------------------------------------------------- Transaction Search on: not


def test_a_trace_no_retrieval_finds_is_not_found_with_the_window_searched(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    missed(stubber, [GUIDE_ID])
    destination(stubber)
    started(stubber, [GUIDE_ID])
    status(stubber, "COMPLETE")
    with pytest.raises(TraceNotFound) as caught:
        reader(client, FakeTime(NOW_2017 + 86400)).fetch_traces([GUIDE_ID])
    error = caught.value
    assert error.exit_code == ExitCode.NOT_FOUND
    assert error.message == (
        f"Trace {GUIDE_ID} not found: Transaction Search is on in this account and region, and a trace "
        "retrieval (StartTraceRetrieval) found no span of it in CloudWatch Logs from 2017-07-08 00:18:31 "
        "to 2017-07-08 01:23:31 UTC."
    )
    assert "sampled" in (error.fix or "") and "--region" in (error.fix or "")


@pytest.mark.parametrize(
    ("state", "said"),
    [
        ("FAILED", "ended FAILED"),
        ("CANCELLED", "was CANCELLED (CancelTraceRetrieval, by another caller)"),
        ("TIMEOUT", "TIMED OUT at X-Ray (a retrieval ends after 60 minutes)"),
    ],
)
def test_a_retrieval_that_ends_otherwise_than_complete_is_one_error(
    xray: tuple[Any, Stubber], state: str, said: str
) -> None:
    client, stubber = xray
    missed(stubber, [GUIDE_ID])
    destination(stubber)
    started(stubber, [GUIDE_ID])
    status(stubber, "RUNNING")
    status(stubber, state)  # and no CancelTraceRetrieval: it has ended
    with pytest.raises(RetrievalFailed) as caught:
        reader(client, FakeTime(NOW_2017 + 86400)).fetch_traces([GUIDE_ID])
    assert caught.value.exit_code == ExitCode.RETRIEVAL_FAILED == 9
    assert caught.value.message == f"The trace retrieval for trace {GUIDE_ID} {said}."


def test_a_retrieval_still_running_at_the_deadline_is_cancelled(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    fake = FakeTime(NOW_2017 + 86400)
    missed(stubber, [GUIDE_ID])
    destination(stubber)
    started(stubber, [GUIDE_ID])
    for _ in range(4):  # at 0, 0.25, 0.75 and 1.75 s; then 0.25 s left: the last at 2 s, the deadline
        status(stubber, "RUNNING")
    status(stubber, "RUNNING")
    stubber.add_response("cancel_trace_retrieval", {}, {"RetrievalToken": TOKEN})
    with pytest.raises(RetrievalFailed) as caught:
        reader(client, fake).fetch_traces([GUIDE_ID], timeout=2)
    assert fake.now == 2 and max(fake.sleeps) <= BACKOFF_CAP
    assert "was still RUNNING when the wait ended; it was cancelled" in caught.value.message
    assert "--timeout" in (caught.value.fix or "")


def test_ctrl_c_while_a_retrieval_runs_cancels_it_first(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    missed(stubber, [GUIDE_ID])
    destination(stubber)
    started(stubber, [GUIDE_ID])
    status(stubber, "RUNNING")
    stubber.add_response("cancel_trace_retrieval", {}, {"RetrievalToken": TOKEN})

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    fake = FakeTime(NOW_2017 + 86400)
    the_reader = XRayReader(client, sleep=interrupted, clock=fake.clock, wall_clock=fake.wall, max_workers=1)
    with pytest.raises(KeyboardInterrupt):
        the_reader.fetch_traces([GUIDE_ID])


@pytest.mark.parametrize("operation", ["start_trace_retrieval", "list_retrieved_traces"])
def test_a_missing_permission_is_named(xray: tuple[Any, Stubber], operation: str) -> None:
    client, stubber = xray
    missed(stubber, [GUIDE_ID])
    destination(stubber)
    if operation == "list_retrieved_traces":
        started(stubber, [GUIDE_ID])
    stubber.add_client_error(operation, "AccessDeniedException", "not authorized", 403)
    if operation == "list_retrieved_traces":
        stubber.add_response("cancel_trace_retrieval", {}, {"RetrievalToken": TOKEN})
    with pytest.raises(AccessDenied) as caught:
        reader(client, FakeTime(NOW_2017 + 86400)).fetch_traces([GUIDE_ID])
    action = "xray:" + "".join(part.title() for part in operation.split("_"))
    assert caught.value.exit_code == ExitCode.ACCESS_DENIED and f"Allow {action} " in (caught.value.fix or "")


def test_a_throttle_that_outlasts_the_retries_before_any_status_is_throttled(
    xray: tuple[Any, Stubber],
) -> None:
    client, stubber = xray
    missed(stubber, [GUIDE_ID])
    destination(stubber)
    started(stubber, [GUIDE_ID])
    stubber.add_client_error("list_retrieved_traces", "ThrottledException", "Rate exceeded", 429)
    stubber.add_response("cancel_trace_retrieval", {}, {"RetrievalToken": TOKEN})
    with pytest.raises(Throttled) as caught:
        reader(client, FakeTime(NOW_2017 + 86400)).fetch_traces([GUIDE_ID])
    assert "ListRetrievedTraces" in caught.value.message


def test_a_throttle_between_status_polls_is_polled_through(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    missed(stubber, [GUIDE_ID])
    destination(stubber)
    started(stubber, [GUIDE_ID])
    status(stubber, "RUNNING")
    stubber.add_client_error("list_retrieved_traces", "ThrottledException", "Rate exceeded", 429)
    page(stubber, SPANS)
    (trace,) = reader(client, FakeTime(NOW_2017 + 86400)).fetch_traces([GUIDE_ID])
    assert trace.id == GUIDE_ID


# ----------------------------------------------------------------------------------------------- waiting


def test_waiting_through_retrievals_until_the_trace_stops_changing(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    fake = FakeTime(NOW_2017)  # the trace was recorded a moment ago: it must settle
    missed(stubber, [GUIDE_ID])
    destination(stubber)
    # Found partial, then whole, then unchanged for the settle time (1 s): polls at 0, 0.25, 0.75, 1.75 s.
    for token, spans in (("t1", SPANS[:3]), ("t2", SPANS), ("t3", SPANS), ("t4", SPANS)):
        started(stubber, [GUIDE_ID], token=token)
        stubber.add_response(
            "list_retrieved_traces",
            {"RetrievalStatus": "COMPLETE", "Traces": [{"Id": GUIDE_ID, "Spans": spans}]},
            {"RetrievalToken": token, "TraceFormat": "XRAY"},
        )
    (trace,) = reader(client, fake).wait_for_traces([GUIDE_ID], timeout=30)
    assert fake.sleeps == [0.25, 0.5, 1.0]
    assert trace.node_count == build_trace(GUIDE_ID, GUIDE_TRACE["Segments"]).node_count
    assert not any("wait ended" in warning for warning in trace.warnings)


# --------------------------------------------------------------------------------------- when to go there


def test_an_old_trace_missing_while_the_destination_changes_is_retrieved_once(
    xray: tuple[Any, Stubber],
) -> None:
    client, stubber = xray
    missed(stubber, [GUIDE_ID])
    destination(stubber, "CloudWatchLogs", "PENDING")
    started(stubber, [GUIDE_ID])
    page(stubber, SPANS)
    (trace,) = reader(client, FakeTime(NOW_2017 + 86400)).fetch_traces([GUIDE_ID])
    assert trace.id == GUIDE_ID


def test_a_fallback_retrieval_that_is_denied_leaves_the_trace_not_found(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    missed(stubber, [GUIDE_ID])
    stubber.add_client_error("get_trace_segment_destination", "AccessDeniedException", "no", 403)
    stubber.add_client_error("start_trace_retrieval", "AccessDeniedException", "no", 403)
    with pytest.raises(TraceNotFound) as caught:
        reader(client, FakeTime(NOW_2017 + 86400)).fetch_traces([GUIDE_ID])
    assert "allow xray:GetTraceSegmentDestination" in (caught.value.fix or "")


def test_a_recent_trace_missing_while_the_destination_is_unknown_is_not_retrieved(
    xray: tuple[Any, Stubber],
) -> None:
    client, stubber = xray
    missed(stubber, [GUIDE_ID])
    stubber.add_client_error("get_trace_segment_destination", "AccessDeniedException", "no", 403)
    with pytest.raises(TraceNotFound) as caught:  # ingestion explains it: no retrieval is started
        reader(client, FakeTime(NOW_2017)).fetch_traces([GUIDE_ID])
    assert "ingesting" in (caught.value.fix or "")


# ------------------------------------------------------------------ retrievals that found nothing, at the end


def test_retrievals_that_completed_empty_are_not_found_though_the_last_one_is_cut_at_the_deadline(
    xray: tuple[Any, Stubber],
) -> None:
    """A trace recorded before Transaction Search was switched on: every retrieval completes, empty. The one
    the wait starts at its deadline is still SCHEDULED there: it is cancelled, and the answer is the earlier
    ones' (not found, exit 3), not a failed retrieval (exit 9)."""
    client, stubber = xray
    fake = FakeTime(NOW_2017 + 600)  # ten minutes old: waited for, as ingestion could explain it
    missed(stubber, [GUIDE_ID])
    destination(stubber)
    # Polls at 0, 0.25, 0.75 and 1.75 s each complete with nothing; the fifth, at 2 s, is cut.
    for number in range(4):
        started(stubber, [GUIDE_ID], token=f"t{number}")
        status(stubber, "COMPLETE", token=f"t{number}")
    started(stubber, [GUIDE_ID], token="late")
    status(stubber, "SCHEDULED", token="late")
    stubber.add_response("cancel_trace_retrieval", {}, {"RetrievalToken": "late"})
    with pytest.raises(TraceNotFound) as caught:
        reader(client, fake).wait_for_traces([GUIDE_ID], timeout=2)
    error = caught.value
    assert error.exit_code == ExitCode.NOT_FOUND == 3
    # The window searched, said once: from before the id to the end of the last retrieval that completed.
    epoch = trace_epoch(GUIDE_ID)
    searched_to = datetime.fromtimestamp(math.ceil(NOW_2017 + 600 + 1.75), tz=timezone.utc)
    assert error.message == (
        f"Trace {GUIDE_ID} not found: Transaction Search is on in this account and region, and a trace "
        f"retrieval (StartTraceRetrieval) found no span of it in CloudWatch Logs from "
        f"{utc(epoch - WINDOW_BEFORE):%Y-%m-%d %H:%M:%S} to {searched_to:%Y-%m-%d %H:%M:%S} UTC."
    )
    assert "sampled" in (error.fix or "")


def test_a_wait_whose_only_retrieval_is_still_running_at_the_deadline_is_a_failed_retrieval(
    xray: tuple[Any, Stubber],
) -> None:
    client, stubber = xray
    fake = FakeTime(NOW_2017 + 600)
    missed(stubber, [GUIDE_ID])
    destination(stubber)
    started(stubber, [GUIDE_ID])
    status(stubber, "RUNNING")  # at 0
    status(stubber, "RUNNING")  # at 0.25 s, the deadline: no retrieval has answered for the trace
    stubber.add_response("cancel_trace_retrieval", {}, {"RetrievalToken": TOKEN})
    with pytest.raises(RetrievalFailed) as caught:
        reader(client, fake).wait_for_traces([GUIDE_ID], timeout=0.25)
    assert caught.value.exit_code == ExitCode.RETRIEVAL_FAILED
    assert "was still RUNNING when the wait ended" in caught.value.message


@pytest.mark.parametrize(
    ("trace_id", "said"),
    [
        ("1-00000000-0123456789abcdef01234567", "X-Ray keeps traces 30 days and {id} is older;"),
        (
            "1-ffffffff-0123456789abcdef01234567",
            "{id}'s timestamp (2106-02-07 06:28:15 UTC) is in the future",
        ),
    ],
)
@pytest.mark.parametrize("wait", [False, True])
def test_ids_past_retention_or_from_the_future_start_no_retrieval_and_say_why(
    xray: tuple[Any, Stubber], trace_id: str, said: str, wait: bool
) -> None:
    client, stubber = xray
    fake = FakeTime(NOW_2017 + 86400)
    missed(stubber, [trace_id])
    destination(stubber)  # Transaction Search is on; and no StartTraceRetrieval over 1969 or 2106
    the_reader = reader(client, fake)
    with pytest.raises(TraceNotFound) as caught:
        if wait:
            the_reader.wait_for_traces([trace_id], timeout=30)
        else:
            the_reader.fetch_traces([trace_id])
    assert fake.sleeps == []  # not waited for
    assert caught.value.exit_code == ExitCode.NOT_FOUND
    assert caught.value.message == f"Trace {trace_id} not found."
    assert (caught.value.fix or "").startswith(said.format(id=trace_id))
