"""`browse` driven headless by Textual's Pilot through every screen and key, on real traces.

The traces are the demo function's, as the local stack stores them (its SDK's UDP documents and the Lambda
segments around them): two invocations that put and get an object (`put_object  put_response=200`), one whose
put failed with a 404 and a stack. Each test plays what a person does and reads the screen as drawn.
"""

from __future__ import annotations

import copy
import os
import re
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from tests.support.tui import OK, batch, demo_traces, drive, screen_text, settle, traces_of, type_at_once
from tests.unit.local.test_xray_api import demo_documents
from xrayctl.trace.model import Trace
from xrayctl.tui.app import BrowseApp, HelpScreen, make_app
from xrayctl.tui.listscreen import TraceListScreen
from xrayctl.tui.source import FileSource
from xrayctl.tui.tracescreen import TraceScreen
from xrayctl.tui.treeview import TreeView

FAILED = "1-6b04c914-c05b7aa443a4ff42f3feb14e"  # its PutObject got a 404


def app_of(traces: list[Trace] | None = None, name: str = "demo.json") -> BrowseApp:
    source = FileSource(traces if traces is not None else demo_traces(), name=name)
    return make_app(source, source.first(), limit=1000)


class FilterableFile(FileSource):
    """A file's traces with the filter box shown (as over X-Ray), to drive the box's keys."""

    filterable = True


def live_like_app() -> BrowseApp:
    source = FilterableFile(demo_traces(), name="demo.json")
    return make_app(source, source.first(), limit=1000)


def table(pilot: Pilot[Any]) -> DataTable[Any]:
    return pilot.app.screen.query_one(DataTable)


def tree(pilot: Pilot[Any]) -> TreeView:
    return pilot.app.screen.query_one(TreeView)


async def open_trace(pilot: Pilot[Any], trace_id: str) -> None:
    rows = table(pilot)
    rows.move_cursor(row=rows.get_row_index(trace_id))
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, TraceScreen)


async def cursor_to(pilot: Pilot[Any], name: str) -> None:
    view = tree(pilot)
    await pilot.press("home")
    for _ in range(len(view.visible_nodes)):
        if view.node is not None and view.node.name == name:
            return
        await pilot.press("j")
    raise AssertionError(f"no node {name} on the screen")


def test_the_list_shows_each_trace_with_start_duration_status_entry_and_annotations() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        text = screen_text(pilot.app)
        for header in (
            "start",
            "duration",
            "response",
            "status",
            "HTTP",
            "entry point",
            "put_response",
        ):
            assert header in text
        assert "3 traces" in text
        assert "3 traces on 2026-11-23 (UTC)" in text  # one day: its date in the title, each start its time
        assert (
            len(re.findall(r"^ *1-6b04c914-[0-9a-f]{8}… +23:15:32 .*s3-demo \(AWS::Lambda\)", text, re.M))
            == 3
        )
        assert re.search(r"OK +200 +s3-demo \(AWS::Lambda\) +200 +200", text)

    drive(app_of(), scenario)


def test_enter_opens_the_trace_with_put_object_and_its_annotation_and_q_goes_back_then_quits() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await open_trace(pilot, OK)
        text = screen_text(pilot.app)
        assert f"Trace {OK}" in text
        assert "put_object  put_response=200" in text
        assert "S3 PutObject" in text and "ms" in text
        await pilot.press("q")
        assert isinstance(pilot.app.screen, TraceListScreen)
        await open_trace(pilot, OK)
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, TraceListScreen)
        assert pilot.app.return_code is None
        await pilot.press("q")
        await pilot.pause()
        assert pilot.app.return_code == 0

    drive(app_of(), scenario)


def test_left_folds_a_subtree_right_unfolds_it_and_a_click_on_the_gutter_toggles_it() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await open_trace(pilot, OK)
        await cursor_to(pilot, "Invocation")
        await pilot.press("left")
        await pilot.pause()
        text = screen_text(pilot.app)
        assert "▸" in text and "put_object" not in text.split("────")[0]
        assert [node.name for node in tree(pilot).visible_nodes] == [
            "s3-demo",
            "s3-demo",
            "Invocation",
            "Overhead",
        ]
        await pilot.press("right")
        await pilot.pause()
        assert "put_object  put_response=200" in screen_text(pilot.app)
        # The gutter of the Invocation line (row 1 is the axis): a click folds it.
        view = tree(pilot)
        row = view.visible_nodes.index(view.node) + 1
        await pilot.click(TreeView, offset=(0, row))
        await pilot.pause()
        assert "put_object" not in [node.name for node in view.visible_nodes]
        await pilot.press("enter")
        await pilot.pause()
        assert "put_object" in [node.name for node in view.visible_nodes]

    drive(app_of(), scenario)


def test_minus_folds_everything_to_the_roots_and_plus_unfolds_it() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await open_trace(pilot, OK)
        await pilot.press("minus")
        await pilot.pause()
        assert [node.name for node in tree(pilot).visible_nodes] == ["s3-demo"]
        await pilot.press("plus")
        await pilot.pause()
        assert len(tree(pilot).visible_nodes) == 10

    drive(app_of(), scenario)


def test_the_detail_pane_shows_the_selected_nodes_annotations_and_d_hides_it() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await open_trace(pilot, OK)
        await cursor_to(pilot, "put_object")
        await pilot.pause()
        details = screen_text(pilot.app).split("────")[-1]
        assert "put_object  subsegment" in details
        assert "annotations" in details and "put_response = 200" in details
        await pilot.press("d")
        await pilot.pause()
        assert "put_response = 200" not in screen_text(pilot.app)
        await pilot.press("d")
        await pilot.pause()
        assert "put_response = 200" in screen_text(pilot.app)

    drive(app_of(), scenario)


def test_the_detail_pane_shows_an_exception_with_its_stack() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await open_trace(pilot, FAILED)
        await pilot.press("e")
        await pilot.pause()
        node = tree(pilot).node
        assert node is not None and node.exceptions
        details = screen_text(pilot.app).split("────")[-1]
        exception = node.exceptions[0]
        assert f"✗ {exception.type}: " in details
        assert exception.stack and f"at {exception.stack[0]}"[:60] in details

    drive(app_of(), scenario, size=(160, 50))


def test_g_and_shift_g_go_to_the_first_and_the_last_trace_of_the_list() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("G")
        assert table(pilot).cursor_row == table(pilot).row_count - 1 > 0
        await pilot.press("g")
        assert table(pilot).cursor_row == 0

    drive(app_of(), scenario)


def test_slash_searches_names_enter_goes_to_the_first_match_and_n_to_the_next() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await open_trace(pilot, OK)
        await pilot.press("slash")
        await pilot.press(*"_obj")
        await pilot.pause()
        assert "2 matches for _obj" in screen_text(pilot.app)
        await pilot.press("enter")
        await pilot.pause()
        assert tree(pilot).node is not None and tree(pilot).node.name == "put_object"  # type: ignore[union-attr]
        await pilot.press("n")
        assert tree(pilot).node.name == "get_object"  # type: ignore[union-attr]
        await pilot.pause()
        assert "2 of 2 matches for _obj" in screen_text(pilot.app)  # which one, as n goes round
        await pilot.press("n")
        assert tree(pilot).node.name == "put_object"  # type: ignore[union-attr]
        await pilot.pause()
        assert "1 of 2 matches for _obj" in screen_text(pilot.app)
        await pilot.press("N")
        assert tree(pilot).node.name == "get_object"  # type: ignore[union-attr]

    drive(app_of(), scenario)


def test_keys_typed_at_once_after_slash_are_the_query_not_commands() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await open_trace(pilot, OK)
        await type_at_once(pilot, "/get_obj")  # `e` and `s` are commands in the tree, letters in the query
        await pilot.press("enter")
        await pilot.pause()
        assert tree(pilot).node is not None and tree(pilot).node.name == "get_object"  # type: ignore[union-attr]

    drive(app_of(), scenario)


def test_keys_typed_at_once_after_f_in_the_list_are_the_filter_not_commands() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        # `s` sorts, `r` refreshes and `q` quits in the list; typed after `f`, they are the expression's.
        await type_at_once(pilot, "fsrq")
        await pilot.pause()
        assert pilot.app.return_code is None
        assert pilot.app.screen.query_one("#filter", Input).value == "srq"
        assert pilot.app.screen.model.sort_column == "start"  # type: ignore[attr-defined]
        await pilot.press("escape")
        assert pilot.app.screen.query_one("#filter", Input).value == ""
        await pilot.press("s")  # the table has the keys again
        assert pilot.app.screen.model.sort_column == "duration"  # type: ignore[attr-defined]

    drive(live_like_app(), scenario)


def test_search_unfolds_the_subtree_that_hides_the_match() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await open_trace(pilot, OK)
        await pilot.press("minus", "slash", *"get_obj", "enter")
        await pilot.pause()
        view = tree(pilot)
        assert view.node is not None and view.node.name == "get_object"
        assert view.node in view.visible_nodes

    drive(app_of(), scenario)


def test_e_goes_to_the_error_and_s_to_the_slowest_node_of_its_own() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await open_trace(pilot, FAILED)
        await pilot.press("e")
        node = tree(pilot).node
        assert node is not None and node.status != "ok"
        await pilot.press("s")
        slowest = tree(pilot).node
        assert slowest is not None
        own = [n.self_time if n.children else n.duration for n in tree(pilot).trace.walk()]
        assert (slowest.self_time if slowest.children else slowest.duration) == max(t for t in own if t)
        await pilot.press("s")
        assert tree(pilot).node is not slowest

    drive(app_of(), scenario)


def test_s_at_once_on_opening_goes_to_the_slowest_then_down_the_ranking() -> None:
    def own(node: Any) -> float:
        return (node.self_time if node.children else node.duration) or 0.0

    async def scenario(pilot: Pilot[Any]) -> None:
        await open_trace(pilot, OK)  # the cursor on the root
        ranking = sorted((own(n) for n in tree(pilot).trace.walk()), reverse=True)
        seen = []
        for _ in range(3):
            await pilot.press("s")
            node = tree(pilot).node
            assert node is not None
            seen.append(own(node))
        assert seen == ranking[:3]

    drive(app_of(), scenario)


def test_c_shows_the_critical_path_column_and_hides_it_again() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await open_trace(pilot, OK)
        assert "critical" not in screen_text(pilot.app).split("────")[0]
        await pilot.press("c")
        await pilot.pause()
        text = screen_text(pilot.app).split("────")[0]
        assert "critical" in text and "◆" in text
        assert "critical " in screen_text(pilot.app).split("────")[-1]  # the root's time on the path
        await pilot.press("c")
        await pilot.pause()
        assert "◆" not in screen_text(pilot.app).split("────")[0]

    drive(app_of(), scenario)


def test_y_copies_the_trace_id_in_the_list_and_in_the_trace() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        rows = table(pilot)
        rows.move_cursor(row=rows.get_row_index(FAILED))
        await pilot.press("y")
        assert pilot.app.clipboard == FAILED
        await open_trace(pilot, OK)
        await pilot.press("y")
        assert pilot.app.clipboard == OK

    drive(app_of(), scenario)


def test_question_mark_shows_the_keys_and_escape_closes_them() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(pilot.app.screen, HelpScreen)
        text = screen_text(pilot.app)
        assert "open the trace" in text and "fold or unfold" in text
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, TraceListScreen)
        await open_trace(pilot, OK)
        await pilot.press("question_mark", "q")
        assert isinstance(pilot.app.screen, TraceScreen)

    drive(app_of(), scenario)


def test_the_help_at_60_columns_wraps_a_description_under_itself_not_under_the_keys() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("question_mark")
        await pilot.pause()
        lines = screen_text(pilot.app).splitlines()
        [at, *_] = [i for i, line in enumerate(lines) if line.rstrip(" │").endswith("copy the trace id")]
        assert "(OSC 52" in lines[at + 1]
        column = lines[at].index("copy the trace id")
        follow = lines[at + 1]
        # The description goes on on the next line, from its own column; the keys' column is blank there.
        assert follow[column - 1] == " " and follow[column] != " " and not follow[4:column].strip("│ ")

    drive(app_of(), scenario, size=(60, 40))


def test_a_header_click_sorts_by_that_column_and_a_second_click_reverses() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        by_duration = sorted(demo_traces(), key=lambda trace: trace.duration or 0.0)
        header = next(line for line in screen_text(pilot.app).splitlines() if "trace id" in line)
        duration = (header.index("duration") - 1, 0)  # its header, wherever the columns before put it
        await pilot.click(DataTable, offset=duration)
        await pilot.pause()
        order = [row.key.value for row in table(pilot).ordered_rows]
        assert order == [trace.id for trace in reversed(by_duration)]
        assert "duration ▼" in screen_text(pilot.app)
        await pilot.click(DataTable, offset=duration)
        await pilot.pause()
        assert [row.key.value for row in table(pilot).ordered_rows] == [trace.id for trace in by_duration]
        await pilot.press("s")  # the next column: response
        await pilot.pause()
        assert "response ▼" in screen_text(pilot.app)

    drive(app_of(), scenario)


def linked_traces() -> list[Trace]:
    """The demo's traces, the OK one's function segment linking to the failed one (as an SQS consumer's
    trace links to its producer's)."""
    documents = copy.deepcopy(demo_documents())
    function = next(
        d for d in documents if d["trace_id"] == OK and d.get("origin") == "AWS::Lambda::Function"
    )
    function["links"] = [{"trace_id": FAILED, "id": "0000000000000abc", "attributes": {}}]
    return traces_of(batch(documents))


def test_o_opens_the_trace_a_span_link_names_and_escape_comes_back() -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await open_trace(pilot, OK)
        await pilot.press("o")  # the root segment has no link
        assert isinstance(pilot.app.screen, TraceScreen) and pilot.app.screen.trace_id == OK
        await pilot.press("j")
        await pilot.pause()
        assert f"→ {FAILED}" in screen_text(pilot.app).split("────")[-1]
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(pilot.app.screen, TraceScreen) and pilot.app.screen.trace_id == FAILED
        assert f"Trace {FAILED}" in screen_text(pilot.app)
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, TraceScreen) and pilot.app.screen.trace_id == OK

    drive(app_of(linked_traces()), scenario)


@pytest.mark.parametrize("size", [(60, 24), (120, 40), (240, 60)])
def test_every_line_fits_the_terminal_from_60_columns_to_very_wide(size: tuple[int, int]) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await open_trace(pilot, OK)
        await cursor_to(pilot, "put_object")
        await pilot.pause()
        text = screen_text(pilot.app)
        assert all(len(line) <= size[0] for line in text.splitlines())
        assert "put_object" in text
        wide = pilot.app.screen.has_class("wide")
        assert wide == (size[0] >= 150)
        if size[0] >= 120:
            assert "█" in text  # the timeline
        await pilot.resize_terminal(70, 30)
        await pilot.pause()
        assert all(len(line) <= 70 for line in screen_text(pilot.app).splitlines())
        assert not pilot.app.screen.has_class("wide")

    drive(app_of(), scenario, size=size)


def test_no_color_makes_a_monochrome_app_and_leaves_the_environment_as_it_was() -> None:
    had = os.environ.pop("NO_COLOR", None)
    try:
        source = FileSource(demo_traces(), name="demo.json")
        assert make_app(source, source.first(), limit=10, no_color=True).no_color is True
        assert "NO_COLOR" not in os.environ
        assert make_app(source, source.first(), limit=10).no_color is False
    finally:
        if had is not None:
            os.environ["NO_COLOR"] = had
