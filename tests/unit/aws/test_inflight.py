"""InFlightLimit: at most `limit` requests on the wire however many threads call through it, calls outside
it never held back, and every place given back (an answer cut short, a dropped connection that botocore
retries), so the limit never shrinks and a read never waits forever for a place nobody holds."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError

from tests.support.faultproxy import FaultProxy, drop, reset_mid_body
from tests.unit.local.test_xray_api import demo_documents
from xrayctl.aws.clients import AwsOptions, Clients
from xrayctl.aws.inflight import InFlightLimit
from xrayctl.local.httpserver import LoopbackHTTPServer, Request, Response
from xrayctl.local.xray.api import XRayApiServer
from xrayctl.local.xray.store import TraceStore

pytestmark = pytest.mark.timeout(30)

WINDOW = {"StartTime": 0, "EndTime": 3600}


def xray(url: str, attempts: int = 1) -> Any:
    options = AwsOptions(
        region="us-east-1", endpoint_url=url, credentials=("x", "y"), max_attempts=attempts, isolated=True
    )
    return Clients(options).xray


def in_thread(work: Any) -> threading.Event:
    """Run `work` on a daemon thread; the event is set once it returned."""
    done = threading.Event()

    def run() -> None:
        work()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done


@pytest.fixture
def proxy(tmp_path: Any) -> Iterator[FaultProxy]:
    store = TraceStore(tmp_path / "traces.db")
    assert store.put_documents([json.dumps(doc) for doc in demo_documents()]) == []
    api = XRayApiServer(store).start()
    try:
        with FaultProxy(api.url) as running:
            yield running
    finally:
        api.stop()
        store.close()


def test_more_threads_than_the_limit_never_have_more_requests_in_flight() -> None:
    in_flight = [0, 0]  # now, most at once
    lock = threading.Lock()

    def handle(request: Request) -> Response:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight)
        time.sleep(0.05)
        with lock:
            in_flight[0] -= 1
        return Response.json(200, {"TraceSummaries": []})

    http = LoopbackHTTPServer(handle).start()
    try:
        client = xray(http.url)
        limit = InFlightLimit(2, client)

        def read() -> None:
            with limit.calls():
                for _ in range(3):
                    client.get_trace_summaries(**WINDOW)

        readers = [in_thread(read) for _ in range(6)]
        assert all(done.wait(10) for done in readers)
    finally:
        http.stop()
    assert in_flight[1] == 2


def test_calls_outside_the_limit_are_not_held_back() -> None:
    arrived, release = threading.Event(), threading.Event()

    def handle(request: Request) -> Response:
        if request.json().get("EndTime") == 1:  # the call that holds the only place, until told to answer
            arrived.set()
            release.wait(10)
        return Response.json(200, {"TraceSummaries": []})

    http = LoopbackHTTPServer(handle).start()
    try:
        client = xray(http.url)
        limit = InFlightLimit(1, client)

        def hold() -> None:
            with limit.calls():
                client.get_trace_summaries(StartTime=0, EndTime=1)

        held = in_thread(hold)
        assert arrived.wait(5)  # the request is on the wire, its place taken
        assert in_thread(lambda: client.get_trace_summaries(**WINDOW)).wait(5)
        release.set()
        assert held.wait(5)
    finally:
        release.set()
        http.stop()


def test_an_answer_cut_short_gives_its_place_back(proxy: FaultProxy) -> None:
    client = xray(proxy.url)
    limit = InFlightLimit(1, client)
    proxy.script("GetTraceSummaries", reset_mid_body())
    with limit.calls(), pytest.raises(BotoCoreError):
        client.get_trace_summaries(**WINDOW)

    def again() -> None:
        with limit.calls():
            client.get_trace_summaries(**WINDOW)

    assert in_thread(again).wait(10), "the only place was not given back"


def test_botocores_retry_back_off_is_waited_without_a_place(proxy: FaultProxy) -> None:
    """Thread A's first attempt is dropped; while A waits to retry, B's call takes the only place."""
    client = xray(proxy.url, attempts=2)
    limit = InFlightLimit(1, client)
    proxy.script("GetTraceSummaries", drop())
    b_done, backing_off = threading.Event(), threading.Event()

    def back_off(attempts: int = 1, **_: Any) -> None:
        # Called where botocore decides on a retry, after the failed attempt's response-received; returns no
        # opinion (botocore's own handler decides), but first holds A here until B is done, as a long back-off
        # would.
        if threading.current_thread().name == "a" and attempts == 1:
            backing_off.set()
            b_done.wait(10)

    client.meta.events.register_first("needs-retry.xray.GetTraceSummaries", back_off)
    answers: list[Any] = []

    def read() -> None:
        with limit.calls():
            answers.append(client.get_trace_summaries(**WINDOW))

    a = threading.Thread(target=read, name="a", daemon=True)
    a.start()
    assert backing_off.wait(10)
    b = in_thread(read)
    assert b.wait(5), "B waited for the place A held while backing off"
    b_done.set()
    a.join(10)
    assert len(answers) == 2
    assert proxy.count("GetTraceSummaries") == 3  # A's dropped attempt, B's, A's retry


def test_calls_cannot_be_nested() -> None:
    limit = InFlightLimit(1, xray("http://127.0.0.1:9"))
    with limit.calls(), pytest.raises(RuntimeError), limit.calls():
        pass
