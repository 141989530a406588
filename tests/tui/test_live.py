"""`browse` on a live X-Ray: the local X-Ray API over a real store, read through botocore as AWS is.

Traces are put into the store while the app runs, as the daemon stores what the SDK sends; the list must
show them without a key press, the filter is read by the service (its rejection shown under it), a trace X-Ray
is still receiving says so until it is complete, and a poll that fails is a line while polling goes on.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from tests.support.faultproxy import FaultProxy, throttle
from tests.support.tui import FAILED, OK, OTHER, drive, fresh, of_trace, put, restamp, screen_text, settle
from tests.unit.local.test_xray_api import demo_documents
from xrayctl.aws.clients import AwsOptions, Clients
from xrayctl.aws.reader import XRayReader
from xrayctl.local.xray.api import XRayApiServer
from xrayctl.local.xray.store import TraceStore
from xrayctl.tui.app import BrowseApp, make_app
from xrayctl.tui.source import LiveSource
from xrayctl.tui.tracescreen import TraceScreen

pytestmark = pytest.mark.timeout(60)


def live_app(url: str, *, filter_expression: str | None = None) -> BrowseApp:
    options = AwsOptions(
        region="us-east-1",
        endpoint_url=url,
        credentials=("testing", "testing"),
        isolated=True,
        max_attempts=1,
        read_timeout=2.0,
        connect_timeout=2.0,
    )
    reader = XRayReader(Clients(options).xray, settle_time=0.1)
    now = datetime.now(timezone.utc)
    source = LiveSource(
        reader,
        start=now - timedelta(minutes=15),
        end=None,
        since=timedelta(minutes=15),
        filter_expression=filter_expression,
        settle_time=0.1,
        local=True,
        label="local stack",
    )
    return make_app(source, source.first(), limit=1000)


async def until(pilot: Pilot[Any], condition: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, screen_text(pilot.app)
        await settle(pilot, 0.1)


def rows(pilot: Pilot[Any]) -> list[str]:
    table = pilot.app.screen.query_one(DataTable)
    return [str(row.key.value) for row in table.ordered_rows]


def test_traces_stored_while_the_list_is_open_appear_in_it_with_the_time_of_the_refresh(
    store: TraceStore, api: XRayApiServer
) -> None:
    now = time.time()
    put(store, of_trace(OK, now))

    async def scenario(pilot: Pilot[Any]) -> None:
        assert rows(pilot) == [restamp(OK, now)]
        put(store, of_trace(OTHER, time.time()))
        await until(pilot, lambda: len(rows(pilot)) == 2)
        text = screen_text(pilot.app)
        assert "2 traces" in text and "live, refreshed " in text
        put(store, of_trace(FAILED, time.time()))
        await until(pilot, lambda: len(rows(pilot)) == 3)

    drive(live_app(api.url), scenario)


def test_a_filter_is_read_by_the_service_and_its_rejection_shows_under_it_the_list_unchanged(
    store: TraceStore, api: XRayApiServer
) -> None:
    now = time.time()
    put(store, fresh(demo_documents(), now))

    async def scenario(pilot: Pilot[Any]) -> None:
        assert len(rows(pilot)) == 3
        await pilot.press("f", *"annotation.put_response = = 200", "enter")
        await until(pilot, lambda: "✗" in screen_text(pilot.app))
        error = pilot.app.screen.query_one("#filter-error", Static)
        assert "filter" in screen_text(pilot.app).lower()
        assert error.display and len(rows(pilot)) == 3
        await pilot.press("ctrl+a", "ctrl+k", *"annotation.put_response = 200", "enter")
        await until(pilot, lambda: len(rows(pilot)) == 2)
        assert "✗" not in screen_text(pilot.app)
        assert set(rows(pilot)) == {restamp(OK, now), restamp(OTHER, now)}

    drive(live_app(api.url), scenario)


def test_a_rejected_filter_left_with_esc_takes_its_error_away_and_says_what_to_press(
    store: TraceStore, api: XRayApiServer
) -> None:
    put(store, fresh(demo_documents(), time.time()))

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("f", *"foo ===", "enter")
        await until(pilot, lambda: "✗" in screen_text(pilot.app))
        words = " ".join(line.strip() for line in screen_text(pilot.app).splitlines())  # wrapped at the width
        assert "press Enter, or Esc to keep the filter in force" in words and "--filter" not in words
        await pilot.press("escape")
        await until(pilot, lambda: "✗" not in screen_text(pilot.app))
        assert len(rows(pilot)) == 3

    drive(live_app(api.url), scenario)


def test_a_filter_that_matches_nothing_says_so_not_that_the_window_is_empty(
    store: TraceStore, api: XRayApiServer
) -> None:
    put(store, fresh(demo_documents(), time.time()))

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("f", *"annotation.put_response = 999", "enter")
        await until(pilot, lambda: not rows(pilot))
        assert "No traces in the window match the filter" in screen_text(pilot.app)

    drive(live_app(api.url), scenario)


def test_a_trace_x_ray_is_still_receiving_says_so_until_it_is_complete(
    store: TraceStore, api: XRayApiServer
) -> None:
    now = time.time()
    documents = of_trace(OK, now)
    service = next(d for d in documents if d.get("origin") == "AWS::Lambda")
    open_service = {**service, "in_progress": True}
    del open_service["end_time"]
    put(store, [d for d in documents if d is not service] + [open_service])

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("enter")
        await until(pilot, lambda: "still receiving this trace" in screen_text(pilot.app))
        assert "in progress" in screen_text(pilot.app)
        put(store, [service])
        await until(pilot, lambda: "still receiving" not in screen_text(pilot.app))
        screen = pilot.app.screen
        assert isinstance(screen, TraceScreen) and screen.complete
        assert "put_object  put_response=200" in screen_text(pilot.app)

    drive(live_app(api.url), scenario)


def test_an_opened_trace_says_the_status_and_http_status_its_row_says(
    store: TraceStore, api: XRayApiServer
) -> None:
    """The refused event's trace: a fault in its S3 subsegments, none on its root segment. X-Ray's summary
    flags it (the list's FAULT); the tree alone would not, and the header said OK under a FAULT row."""
    now = time.time()
    put(store, of_trace(FAILED, now))

    async def scenario(pilot: Pilot[Any]) -> None:
        assert "FAULT" in screen_text(pilot.app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, TraceScreen) and pilot.app.screen.complete)
        await until(pilot, lambda: f"Trace {restamp(FAILED, now)}  FAULT" in screen_text(pilot.app))
        assert "HTTP " in screen_text(pilot.app)  # the entry's status, as show-trace's header has it

    drive(live_app(api.url), scenario)


def test_a_throttled_poll_is_one_line_and_the_list_polls_again(store: TraceStore, api: XRayApiServer) -> None:
    put(store, of_trace(OK, time.time()))
    with FaultProxy(api.url) as proxy:

        async def scenario(pilot: Pilot[Any]) -> None:
            proxy.always("GetTraceSummaries", throttle())
            put(store, of_trace(OTHER, time.time()))
            await pilot.press("r")
            await until(pilot, lambda: "polling again in" in screen_text(pilot.app))
            status = [line for line in screen_text(pilot.app).splitlines() if "✗" in line]
            assert len(status) == 1 and "throttl" in status[0].lower()
            assert len(rows(pilot)) == 1  # what was listed stays
            proxy.always("GetTraceSummaries", None)
            await pilot.press("r")
            await until(pilot, lambda: len(rows(pilot)) == 2)
            assert "✗" not in screen_text(pilot.app)

        drive(live_app(proxy.url), scenario)
