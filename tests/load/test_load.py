"""The local stack under load: 20 callers invoking the real function for 60 s through one `local serve`.

Each caller is a thread with its own boto3 Lambda client (no retries, so a lost call cannot hide behind a
retry) that sends an `X-Amzn-Trace-Id` it chose. Afterwards serve is stopped (its daemon drains into the store
and prints its counts), and every trace is read back through BatchGetTraces on the store serve left.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.serve import Serve, descendants, running
from xrayctl.local.xray.api import XRayApiServer
from xrayctl.local.xray.store import TraceStore

pytestmark = [pytest.mark.e2e, pytest.mark.load]

CALLERS = 20
DURATION = 60.0
# What every trace of the function must hold: Lambda's two segments, the function's subsegments, and the
# segment X-Ray infers for S3 from the SDK's calls.
ORIGINS = {"AWS::Lambda", "AWS::Lambda::Function", "AWS::S3::Bucket"}
SUBSEGMENTS = {"Invocation", "put_object", "get_object", "S3"}


@dataclass
class Call:
    trace_id: str
    caller: int
    payload: dict[str, Any] | None = None
    function_error: str | None = None
    answered_trace: str | None = None
    failure: str | None = None  # an exception instead of an answer


def caller(serve: Serve, number: int, until: float, calls: list[Call], lock: threading.Lock) -> None:
    client = serve.client("lambda", retries={"max_attempts": 1}, read_timeout=120, connect_timeout=10)
    sequence = 0
    while time.monotonic() < until:
        sequence += 1
        call = Call(f"1-{int(time.time()):08x}-{secrets.token_hex(12)}", number)
        header = f"Root={call.trace_id};Parent={secrets.token_hex(8)};Sampled=1"

        def add_header(request: Any, header: str = header, **_: Any) -> None:
            request.headers["X-Amzn-Trace-Id"] = header

        client.meta.events.register("before-sign.lambda.Invoke", add_header, unique_id="trace-header")
        try:
            event = {
                "bucket_key": f"load/{number}/{sequence}.txt",
                "body": f"caller {number} call {sequence}",
            }
            answer = client.invoke(FunctionName="xrayctl-demo", Payload=json.dumps(event))
            call.payload = json.loads(answer["Payload"].read())
            call.function_error = answer.get("FunctionError")
            call.answered_trace = answer["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-trace-id")
        except Exception as exc:  # noqa: BLE001 - every failure is a lost invocation, reported below
            call.failure = f"{type(exc).__name__}: {exc}"
        finally:
            client.meta.events.unregister("before-sign.lambda.Invoke", unique_id="trace-header")
        with lock:
            calls.append(call)
    client.close()


def names_and_origins(segments: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    names: set[str] = set()
    origins: set[str] = set()
    pending = list(segments)
    while pending:
        node = pending.pop()
        names.add(node["name"])
        if "origin" in node:
            origins.add(node["origin"])
        pending.extend(node.get("subsegments", []))
    return names, origins


def read_traces(store_path: Path, trace_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Trace id -> its stitched segments, through BatchGetTraces on an X-Ray API over the store serve left."""
    import boto3

    store = TraceStore(store_path)
    server = XRayApiServer(store).start()
    client = boto3.client(
        "xray",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    found: dict[str, list[dict[str, Any]]] = {}
    try:
        for offset in range(0, len(trace_ids), 5):
            for page in client.get_paginator("batch_get_traces").paginate(
                TraceIds=trace_ids[offset : offset + 5]
            ):
                for trace in page["Traces"]:
                    documents = [json.loads(segment["Document"]) for segment in trace["Segments"]]
                    found.setdefault(trace["Id"], []).extend(documents)
    finally:
        client.close()
        server.stop()
        store.close()
    return found


def test_twenty_callers_for_a_minute_lose_no_invocation_segment_or_trace(tmp_path: Path) -> None:
    home = tmp_path / "home"
    serve = Serve(home)
    calls: list[Call] = []
    lock = threading.Lock()
    try:
        until = time.monotonic() + DURATION
        threads = [
            threading.Thread(target=caller, args=(serve, n, until, calls, lock), name=f"caller-{n}")
            for n in range(CALLERS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sandboxes = descendants(serve.pid)
    finally:
        code = serve.stop()
    assert code == 0, serve.stderr

    # No lost invocation: every call got the function's own answer, on the trace it asked for.
    failed = [
        call for call in calls if call.failure or call.function_error or not (call.payload or {}).get("ok")
    ]
    assert not failed, f"{len(failed)} of {len(calls)} calls failed, the first: {failed[0]}"
    assert {call.caller for call in calls} == set(range(CALLERS))
    for call in calls:
        assert call.answered_trace is not None and call.answered_trace.startswith(f"Root={call.trace_id};")
        assert call.payload is not None and call.payload["round_trip_ok"] is True
    assert sandboxes, "serve ran no Lambda runtime"
    assert not any(running(pid) for pid in sandboxes), "a Lambda runtime outlived serve"

    # No lost segment: the function's four subsegments per call (put_object, get_object and their S3 calls)
    # were all received by the daemon and stored; none rejected, none dropped by the kernel.
    (line,) = [line for line in serve.stderr.splitlines() if line.startswith("daemon:")]
    match = re.fullmatch(r"daemon: received (\d+), stored (\d+), rejected (\d+)(.*)", line)
    assert match is not None, line
    assert (int(match[1]), int(match[2]), int(match[3]), match[4]) == (4 * len(calls), 4 * len(calls), 0, "")
    # One line per invocation, and nothing else: no warning about a segment Lambda could not store.
    assert all(
        line.startswith(("invoked ", "local stack running", "daemon:")) for line in serve.stderr.splitlines()
    )

    # Every trace complete, read back through BatchGetTraces.
    traces = read_traces(home / "traces.sqlite3", [call.trace_id for call in calls])
    assert sorted(traces) == sorted(call.trace_id for call in calls)
    incomplete = {}
    for trace_id, segments in traces.items():
        names, origins = names_and_origins(segments)
        if not (origins >= ORIGINS and names >= SUBSEGMENTS):
            incomplete[trace_id] = (sorted(ORIGINS - origins), sorted(SUBSEGMENTS - names))
    assert not incomplete, f"{len(incomplete)} incomplete traces, e.g. {next(iter(incomplete.items()))}"
    print(
        f"{len(calls)} invocations by {CALLERS} callers in {DURATION:.0f} s, {4 * len(calls)} segments stored"
    )
