"""`tail` and `browse` through the real CLI, against the local X-Ray API over a real store, reached as AWS is
(AWS_ENDPOINT_URL_XRAY, dummy credentials): traces are put into the store while `tail` runs, as the daemon
stores what the SDK sends.

`tail` must print each trace once, when complete (show-trace --wait's rule), one JSON object a line with -o
json, one line or a tree in text; a first poll that fails is the documented exit code, a later one a warning
while it polls on; Ctrl-C is exit 130. `browse` refuses what it cannot do (JSON, no terminal, a filter on a
file) with exit 2, before Textual is imported.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import CliResult, run_cli
from tests.support.faultproxy import FaultProxy, passing, throttle
from tests.support.tui import FAILED, OK, OTHER, fresh, of_trace, put, restamp
from tests.unit.local.test_xray_api import demo_documents
from xrayctl.errors import ExitCode
from xrayctl.local.xray.api import XRayApiServer
from xrayctl.local.xray.store import TraceStore

pytestmark = pytest.mark.timeout(60)


def env_for(url: str) -> dict[str, str | None]:
    return {"AWS_ENDPOINT_URL_XRAY": url, "AWS_MAX_ATTEMPTS": "1", "XRAYCTL_READ_TIMEOUT": "5"}


def tail(url: str, *args: str, meanwhile: Callable[[], None] | None = None) -> CliResult:
    """`xrayctl tail ARGS` in-process; `meanwhile` runs on a thread once it has started."""
    if meanwhile is not None:
        threading.Timer(0.5, meanwhile).start()
    return run_cli(["tail", *args], env=env_for(url))


def test_tail_json_started_before_three_traces_prints_three_lines_with_their_ids(
    store: TraceStore, api: XRayApiServer
) -> None:
    ids: list[str] = []

    def three_invocations() -> None:
        for trace_id in (OK, OTHER, FAILED):
            now = time.time()
            put(store, of_trace(trace_id, now))
            ids.append(restamp(trace_id, now))
            time.sleep(0.3)

    result = tail(api.url, "-o", "json", "--count", "3", meanwhile=three_invocations)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    traces = [json.loads(line) for line in lines]
    assert sorted(trace["trace_id"] for trace in traces) == sorted(ids)
    for trace in traces:
        assert trace["in_progress"] is False and trace["roots"] and trace["node_count"] >= 7
        assert trace["summary"]["Id"] == trace["trace_id"]


def test_tail_prints_a_trace_once_though_x_ray_revises_it_after(
    store: TraceStore, api: XRayApiServer
) -> None:
    ids: list[str] = []

    def revise_then_another() -> None:
        now = time.time()  # after tail started: these traces are new to it
        first = of_trace(OK, now)
        put(store, first)
        ids.append(restamp(OK, now))
        time.sleep(2.5)  # printed by now
        late = {**first[0], "id": "00000000000000ff", "name": "late"}  # a subsegment that comes later
        late.pop("subsegments", None)
        put(store, [late])
        time.sleep(1.5)
        now = time.time()
        put(store, of_trace(OTHER, now))
        ids.append(restamp(OTHER, now))

    result = tail(api.url, "-o", "json", "--count", "2", meanwhile=revise_then_another)
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["trace_id"] for line in result.stdout.splitlines()] == ids


def test_tail_waits_while_a_node_is_in_progress_and_prints_the_trace_complete(
    store: TraceStore, api: XRayApiServer
) -> None:
    now = time.time()
    documents = of_trace(OK, now)
    service = next(d for d in documents if d.get("origin") == "AWS::Lambda")
    open_service = {key: value for key, value in service.items() if key != "end_time"}
    open_service["in_progress"] = True
    put(store, [d for d in documents if d is not service] + [open_service])

    def complete_it() -> None:
        time.sleep(2.5)
        put(store, [service])

    result = tail(api.url, "--since", "5m", "-o", "json", "--count", "1", meanwhile=complete_it)
    assert result.exit_code == 0, result.stderr
    (trace,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert trace["in_progress"] is False
    assert trace["roots"][0]["end_time"] == pytest.approx(service["end_time"])


def test_tail_text_is_one_line_a_trace_with_start_duration_status_entry_id_and_annotations(
    store: TraceStore, api: XRayApiServer
) -> None:
    now = time.time()
    put(store, of_trace(OK, now))
    result = tail(api.url, "--since", "5m", "--count", "1")
    assert result.exit_code == 0, result.stderr
    (line,) = result.stdout.splitlines()
    fields = line.split()
    assert fields[0].count("-") == 2 and fields[1].count(":") == 2  # 2026-12-06 08:21:16.123
    assert fields[3] == "ms" and fields[4] == "OK"
    assert "s3-demo (AWS::Lambda)" in line and restamp(OK, now) in line
    assert "put_response=200" in line and "get_response=200" in line


def test_tail_tree_draws_each_trace_as_show_trace_does(store: TraceStore, api: XRayApiServer) -> None:
    now = time.time()
    put(store, of_trace(OK, now))
    result = tail(api.url, "--since", "5m", "--count", "1", "--tree")
    assert result.exit_code == 0, result.stderr
    assert f"Trace {restamp(OK, now)}" in result.stdout
    assert "put_object  put_response=200" in result.stdout and "S3 PutObject" in result.stdout


def test_tail_with_a_filter_prints_only_the_traces_it_matches(store: TraceStore, api: XRayApiServer) -> None:
    now = time.time()
    put(store, fresh(demo_documents(), now))
    result = tail(api.url, "--since", "5m", "--status", "fault", "-o", "json", "--count", "1")
    assert result.exit_code == 0, result.stderr
    (trace,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert trace["trace_id"] == restamp(FAILED, now)


def test_a_filter_x_ray_rejects_ends_tail_with_exit_2(api: XRayApiServer) -> None:
    result = tail(api.url, "--filter", "annotation.x = = 1")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith("xrayctl: ") and len(result.stderr.splitlines()) == 1


def test_a_first_poll_throttled_ends_tail_with_exit_6(api: XRayApiServer) -> None:
    with FaultProxy(api.url) as proxy:
        proxy.always("GetTraceSummaries", throttle())
        result = tail(proxy.url)
    assert result.exit_code == ExitCode.THROTTLED
    assert len(result.stderr.splitlines()) == 1


def test_a_later_poll_throttled_is_a_warning_and_tail_polls_on(store: TraceStore, api: XRayApiServer) -> None:
    with FaultProxy(api.url) as proxy:
        proxy.script("GetTraceSummaries", passing(), throttle(), throttle("ThrottlingException"))
        result = tail(
            proxy.url, "-o", "json", "--count", "1", meanwhile=lambda: put(store, of_trace(OK, time.time()))
        )
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    warnings = [line for line in result.stderr.splitlines() if "polling again in" in line]
    assert len(warnings) == 2


def test_ctrl_c_stops_tail_with_exit_130(api: XRayApiServer, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "XRAYCTL_"))}
    env.update(
        AWS_ENDPOINT_URL_XRAY=api.url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1",
        XRAYCTL_HOME=str(tmp_path),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "xrayctl", "tail"], env=env, stderr=subprocess.PIPE, text=True
    )
    time.sleep(3)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == ExitCode.INTERRUPTED, stderr
    assert stderr.strip().splitlines()[-1] == "xrayctl: interrupted."


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["-o", "json", "browse"], "no JSON output"),
        (["browse"], "needs a terminal"),
        (["browse", "--input", "-"], "reads its keys from standard input"),
        (["browse", "--input", __file__, "--status", "fault"], "--input reads a file"),
    ],
)
def test_browse_refuses_what_it_cannot_do_with_exit_2(args: list[str], says: str) -> None:
    result = run_cli(args)
    assert result.exit_code == ExitCode.USAGE
    assert says in result.stderr and len(result.stderr.splitlines()) == 1


def test_no_command_but_browse_imports_textual() -> None:
    script = (
        "import sys\n"
        "from xrayctl.cli import COMMANDS, main\n"
        "import importlib\n"
        "for target in COMMANDS.values():\n"
        "    importlib.import_module(target.partition(':')[0])\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "assert 'textual' not in sys.modules, 'textual imported'\n"
        "import xrayctl.cli.follow_cmds, xrayctl.tui.source, xrayctl.aws.follow\n"
        "assert 'textual' not in sys.modules, 'textual imported by tail or the sources'\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
