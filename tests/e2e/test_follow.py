"""`tail` and `browse` on the real local stack: a `local serve`, the function invoked through it (the runtime
client, the X-Ray SDK over UDP, moto's S3), and the traces followed as X-Ray (the local one) completes them.

- `xrayctl --local tail -o json`, started before three invocations, prints three lines: their trace ids.
- `browse`'s live list, open while three invocations are made, lists them without a key press, and Enter
  opens one with `put_object  put_response=200`.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from tests.support.serve import XRAYCTL, Serve, run, serve_env
from tests.support.tui import drive, screen_text, settle
from xrayctl.aws.backend import connect
from xrayctl.aws.clients import AwsOptions
from xrayctl.local.options import FunctionOptions, StackOptions
from xrayctl.tui.app import make_app
from xrayctl.tui.source import LiveSource
from xrayctl.tui.tracescreen import TraceScreen

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    server = Serve(tmp_path_factory.mktemp("follow-home"))
    yield server
    server.stop()


def invoke(serve: Serve, count: int) -> list[str]:
    result = run(serve.home, "--local", "invoke", "--count", str(count), "--no-show", "-o", "json")
    assert result.returncode == 0, result.stderr
    return [invocation["trace_id"] for invocation in json.loads(result.stdout)["invocations"]]


def test_tail_json_started_before_three_invocations_prints_three_lines_with_their_trace_ids(
    serve: Serve,
) -> None:
    process = subprocess.Popen(
        [*XRAYCTL, "--local", "tail", "-o", "json", "--count", "3"],
        env=serve_env(serve.home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)  # tail has started: what it prints is what comes after
    ids = invoke(serve, 3)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    lines = stdout.splitlines()
    assert len(lines) == 3
    assert sorted(json.loads(line)["trace_id"] for line in lines) == sorted(ids)


def test_the_live_list_shows_invocations_made_while_it_is_open_and_opens_one(serve: Serve) -> None:
    home = serve.home
    with connect(AwsOptions(), local=StackOptions(FunctionOptions()), home=home) as backend:
        now = datetime.now(timezone.utc)
        source = LiveSource(
            backend.reader(),
            start=now,
            end=None,
            since=None,
            filter_expression=None,
            settle_time=backend.settle_time,
            local=True,
            label="local stack",
        )
        app = make_app(source, source.first(), limit=1000)
        invoked: list[str] = []

        async def scenario(pilot: Pilot[Any]) -> None:
            table = pilot.app.screen.query_one(DataTable)
            before = {str(row.key.value) for row in table.ordered_rows}  # the tail test's, if still there
            worker = threading.Thread(target=lambda: invoked.extend(invoke(serve, 3)))
            worker.start()
            deadline = time.monotonic() + 60
            while table.row_count < len(before) + 3 or worker.is_alive():
                assert time.monotonic() < deadline, screen_text(pilot.app)
                await settle(pilot, 0.2)
            listed = {str(row.key.value) for row in table.ordered_rows}
            assert listed == before | set(invoked) and len(invoked) == 3
            table.move_cursor(row=table.get_row_index(invoked[-1]))
            await pilot.press("enter")
            await settle(pilot, 0.5)
            assert isinstance(pilot.app.screen, TraceScreen)
            deadline = time.monotonic() + 20
            while "put_object  put_response=200" not in screen_text(pilot.app):
                assert time.monotonic() < deadline, screen_text(pilot.app)
                await settle(pilot, 0.2)

        drive(app, scenario)


def test_browse_needs_a_terminal_and_says_so_before_the_app_opens(serve: Serve) -> None:
    completed = subprocess.run(
        [*XRAYCTL, "--local", "browse"],
        env=serve_env(serve.home),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.startswith("xrayctl: browse needs a terminal")
