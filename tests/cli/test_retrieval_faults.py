"""Transaction Search through the real CLI: traces read by trace retrieval, and a retrieval's faults.

The local X-Ray API over a store switched to CloudWatchLogs with 0 % indexing (so BatchGetTraces finds nothing
and no trace has a summary) holds the demo function's real documents; the CLI reaches it as it reaches AWS,
through the fault-injecting proxy, which can keep a retrieval RUNNING forever, end it FAILED, CANCELLED or
TIMEOUT, or throttle any call. Each command must draw the same tree as a plain X-Ray store gives, or exit
with the documented code and one line on stderr, within --timeout, cancelling what it leaves running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_faults import ATTEMPTS, one_clear_line, xrayctl
from tests.support.cli import CliResult
from tests.support.faultproxy import FaultProxy, retrieval_status, throttle
from tests.unit.local.test_xray_api import OK_TRACE, demo_documents
from xrayctl.errors import ExitCode
from xrayctl.local.xray.api import XRayApiServer
from xrayctl.local.xray.store import TraceStore

pytestmark = pytest.mark.timeout(30)

START, LIST, CANCEL = "StartTraceRetrieval", "ListRetrievedTraces", "CancelTraceRetrieval"
TIMEOUT = 2.0
SLACK = 3.0  # the command's own start-up, and one call in flight at the deadline


@pytest.fixture(scope="module")
def documents() -> list[dict[str, Any]]:
    return demo_documents()  # one set: the Lambda segments get random ids each time


def api_over(path: Path, documents: list[dict[str, Any]], *, transaction_search: bool) -> XRayApiServer:
    store = TraceStore(path)
    if transaction_search:
        store.update_search_settings(
            lambda s: s.switched("CloudWatchLogs", time.time(), 0).with_percentage(0, 0)
        )
    assert store.put_documents([json.dumps(doc) for doc in documents]) == []
    return XRayApiServer(store, retrieval_time=0.2).start()


@pytest.fixture(scope="module")
def upstream(
    tmp_path_factory: pytest.TempPathFactory, documents: list[dict[str, Any]]
) -> Iterator[XRayApiServer]:
    api = api_over(tmp_path_factory.mktemp("search") / "traces.db", documents, transaction_search=True)
    yield api
    api.stop()


@pytest.fixture
def proxy(upstream: XRayApiServer) -> Iterator[FaultProxy]:
    with FaultProxy(upstream.url) as running:
        yield running


@pytest.fixture(scope="module")
def plain_tree(tmp_path_factory: pytest.TempPathFactory, documents: list[dict[str, Any]]) -> dict[str, Any]:
    """The trace as a store with Transaction Search off gives it (BatchGetTraces), summary left out."""
    api = api_over(tmp_path_factory.mktemp("plain") / "traces.db", documents, transaction_search=False)
    try:
        result = xrayctl(api.url, "-o", "json", "show-trace", OK_TRACE, "--no-wait")
    finally:
        api.stop()
    assert result.exit_code == 0, result.stderr
    (trace,) = result.json()["traces"]
    return {**trace, "summary": None}


def show(endpoint: str, *flags: str, timeout: float = TIMEOUT) -> tuple[CliResult, float]:
    started = time.monotonic()
    result = xrayctl(endpoint, "-o", "json", "show-trace", OK_TRACE, "--timeout", str(timeout), *flags)
    return result, time.monotonic() - started


@pytest.mark.parametrize("wait", ["--wait", "--no-wait"])
def test_a_trace_only_a_retrieval_finds_is_drawn_as_batch_get_traces_would(
    proxy: FaultProxy, plain_tree: dict[str, Any], wait: str
) -> None:
    result, _ = show(proxy.url, wait)
    assert result.exit_code == 0, result.stderr
    (trace,) = result.json()["traces"]
    assert trace == plain_tree and trace["node_count"] == 10
    # BatchGetTraces once (nothing), the destination once, then one retrieval: what it takes, no more.
    assert [proxy.count(op) for op in ("BatchGetTraces", "GetTraceSegmentDestination", START)] == [1, 1, 1]
    assert proxy.count(CANCEL) == 0


def test_a_retrieval_running_forever_ends_at_the_timeout_cancelled_with_exit_9(proxy: FaultProxy) -> None:
    proxy.always(LIST, retrieval_status("RUNNING"))
    result, took = show(proxy.url)
    one_clear_line(result, ExitCode.RETRIEVAL_FAILED, "still RUNNING when the wait ended", "--timeout")
    assert TIMEOUT <= took < TIMEOUT + SLACK
    assert proxy.count(CANCEL) == 1 and result.stdout == ""


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("FAILED", ["ended FAILED", "aws/spans"]),
        ("CANCELLED", ["was CANCELLED", "Run the command again"]),
        ("TIMEOUT", ["TIMED OUT at X-Ray", "fewer traces"]),
    ],
)
def test_a_retrieval_that_ends_without_the_traces_is_exit_9(
    proxy: FaultProxy, status: str, words: list[str]
) -> None:
    proxy.script(LIST, retrieval_status("RUNNING"), retrieval_status(status))
    result, took = show(proxy.url)
    one_clear_line(result, ExitCode.RETRIEVAL_FAILED, f"The trace retrieval for trace {OK_TRACE}", *words)
    assert took < TIMEOUT + SLACK and proxy.count(CANCEL) == 0  # it has ended: nothing to cancel


@pytest.mark.parametrize("operation", [START, LIST])
def test_a_throttle_that_lasts_is_exit_6_within_the_timeout(proxy: FaultProxy, operation: str) -> None:
    proxy.always(operation, throttle())
    result, took = show(proxy.url)
    one_clear_line(result, ExitCode.THROTTLED, operation, f"after {ATTEMPTS} attempts")
    assert took < TIMEOUT + SLACK


def test_throttles_that_pass_are_retried_or_polled_through_to_the_tree(
    proxy: FaultProxy, plain_tree: dict[str, Any]
) -> None:
    proxy.script(START, throttle())  # botocore's retry takes it
    # After a first status, a throttle that outlasts botocore's retries is polled through.
    proxy.script(LIST, retrieval_status("RUNNING"), *[throttle()] * ATTEMPTS)
    # Each throttle costs botocore's back-off (up to a second, random): a wait long enough for them all, so
    # only a throttle that is not polled through can fail it.
    result, _ = show(proxy.url, timeout=4 * TIMEOUT)
    assert result.exit_code == 0, result.stderr
    assert result.json()["traces"] == [plain_tree]


def test_ctrl_c_during_a_retrieval_cancels_it_then_exits_130(upstream: XRayApiServer) -> None:
    with FaultProxy(upstream.url) as proxy:
        proxy.always(LIST, retrieval_status("RUNNING"))
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL_XRAY": proxy.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        }
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "XRAYCTL_LOCAL"):
            env.pop(name, None)
        process = subprocess.Popen(
            [sys.executable, "-m", "xrayctl", "show-trace", OK_TRACE, "--timeout", "60"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 20
            while proxy.count(LIST) < 2 and time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.05)
            assert proxy.count(LIST) >= 2, "the command never polled the retrieval"
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=15)
        finally:
            process.kill()
            process.wait()
        assert process.returncode == ExitCode.INTERRUPTED
        assert stderr.strip() == "xrayctl: interrupted."
        assert proxy.count(CANCEL) == 1


@pytest.mark.parametrize("output", ["text", "json"])
def test_list_annotations_says_how_much_the_summaries_cover(proxy: FaultProxy, output: str) -> None:
    result = xrayctl(
        proxy.url, "-o", output, "list-annotations", "--start", "2026-11-24", "--end", "2026-11-25"
    )
    assert result.exit_code == 0, result.stderr
    assert (
        "Transaction Search is on and indexing is at 0% (indexing rule Default): no trace recorded while it "
        "is so becomes a trace summary or appears in this list" in " ".join(result.stderr.split())
    )
    assert proxy.count("GetIndexingRules") == 1
