"""End to end: the local stack switched to Transaction Search with the AWS CLI, as a user switches an account.

One `xrayctl local serve`; the AWS CLI turns Transaction Search on (`update-trace-segment-destination`,
PENDING then ACTIVE) with 0 % indexing (`update-indexing-rule`). Then, as in such an account: `xrayctl --local
invoke` still draws the complete tree and `show-trace -o json` returns it (both through trace retrievals),
while `aws xray batch-get-traces` finds nothing and no trace summary is made; `aws xray start-trace-retrieval`
and `list-retrieved-traces` read the trace by hand. The mode stays with the store: a command's own stack,
after serve has stopped, reads the same way; and `local serve --transaction-search` starts with it on.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.serve import Serve, run, serve_env

pytestmark = pytest.mark.e2e


def aws(serve: Serve, *args: str) -> Any:
    """The AWS CLI (v1, the dev extra's) pointed at the serve by the environment it printed."""
    completed = subprocess.run(
        [sys.executable, "-m", "awscli", "xray", *args, "--output", "json"],
        env={**serve_env(serve.home), **serve.env, "AWS_PAGER": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout) if completed.stdout.strip() else {}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xrayctl-home")


@pytest.fixture(scope="module")
def serve(home: Path) -> Iterator[Serve]:
    server = Serve(home)
    changed = aws(server, "update-trace-segment-destination", "--destination", "CloudWatchLogs")
    assert (changed["Destination"], changed["Status"]) == ("CloudWatchLogs", "PENDING")
    deadline = time.monotonic() + 30
    while aws(server, "get-trace-segment-destination")["Status"] != "ACTIVE":
        assert time.monotonic() < deadline, "the destination never became ACTIVE"
        time.sleep(0.2)
    rule = {"Probabilistic": {"DesiredSamplingPercentage": 0}}
    aws(server, "update-indexing-rule", "--name", "Default", "--rule", json.dumps(rule))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def invoked(serve: Serve) -> tuple[str, str]:
    """`xrayctl --local invoke` as typed: its trace id and what it drew."""
    result = run(serve.home, "--local", "invoke", "--key", "search.txt")
    assert result.returncode == 0, result.stderr
    trace_id = next(
        line.split()[1] for line in result.stdout.splitlines() if line.strip().startswith("trace ")
    )
    return trace_id, result.stdout


def test_invoke_draws_the_complete_tree_through_retrievals(invoked: tuple[str, str]) -> None:
    trace_id, drawn = invoked
    assert f"Trace {trace_id}  OK" in drawn
    for node in (
        "AWS::Lambda::Function",
        "Invocation",
        "put_object",
        "get_object",
        "S3 (inferred)",
        "Overhead",
    ):
        assert node in drawn


def test_show_trace_returns_it_and_batch_get_traces_finds_nothing(
    serve: Serve, invoked: tuple[str, str]
) -> None:
    trace_id, _ = invoked
    result = run(serve.home, "--local", "-o", "json", "show-trace", trace_id)
    assert result.returncode == 0, result.stderr
    (trace,) = json.loads(result.stdout)["traces"]
    assert trace["trace_id"] == trace_id and not trace["in_progress"] and trace["node_count"] >= 10
    assert trace["summary"] is None  # 0 % indexing: no summary was made
    assert aws(serve, "batch-get-traces", "--trace-ids", trace_id)["Traces"] == []
    summaries = aws(
        serve,
        "get-trace-summaries",
        "--start-time",
        str(int(time.time()) - 600),
        "--end-time",
        str(int(time.time())),
    )
    assert summaries["TraceSummaries"] == []


def test_the_aws_cli_retrieves_it_by_hand(serve: Serve, invoked: tuple[str, str]) -> None:
    trace_id, _ = invoked
    now = int(time.time())
    token = aws(
        serve,
        "start-trace-retrieval",
        "--trace-ids",
        trace_id,
        "--start-time",
        str(now - 600),
        "--end-time",
        str(now + 1),
    )["RetrievalToken"]
    deadline = time.monotonic() + 30
    while (listed := aws(serve, "list-retrieved-traces", "--retrieval-token", token))[
        "RetrievalStatus"
    ] != "COMPLETE":
        assert listed["Traces"] == [] and time.monotonic() < deadline
        time.sleep(0.1)
    assert [trace["Id"] for trace in listed["Traces"]] == [trace_id]
    assert (
        aws(serve, "get-retrieved-traces-graph", "--retrieval-token", token)["RetrievalStatus"] == "COMPLETE"
    )


def test_a_trace_no_retrieval_finds_is_not_found_when_the_wait_ends(serve: Serve) -> None:
    """Retrievals complete empty (a trace recorded before Transaction Search was on, or none at all): at
    --timeout the answer is not found (3), the window searched said once, not a retrieval still SCHEDULED
    (9); and ids past retention or from the future get the answers they get without Transaction Search."""
    recent = f"1-{int(time.time()) - 400:08x}-0123456789abcdef01234567"
    result = run(serve.home, "--local", "show-trace", recent, "--timeout", "2")
    assert result.returncode == 3, result.stderr
    assert "SCHEDULED" not in result.stderr
    assert result.stderr.count(" from ") == 1 and " UTC. " in result.stderr
    old, future = "1-00000000-0123456789abcdef01234567", "1-ffffffff-0123456789abcdef01234567"
    result = run(serve.home, "--local", "show-trace", old, future)
    assert result.returncode == 3, result.stderr
    assert f"X-Ray keeps traces 30 days and {old} is older" in result.stderr
    assert f"{future}'s timestamp (2106-02-07 06:28:15 UTC) is in the future" in result.stderr
    assert "1969" not in result.stderr and "StartTraceRetrieval" not in result.stderr


def test_the_mode_stays_with_the_store_after_serve_stops(
    home: Path, serve: Serve, invoked: tuple[str, str]
) -> None:
    trace_id, _ = invoked
    serve.stop()
    # No serve now: the command starts a stack of its own on the same store, in the same mode.
    result = run(home, "--local", "-o", "json", "show-trace", trace_id)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["traces"][0]["trace_id"] == trace_id


def test_serve_with_transaction_search_starts_with_it_on(tmp_path: Path) -> None:
    server = Serve(tmp_path, "--transaction-search")
    try:
        assert aws(server, "get-trace-segment-destination") == {
            "Destination": "CloudWatchLogs",
            "Status": "ACTIVE",
        }
    finally:
        server.stop()
    assert "Transaction Search on" in server.stderr
