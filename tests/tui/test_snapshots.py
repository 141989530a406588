"""How `browse` looks, held by SVG screenshots at fixed sizes (pytest-textual-snapshot): the list, a trace
with its details, folded, with the critical path, at 60 columns and very wide, the help, and a hostile
trace.

After a deliberate change to the look, rewrite them and read the report of what changed:

    .venv/bin/python -m pytest -q tests/tui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from tests.cli.test_hostile_text import hostile_segment, saved_batch
from tests.support.tui import OK, demo_traces, settle
from xrayctl.trace.formats import load_traces
from xrayctl.tui.app import BrowseApp, make_app
from xrayctl.tui.source import FileSource


def demo_app() -> BrowseApp:
    source = FileSource(demo_traces(), name="demo.json")
    return make_app(source, source.first(), limit=1000)


async def open_ok(pilot: Pilot[Any]) -> None:
    from textual.widgets import DataTable

    table = pilot.app.screen.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(OK))
    await pilot.press("enter")
    await settle(pilot)


def test_the_list(snap_compare: Any) -> None:
    assert snap_compare(demo_app(), terminal_size=(120, 30))


def test_a_trace_with_the_details_of_put_object(snap_compare: Any) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await open_ok(pilot)
        await pilot.press("j", "j", "j")
        await pilot.pause()

    assert snap_compare(demo_app(), terminal_size=(120, 40), run_before=before)


def test_a_trace_folded_with_its_critical_path(snap_compare: Any) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await open_ok(pilot)
        await pilot.press("j", "j", "j", "left", "c")
        await pilot.pause()

    assert snap_compare(demo_app(), terminal_size=(120, 40), run_before=before)


def test_a_trace_at_60_columns(snap_compare: Any) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await open_ok(pilot)
        await pilot.press("e")
        await pilot.pause()

    assert snap_compare(demo_app(), terminal_size=(60, 30), run_before=before)


def test_a_trace_very_wide_with_the_details_beside_it(snap_compare: Any) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await open_ok(pilot)
        await pilot.press("slash", *"get_obj", "enter")
        await pilot.pause()

    assert snap_compare(demo_app(), terminal_size=(220, 40), run_before=before)


def test_the_help(snap_compare: Any) -> None:
    assert snap_compare(demo_app(), terminal_size=(100, 40), press=["question_mark"])


def test_a_hostile_trace(snap_compare: Any) -> None:
    # A fixed time: the header and the id show it, and a snapshot must not change with the day it runs.
    segment = hostile_segment(long="L" * 300, start=float(0x6B04C851))
    traces = load_traces(saved_batch(segment), source="hostile.json")
    source = FileSource(traces, name="hostile.json")

    async def before(pilot: Pilot[Any]) -> None:
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("j")
        await pilot.pause()

    assert snap_compare(
        make_app(source, source.first(), limit=10), terminal_size=(140, 45), run_before=before
    )
