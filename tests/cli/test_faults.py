"""Faults of the X-Ray API, met through the real CLI: throttles, 5xx, slow answers, dropped and reset
connections, UnprocessedTraceIds, LimitExceeded, and traces that are partial and complete later.

A `FaultProxy` on 127.0.0.1 stands in front of the local X-Ray API (a TraceStore holding the real documents
of the demo function); the CLI reaches it as it reaches AWS (AWS_ENDPOINT_URL_XRAY, dummy credentials), with
short timeouts and few attempts. Each command must either finish with the tree the API holds (the same JSON as
a read with no fault) or exit with the documented code and one line on stderr; the proxy's request count
shows that the retries were bounded, and pytest's timeout that nothing hung. Also here: the timeout settings
(XRAYCTL_CONNECT_TIMEOUT / XRAYCTL_READ_TIMEOUT), an endpoint that never accepts or is not X-Ray at all,
Ctrl-C during a stalled call, and invoke's wait on a real local stack reached as if it were AWS.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from tests.support.cli import CliResult, run_cli
from tests.support.faultproxy import (
    Fault,
    FaultProxy,
    bare_error,
    drop,
    limit_exceeded,
    passing,
    reset_mid_body,
    server_error,
    slow,
    throttle,
    unprocessed,
    withhold,
)
from tests.unit.local.test_xray_api import OK_TRACE, demo_documents, xray_client
from xrayctl.aws.clients import AwsOptions, Clients
from xrayctl.aws.reader import UNPROCESSED_RETRIES
from xrayctl.errors import ExitCode
from xrayctl.local.stack import LocalStack
from xrayctl.local.xray.api import XRayApiServer
from xrayctl.local.xray.store import TraceStore

pytestmark = pytest.mark.timeout(30)

ATTEMPTS = 2  # AWS_MAX_ATTEMPTS for every command here: one retry
READ_TIMEOUT = 1.0
SLOW = 3 * READ_TIMEOUT  # an answer this late is past the read timeout
GET = "BatchGetTraces"
SUMMARIES = "GetTraceSummaries"
INVOKE_PATH = "/2015-03-31/functions/{}/invocations"  # the proxy names other paths as they are


def recorded_an_hour_ago(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents as if recorded an hour ago: times moved by whole seconds, and each trace id's time with
    them, so that list-annotations (which reads no further back than X-Ray keeps, 30 days) finds them
    whenever the suite runs."""
    moved = copy.deepcopy(documents)
    shift = int(time.time()) - 3600 - int(min(document["start_time"] for document in moved))

    def move(entity: dict[str, Any]) -> None:
        for key in ("start_time", "end_time"):
            if key in entity:
                entity[key] += shift
        for child in entity.get("subsegments", []):
            move(child)

    for document in moved:
        trace_id = document["trace_id"]
        document["trace_id"] = f"1-{int(trace_id[2:10], 16) + shift:08x}-{trace_id[11:]}"
        move(document)
    return moved


# The demo's traces again, recent: what list-annotations lists here.
RECENT = recorded_an_hour_ago(demo_documents())


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TraceStore]:
    store = TraceStore(tmp_path_factory.mktemp("faults") / "traces.db")
    assert store.put_documents([json.dumps(doc) for doc in demo_documents() + RECENT]) == []
    yield store
    store.close()


@pytest.fixture(scope="module")
def upstream(store: TraceStore) -> Iterator[XRayApiServer]:
    api = XRayApiServer(store).start()
    yield api
    api.stop()


@pytest.fixture
def proxy(upstream: XRayApiServer) -> Iterator[FaultProxy]:
    with FaultProxy(upstream.url) as running:
        yield running


def xrayctl(endpoint: str, *args: str, env: Mapping[str, str] | None = None) -> CliResult:
    return run_cli(
        list(args),
        env={
            "AWS_ENDPOINT_URL_XRAY": endpoint,
            "AWS_MAX_ATTEMPTS": str(ATTEMPTS),
            "AWS_RETRY_MODE": "standard",
            "XRAYCTL_READ_TIMEOUT": str(READ_TIMEOUT),
            "XRAYCTL_CONNECT_TIMEOUT": "1",
            **(env or {}),
        },
    )


def show(endpoint: str, trace_id: str = OK_TRACE, *flags: str) -> CliResult:
    return xrayctl(endpoint, "-o", "json", "show-trace", trace_id, *flags)


def one_clear_line(result: CliResult, code: ExitCode, *words: str) -> str:
    assert result.exit_code == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert all(word in lines[0] for word in words), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def baseline(upstream: XRayApiServer) -> dict[str, Any]:
    """show-trace's JSON read straight from the API, with no proxy: the right answer."""
    result = show(upstream.url, OK_TRACE, "--no-wait")
    assert result.exit_code == 0, result.stderr
    (trace,) = result.json()["traces"]
    # The demo trace as X-Ray stores it: Lambda's segment over the function's, S3 calls, inferred buckets.
    (root,) = trace["roots"]
    assert root["origin"] == "AWS::Lambda"
    assert [c["origin"] for c in root["children"]] == ["AWS::Lambda::Function"]
    assert trace["node_count"] == 10 and not trace["limit_exceeded"] and trace["summary"] is not None
    return result.json()


# ------------------------------------------------------------------------------------ throttles and 5xx


@pytest.mark.parametrize(
    ("code", "wait"), [("ThrottledException", "--wait"), ("ThrottlingException", "--no-wait")]
)
def test_a_throttle_that_passes_is_retried_to_the_right_tree(
    proxy: FaultProxy, baseline: dict[str, Any], code: str, wait: str
) -> None:
    proxy.script(GET, *[throttle(code)] * (ATTEMPTS - 1))
    result = show(proxy.url, OK_TRACE, wait)
    assert result.exit_code == 0, result.stderr
    assert result.json() == baseline
    assert proxy.count(GET) == ATTEMPTS


@pytest.mark.parametrize(
    ("code", "wait"), [("ThrottledException", "--no-wait"), ("ThrottlingException", "--wait")]
)
def test_a_throttle_that_lasts_is_exit_6_after_the_attempts(proxy: FaultProxy, code: str, wait: str) -> None:
    proxy.always(GET, throttle(code))
    result = show(proxy.url, OK_TRACE, wait)
    one_clear_line(result, ExitCode.THROTTLED, "BatchGetTraces", code, f"after {ATTEMPTS} attempts")
    assert result.stdout == ""
    assert proxy.count(GET) == ATTEMPTS


@pytest.mark.parametrize(
    "fault",
    [server_error(500), server_error(502), server_error(503), bare_error(502), bare_error(429)],
    ids=["500", "502", "503", "bare-502", "bare-429"],
)
def test_a_5xx_or_a_bare_error_that_passes_is_retried_to_the_right_tree(
    proxy: FaultProxy, baseline: dict[str, Any], fault: Fault
) -> None:
    proxy.script(GET, fault)
    result = show(proxy.url, OK_TRACE, "--no-wait")
    assert result.exit_code == 0, result.stderr
    assert result.json() == baseline
    assert proxy.count(GET) == 2


@pytest.mark.parametrize(
    ("fault", "code", "words"),
    [
        (server_error(500), ExitCode.UNREACHABLE, ["InternalFailure, HTTP 500"]),
        (server_error(503), ExitCode.UNREACHABLE, ["ServiceUnavailable, HTTP 503"]),
        # A load balancer's or a proxy's own page: no AWS error code, and no HTML in the one line.
        (bare_error(504), ExitCode.UNREACHABLE, ["(HTTP 504)", "Gateway Timeout"]),
        (bare_error(429), ExitCode.THROTTLED, ["throttled BatchGetTraces (HTTP 429)"]),
    ],
    ids=["500", "503", "bare-504", "bare-429"],
)
def test_a_5xx_or_a_bare_error_that_lasts_ends_after_the_attempts(
    proxy: FaultProxy, fault: Fault, code: ExitCode, words: list[str]
) -> None:
    proxy.always(GET, fault)
    result = show(proxy.url, OK_TRACE, "--wait")
    line = one_clear_line(result, code, "BatchGetTraces", f"after {ATTEMPTS} attempts", *words)
    assert "<" not in line
    assert proxy.count(GET) == ATTEMPTS


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (403, ["HTTP 403 Forbidden", "refused before it reached AWS", "HTTPS_PROXY"]),
        (407, ["HTTP 407 Proxy Authentication Required", "http://user:password@host:port"]),
        (401, ["HTTP 401 Unauthorized", "refused before it reached AWS"]),
        (404, ["HTTP 404 Not Found", "not the AWS API", "--endpoint-url"]),
        # A proxy's timeout is the endpoint failing, as a read timeout is: not a setting to fix.
        (408, ["HTTP 408 Request Timeout", "timed out on the way"]),
    ],
)
def test_a_bare_4xx_from_a_proxy_or_another_server_is_a_configuration_error(
    proxy: FaultProxy, status: int, words: list[str]
) -> None:
    proxy.always(GET, bare_error(status))
    result = show(proxy.url, OK_TRACE, "--no-wait")
    code = ExitCode.UNREACHABLE if status == 408 else ExitCode.CONFIG
    line = one_clear_line(result, code, "BatchGetTraces", *words)
    assert "<h1>" not in line and "html>" not in line.lower()  # the page itself is not shown
    assert proxy.count(GET) == 1  # a refusal is not retried


# ------------------------------------------------------------------------ slow, dropped, reset answers


@pytest.mark.parametrize("fault", [slow(SLOW), drop(), reset_mid_body()], ids=["slow", "drop", "reset"])
def test_a_network_fault_that_passes_is_retried_to_the_right_tree(
    proxy: FaultProxy, baseline: dict[str, Any], fault: Fault
) -> None:
    proxy.script(GET, fault)
    result = show(proxy.url, OK_TRACE, "--no-wait")
    assert result.exit_code == 0, result.stderr
    assert result.json() == baseline
    assert proxy.count(GET) == 2


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        (slow(SLOW), ["Timed out talking to", "/Traces"]),
        (drop(), ["closed the connection", "/Traces"]),
        (reset_mid_body(), ["closed the connection", "/Traces"]),
    ],
    ids=["slow", "drop", "reset"],
)
def test_a_network_fault_that_lasts_is_exit_7_after_the_attempts(
    proxy: FaultProxy, fault: Fault, words: list[str]
) -> None:
    proxy.always(GET, fault)
    # While waiting, too: a poll that fails after its attempts ends the wait (a cut answer once read as
    # "no trace yet" made the wait poll until --timeout and then say "not found").
    result = show(proxy.url, OK_TRACE, "--wait")
    one_clear_line(result, ExitCode.UNREACHABLE, *words)
    assert result.stdout == ""
    assert proxy.count(GET) == ATTEMPTS


@pytest.mark.parametrize(
    ("setting", "value"),
    [("XRAYCTL_READ_TIMEOUT", "soon"), ("XRAYCTL_READ_TIMEOUT", "0"), ("XRAYCTL_CONNECT_TIMEOUT", "inf")],
)
def test_a_timeout_setting_must_be_a_positive_number(proxy: FaultProxy, setting: str, value: str) -> None:
    # 0 or inf would be no timeout at all (botocore waits forever): a configuration error, before any call.
    result = xrayctl(proxy.url, "show-trace", OK_TRACE, env={setting: value})
    one_clear_line(result, ExitCode.CONFIG, setting, repr(value))
    assert proxy.requests == []


@pytest.mark.parametrize(
    ("operation", "args"),
    [(GET, ["show-trace", OK_TRACE, "--wait"]), (SUMMARIES, ["list-annotations"])],
    ids=["show-trace", "list-annotations"],
)
def test_an_endpoint_that_is_not_x_ray_is_a_config_error_not_no_traces(
    proxy: FaultProxy, operation: str, args: list[str]
) -> None:
    # A web server's 200 page: botocore reads it as an empty answer, which was "trace not found" (after
    # waiting until --timeout) and an empty listing.
    proxy.always(operation, bare_error(200))
    result = xrayctl(proxy.url, *args)
    one_clear_line(result, ExitCode.CONFIG, f"{proxy.url}/Trace", "text/html", "AWS_ENDPOINT_URL")
    assert result.stdout == ""
    assert proxy.count(operation) == 1  # not a fault that passes: asked once


@pytest.fixture
def never_accepting() -> Iterator[str]:
    """An endpoint whose listen queue is full: the kernel drops new SYNs, so a connect never completes."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(server.getsockname())
        fillers.append(filler)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    for sock in [*fillers, server]:
        sock.close()


def test_an_endpoint_that_never_accepts_ends_at_the_connect_timeout(never_accepting: str) -> None:
    # The read timeout is long and the OS would try to connect for minutes: only the connect timeout ends it.
    result = xrayctl(
        never_accepting,
        "show-trace",
        OK_TRACE,
        env={"XRAYCTL_CONNECT_TIMEOUT": "0.5", "XRAYCTL_READ_TIMEOUT": "60"},
    )
    one_clear_line(result, ExitCode.UNREACHABLE, "Timed out talking to", never_accepting)


def test_every_client_has_finite_timeouts_that_the_settings_change(monkeypatch: pytest.MonkeyPatch) -> None:
    def timeouts() -> dict[str, tuple[float, float]]:
        clients = Clients(AwsOptions(region="us-east-1", credentials=("testing", "testing"), isolated=True))
        configs = {name: clients.client(name).meta.config for name in ("xray", "lambda", "cloudformation")}
        return {name: (config.connect_timeout, config.read_timeout) for name, config in configs.items()}

    monkeypatch.delenv("XRAYCTL_CONNECT_TIMEOUT", raising=False)
    monkeypatch.delenv("XRAYCTL_READ_TIMEOUT", raising=False)
    assert timeouts() == {"xray": (5.0, 30.0), "lambda": (5.0, 900.0), "cloudformation": (5.0, 30.0)}
    monkeypatch.setenv("XRAYCTL_CONNECT_TIMEOUT", "2")
    monkeypatch.setenv("XRAYCTL_READ_TIMEOUT", "7.5")
    # Invoke's answer comes when the function ends: its read timeout is the function's longest run.
    assert timeouts() == {"xray": (2.0, 7.5), "lambda": (2.0, 900.0), "cloudformation": (2.0, 7.5)}


@pytest.mark.parametrize(
    ("operation", "args"),
    [
        (GET, ["show-trace", OK_TRACE, "--wait"]),
        (SUMMARIES, ["show-trace", OK_TRACE, "--no-wait"]),  # the summary, read on a thread alongside
        (SUMMARIES, ["list-annotations", "--since", "13h"]),  # three slices, read on threads
    ],
    ids=["show-trace", "show-trace-summary", "list-annotations"],
)
def test_ctrl_c_during_a_stalled_call_exits_at_once(
    upstream: XRayApiServer, operation: str, args: list[str]
) -> None:
    # A call to an endpoint that stalls lasts its read timeout (60 s here): Ctrl-C must not wait for it, on
    # the main thread or on the threads that read summaries concurrently.
    with FaultProxy(upstream.url) as proxy:
        proxy.always(operation, slow(60))
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL_XRAY": proxy.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
            "XRAYCTL_READ_TIMEOUT": "60",
        }
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "XRAYCTL_LOCAL"):
            env.pop(name, None)
        process = subprocess.Popen(
            [sys.executable, "-m", "xrayctl", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 20
            while proxy.count(operation) == 0 and time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.05)
            assert proxy.count(operation) > 0, "the command never reached the stalled call"
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=15)  # far below the 60 s the stalled call could last
        finally:
            process.kill()
            process.wait()
    assert process.returncode == ExitCode.INTERRUPTED
    assert stderr.strip() == "xrayctl: interrupted."


# ----------------------------------------------------------------- what X-Ray answers about the traces


def test_unprocessed_ids_are_asked_again_to_the_right_tree(
    proxy: FaultProxy, baseline: dict[str, Any]
) -> None:
    proxy.script(GET, unprocessed(), unprocessed())
    result = show(proxy.url, OK_TRACE, "--no-wait")
    assert result.exit_code == 0, result.stderr
    assert result.json() == baseline
    assert proxy.count(GET) == 3


def test_ids_that_stay_unprocessed_are_not_found_after_bounded_retries(proxy: FaultProxy) -> None:
    proxy.always(GET, unprocessed())
    result = show(proxy.url, OK_TRACE, "--no-wait")
    one_clear_line(result, ExitCode.NOT_FOUND, OK_TRACE, "not found")
    assert proxy.count(GET) == UNPROCESSED_RETRIES + 1


def test_waiting_on_unprocessed_ids_ends_at_the_deadline(proxy: FaultProxy) -> None:
    proxy.always(GET, unprocessed())
    result = show(proxy.url, fresh_trace_id(), "--wait", "--timeout", "1")
    one_clear_line(result, ExitCode.NOT_FOUND, "not found after waiting 1 s")
    # Capped, jittered back-off: a handful of polls in a second, not a busy loop.
    assert 2 <= proxy.count(GET) <= 30


def test_limit_exceeded_is_drawn_and_said(proxy: FaultProxy, baseline: dict[str, Any]) -> None:
    proxy.always(GET, limit_exceeded())
    result = show(proxy.url, OK_TRACE, "--no-wait")
    assert result.exit_code == 0, result.stderr
    (trace,) = result.json()["traces"]
    assert trace["limit_exceeded"] is True
    assert trace["roots"] == baseline["traces"][0]["roots"]
    text = xrayctl(proxy.url, "--no-color", "show-trace", OK_TRACE, "--no-wait")
    assert text.exit_code == 0 and "LIMIT EXCEEDED" in text.stdout


# --------------------------------------------------------------------- partial traces that complete later


def fresh_trace_id(salt: int = 0) -> str:
    return f"1-{int(time.time()):08x}-{salt:024x}"


def fresh_copy(
    documents: list[dict[str, Any]], trace_id: str, new_id: str, salt: int
) -> list[dict[str, Any]]:
    """The documents of `trace_id` as if recorded just now under `new_id` (times shifted, ids renamed), so
    that a wait treats the trace as one X-Ray may still be receiving."""
    chosen = copy.deepcopy([d for d in documents if d["trace_id"] == trace_id])
    shift = time.time() - 2 - min(d["start_time"] for d in chosen)

    def renamed(segment_id: str) -> str:
        return f"{int(segment_id, 16) ^ salt:016x}"

    def move(entity: dict[str, Any]) -> None:
        entity["id"] = renamed(entity["id"])
        if entity.get("parent_id"):
            entity["parent_id"] = renamed(entity["parent_id"])
        for key in ("start_time", "end_time"):
            if key in entity:
                entity[key] += shift
        for child in entity.get("subsegments", []):
            move(child)

    for document in chosen:
        document["trace_id"] = new_id
        move(document)
    return chosen


@pytest.fixture
def fresh(upstream: XRayApiServer) -> tuple[str, list[dict[str, Any]]]:
    """A trace of the demo function stored just now: (its id, its documents)."""
    salt = time.monotonic_ns() & 0xFFFFFFFF
    trace_id = fresh_trace_id(salt)
    documents = fresh_copy(demo_documents(), OK_TRACE, trace_id, salt)
    answer = xray_client(upstream.url).put_trace_segments(
        TraceSegmentDocuments=[json.dumps(doc) for doc in documents]
    )
    assert answer["UnprocessedTraceSegments"] == []
    return trace_id, documents


def lambda_segment_id(documents: list[dict[str, Any]]) -> str:
    return next(d["id"] for d in documents if d.get("origin") == "AWS::Lambda")


def test_a_trace_that_is_partial_at_first_is_waited_for_until_complete(
    proxy: FaultProxy, upstream: XRayApiServer, fresh: tuple[str, list[dict[str, Any]]]
) -> None:
    trace_id, documents = fresh
    complete = show(upstream.url, trace_id, "--no-wait")
    assert complete.exit_code == 0, complete.stderr
    # Lambda sends its own segment after the function's: the first answers lack it.
    proxy.script(GET, *[withhold([lambda_segment_id(documents)])] * 3)
    result = show(proxy.url, trace_id, "--wait", "--timeout", "20")
    assert result.exit_code == 0, result.stderr
    assert result.json() == complete.json()
    assert 4 <= proxy.count(GET) <= 40


def test_without_wait_a_partial_trace_is_what_x_ray_had(
    proxy: FaultProxy, fresh: tuple[str, list[dict[str, Any]]]
) -> None:
    trace_id, documents = fresh
    proxy.script(GET, withhold([lambda_segment_id(documents)]))
    result = show(proxy.url, trace_id, "--no-wait")
    assert result.exit_code == 0, result.stderr
    (trace,) = result.json()["traces"]
    assert [root["origin"] for root in trace["roots"]] == ["AWS::Lambda::Function"]
    assert proxy.count(GET) == 1


def test_a_trace_that_stays_partial_is_shown_at_the_deadline_with_a_warning(
    proxy: FaultProxy, fresh: tuple[str, list[dict[str, Any]]]
) -> None:
    trace_id, documents = fresh
    proxy.always(GET, withhold([lambda_segment_id(documents)]))
    result = show(proxy.url, trace_id, "--wait", "--timeout", "1.5")
    assert result.exit_code == 0, result.stderr
    (trace,) = result.json()["traces"]
    assert [root["origin"] for root in trace["roots"]] == ["AWS::Lambda::Function"]
    assert "a parent segment had not arrived when the wait ended" in result.stderr
    assert 2 <= proxy.count(GET) <= 40


@pytest.mark.parametrize("fault", [throttle(), server_error(503), drop()], ids=["throttle", "503", "drop"])
def test_a_failure_after_the_first_answer_does_not_end_the_wait(
    proxy: FaultProxy, upstream: XRayApiServer, fresh: tuple[str, list[dict[str, Any]]], fault: Fault
) -> None:
    trace_id, documents = fresh
    complete = show(upstream.url, trace_id, "--no-wait")
    # The first poll finds the trace partial; the second fails on every attempt botocore makes; then X-Ray
    # answers again, with the whole trace. A passing throttle or 5xx must not cost the user the wait.
    partial = withhold([lambda_segment_id(documents)])
    proxy.script(GET, partial, *[fault] * ATTEMPTS)
    result = show(proxy.url, trace_id, "--wait", "--timeout", "20")
    assert result.exit_code == 0, result.stderr
    assert result.json() == complete.json()
    assert proxy.count(GET) >= 1 + ATTEMPTS + 1


def test_a_failure_that_lasts_after_the_first_answer_ends_the_wait_at_its_deadline(
    proxy: FaultProxy, fresh: tuple[str, list[dict[str, Any]]]
) -> None:
    trace_id, documents = fresh
    proxy.script(GET, withhold([lambda_segment_id(documents)]))
    proxy.always(GET, throttle())
    started = time.monotonic()
    result = show(proxy.url, trace_id, "--wait", "--timeout", "2")
    # The trace X-Ray had is shown, with the reason it may be incomplete, and the exit code says all is well
    # with the trace as far as it could be read: the warning names the throttle.
    assert result.exit_code == 0, result.stderr
    (trace,) = result.json()["traces"]
    assert [root["origin"] for root in trace["roots"]] == ["AWS::Lambda::Function"]
    assert "the last poll failed" in result.stderr and "hrottl" in result.stderr, result.stderr
    assert time.monotonic() - started >= 2
    assert proxy.count(GET) > 1 + ATTEMPTS  # it polled on


def test_an_endpoint_that_stops_taking_connections_mid_wait_ends_it_at_once(proxy: FaultProxy) -> None:
    trace_id = fresh_trace_id()  # not there yet: the wait would poll on for its 20 s
    results: list[CliResult] = []
    waiting = threading.Thread(
        target=lambda: results.append(show(proxy.url, trace_id, "--wait", "--timeout", "20")), daemon=True
    )
    started = time.monotonic()
    waiting.start()
    while proxy.count(GET) == 0 and time.monotonic() - started < 10:
        time.sleep(0.01)
    proxy.stop()  # as `local serve` stopping would: nothing takes the connection any more
    waiting.join(15)
    # Not a passing failure: the command says so now instead of polling a dead endpoint for 20 s.
    (result,) = results
    one_clear_line(result, ExitCode.UNREACHABLE, "Could not connect")
    assert time.monotonic() - started < 10


def test_a_trace_not_yet_found_when_the_polls_began_failing_ends_with_the_failure(proxy: FaultProxy) -> None:
    proxy.script(GET, passing())  # X-Ray answers: not there yet
    proxy.always(GET, throttle())
    result = show(proxy.url, fresh_trace_id(), "--wait", "--timeout", "1.5")
    # Whether X-Ray has the trace by now is not known: the throttle is the answer, not "not found".
    one_clear_line(result, ExitCode.THROTTLED, "BatchGetTraces", "ThrottledException")
    assert result.stdout == ""
    assert proxy.count(GET) > 1 + ATTEMPTS


# ------------------------------------------------------------------------------------ trace summaries


@pytest.mark.parametrize(
    "fault", [throttle(), server_error(503), slow(SLOW), drop()], ids=["throttle", "503", "slow", "drop"]
)
def test_a_summary_that_fails_leaves_the_tree_with_a_warning(
    proxy: FaultProxy, baseline: dict[str, Any], fault: Fault
) -> None:
    proxy.always(SUMMARIES, fault)
    result = show(proxy.url, OK_TRACE, "--no-wait")
    assert result.exit_code == 0, result.stderr
    (trace,) = result.json()["traces"]
    assert trace["roots"] == baseline["traces"][0]["roots"] and trace["summary"] is None
    assert "no trace summary" in result.stderr
    assert proxy.count(SUMMARIES) == ATTEMPTS and proxy.count(GET) == 1


def list_annotations(endpoint: str, env: Mapping[str, str] | None = None) -> CliResult:
    """list-annotations over the minutes of the recent copy of the demo documents (epoch seconds)."""
    start = min(doc["start_time"] for doc in RECENT)
    window = ["--start", f"{start - 600:.0f}", "--end", f"{start + 600:.0f}"]
    return xrayctl(endpoint, "-o", "json", "list-annotations", *window, env=env)


@pytest.fixture(scope="module")
def listed(upstream: XRayApiServer) -> dict[str, Any]:
    result = list_annotations(upstream.url)
    assert result.exit_code == 0, result.stderr
    assert {row["trace_id"] for row in result.json()["traces"]} == {d["trace_id"] for d in RECENT}
    return result.json()


@pytest.mark.parametrize(
    "fault",
    [throttle(), server_error(500), slow(SLOW), drop(), reset_mid_body()],
    ids=["throttled", "500", "slow", "drop", "reset"],
)
def test_list_annotations_retries_a_passing_fault_to_the_right_rows(
    proxy: FaultProxy, listed: dict[str, Any], fault: Fault
) -> None:
    proxy.script(SUMMARIES, fault)
    result = list_annotations(proxy.url)
    assert result.exit_code == 0, result.stderr
    assert result.json() == listed
    assert proxy.count(SUMMARIES) == 2


@pytest.mark.parametrize(
    ("fault", "code", "words"),
    [
        (throttle(), ExitCode.THROTTLED, ["GetTraceSummaries", "ThrottledException", "shorter time window"]),
        (server_error(503), ExitCode.UNREACHABLE, ["GetTraceSummaries", "503"]),
        (slow(SLOW), ExitCode.UNREACHABLE, ["Timed out", "/TraceSummaries"]),
        (reset_mid_body(), ExitCode.UNREACHABLE, ["closed the connection", "/TraceSummaries"]),
    ],
    ids=["throttled", "503", "slow", "reset"],
)
def test_list_annotations_ends_on_a_lasting_fault_with_its_exit_code(
    proxy: FaultProxy, fault: Fault, code: ExitCode, words: list[str]
) -> None:
    proxy.always(SUMMARIES, fault)
    result = list_annotations(proxy.url)
    one_clear_line(result, code, *words)
    assert result.stdout == ""
    assert proxy.count(SUMMARIES) == ATTEMPTS


def test_a_fault_on_a_later_page_loses_and_repeats_no_row(store: TraceStore, listed: dict[str, Any]) -> None:
    api = XRayApiServer(store, page_size=1).start()  # the three traces come in three pages
    try:
        with FaultProxy(api.url) as proxy:
            proxy.script(SUMMARIES, passing(), reset_mid_body(), passing(), throttle())
            # Pages are read concurrently: both faults may fall on one call, which three attempts outlast.
            result = list_annotations(proxy.url, env={"AWS_MAX_ATTEMPTS": "3"})
    finally:
        api.stop()
    assert result.exit_code == 0, result.stderr
    assert result.json() == listed
    met = [seen.fault for seen in proxy.requests if seen.fault != "pass"]
    assert sorted(met) == ["error", "reset"]
    # Pages and (for a dense window) the reader's finer slices, each fault retried once: a bounded number.
    assert proxy.count(SUMMARIES) <= 40


def test_the_proxy_passes_requests_untouched(proxy: FaultProxy, baseline: dict[str, Any]) -> None:
    # The faults above are the proxy's only effect: with none scripted it is the API itself.
    result = show(proxy.url, OK_TRACE, "--wait")
    assert result.exit_code == 0, result.stderr
    assert result.json() == baseline
    assert proxy.count(GET) == 1 and proxy.count(SUMMARIES) == 1


# ----------------------------------------------------------------------------------------- invoke's wait


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The local stack, reached as if it were AWS (endpoints by environment, not --local), so that the
    X-Ray calls can go through a proxy while Invoke runs the real function."""
    with LocalStack(tmp_path_factory.mktemp("stack")) as running:
        yield running


def invoke(stack: LocalStack, lambda_url: str, xray_url: str) -> CliResult:
    return xrayctl(
        xray_url,
        "-o",
        "json",
        "invoke",
        "--function",
        stack.function_name,
        "--bucket",
        stack.bucket,
        "--timeout",
        "15",
        env={"AWS_ENDPOINT_URL_LAMBDA": lambda_url},
    )


def test_invoke_waits_through_faults_to_the_whole_trace(stack: LocalStack) -> None:
    with FaultProxy(stack.endpoints["xray"]) as proxy:
        # A throttle, a dropped connection and a reset, each retried into "not there yet": the wait goes on.
        proxy.script(GET, throttle(), unprocessed(), drop(), unprocessed(), reset_mid_body(), unprocessed())
        result = invoke(stack, stack.endpoints["lambda"], proxy.url)
    assert result.exit_code == 0, result.stderr
    (invocation,) = result.json()["invocations"]
    (trace,) = result.json()["traces"]
    assert invocation["status_code"] == 200 and invocation["payload_json"]["ok"] is True
    assert trace["trace_id"] == invocation["trace_id"] and not trace["in_progress"]
    (root,) = trace["roots"]
    assert root["origin"] == "AWS::Lambda" and trace["warnings"] == []
    names = [node["name"] for node in walk(root)]
    assert {"Invocation", "put_object", "get_object"} <= set(names)
    assert 7 <= proxy.count(GET) <= 40


def test_invoke_is_never_retried_even_on_a_dropped_connection(stack: LocalStack) -> None:
    with FaultProxy(stack.endpoints["lambda"]) as proxy:
        proxy.always(INVOKE_PATH.format(stack.function_name), drop())
        result = invoke(stack, proxy.url, stack.endpoints["xray"])
    one_clear_line(result, ExitCode.UNREACHABLE, "closed the connection")
    assert len(proxy.requests) == 1  # running the function twice could write to S3 twice


def test_a_bad_read_timeout_stops_invoke_before_the_function_runs(stack: LocalStack) -> None:
    with FaultProxy(stack.endpoints["lambda"]) as proxy:
        result = xrayctl(
            stack.endpoints["xray"],
            "invoke",
            "--function",
            stack.function_name,
            env={"AWS_ENDPOINT_URL_LAMBDA": proxy.url, "XRAYCTL_READ_TIMEOUT": "-1"},
        )
    one_clear_line(result, ExitCode.CONFIG, "XRAYCTL_READ_TIMEOUT")
    assert proxy.requests == []


def walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current["children"])
