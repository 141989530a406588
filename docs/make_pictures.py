"""`make docs`: the README's pictures, drawn by xrayctl itself, so that they show what it really draws.

Each picture is a command run as a user runs it, with `--export FILE --width 120` (SVG, rich's recording
console: the same text and escaping as on a terminal):

- lambda-critical-path.svg: `show-trace --critical-path` of the real Lambda trace in tests/fixtures;
- invoke-trace.svg, compare.svg, service-map.svg: three invocations of the function on the local stack
  (`invoke --count 3`, the first a cold start), the cold one's trace with its critical path, the three
  compared, and the map of their services (GetTraceGraph of their ids);
- browse-list.svg, browse-trace.svg: `browse` on those three invocations, its list and the last one's
  trace with put_object selected: the app itself (built as the command builds it, on the same stack),
  driven by Textual's Pilot and saved by Textual's own screenshot (`App.save_screenshot`).

The local stack runs in a folder of its own (XRAYCTL_HOME), started and stopped by the commands, so your
store is not touched and the first invocation is cold. Trace ids and times change from run to run; what the
pictures show does not.

Run: .venv/bin/python docs/make_pictures.py   (or `make docs`)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PICTURES = ROOT / "docs" / "pictures"
XRAYCTL = str(Path(sys.executable).parent / "xrayctl")
WIDTH = "120"
LAMBDA_FIXTURE = ROOT / "tests" / "fixtures" / "xray-real" / "traces" / "iatk-lambda-traceWithLinks01.json"


def xrayctl(home: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "XRAYCTL_"))}
    env.update({"XRAYCTL_HOME": str(home), "NO_COLOR": "", "COLUMNS": WIDTH})
    completed = subprocess.run([XRAYCTL, *args], env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"xrayctl {' '.join(args)} exited {completed.returncode}:\n{completed.stderr}")
    print(completed.stderr.strip(), file=sys.stderr)
    return completed.stdout


def main() -> None:
    PICTURES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xrayctl-docs-") as folder:
        home = Path(folder)
        export = ["--width", WIDTH, "--export"]
        xrayctl(
            home,
            "show-trace",
            "--input",
            str(LAMBDA_FIXTURE),
            "--critical-path",
            *export,
            str(PICTURES / "lambda-critical-path.svg"),
        )
        invoked = json.loads(xrayctl(home, "--local", "invoke", "--count", "3", "-o", "json"))
        ids = [invocation["trace_id"] for invocation in invoked["invocations"]]
        xrayctl(
            home,
            "--local",
            "show-trace",
            ids[0],
            "--critical-path",
            *export,
            str(PICTURES / "invoke-trace.svg"),
        )
        xrayctl(home, "--local", "compare", *ids, *export, str(PICTURES / "compare.svg"))
        xrayctl(home, "--local", "service-map", *ids, *export, str(PICTURES / "service-map.svg"))
        browse_pictures(home, ids[-1])


def browse_pictures(home: Path, trace_id: str) -> None:
    """browse-list.svg and browse-trace.svg (see the module's docstring)."""
    import asyncio
    from datetime import datetime, timedelta, timezone

    from textual.widgets import DataTable

    from xrayctl.aws.backend import connect
    from xrayctl.aws.clients import AwsOptions
    from xrayctl.local.options import FunctionOptions, StackOptions
    from xrayctl.tui.app import make_app
    from xrayctl.tui.source import LiveSource
    from xrayctl.tui.tracescreen import TraceScreen
    from xrayctl.tui.treeview import TreeView

    os.environ.pop("NO_COLOR", None)
    with connect(AwsOptions(), local=StackOptions(FunctionOptions()), home=home) as backend:
        source = LiveSource(
            backend.reader(),
            start=datetime.now(timezone.utc) - timedelta(minutes=15),
            end=None,
            since=timedelta(minutes=15),
            filter_expression=None,
            settle_time=backend.settle_time,
            local=True,
            label="local stack",
        )
        app = make_app(source, source.first(), limit=1000)

        async def drive() -> None:
            # 130 columns: every column of the demo's list, its two annotations included, without scrolling.
            async with app.run_test(size=(130, 34)) as pilot:
                await pilot.pause(0.5)
                app.save_screenshot("browse-list.svg", str(PICTURES))
                table = app.screen.query_one(DataTable)
                table.move_cursor(row=table.get_row_index(trace_id))
                await pilot.press("enter")
                screen = app.screen
                assert isinstance(screen, TraceScreen)
                while not (screen.complete and screen.query(TreeView)):
                    await pilot.pause(0.1)
                tree = screen.query_one(TreeView)
                while tree.node is not None and tree.node.name != "put_object":
                    await pilot.press("j")
                await pilot.pause(0.3)
                app.save_screenshot("browse-trace.svg", str(PICTURES))

        asyncio.run(drive())


if __name__ == "__main__":
    main()
