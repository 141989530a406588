"""Hostile text in `browse`: a saved trace whose every field holds rich markup, ANSI and OSC sequences, C0 and
C1 controls, BiDi overrides, zero-width characters and 100,000-character lines (the corpus of
tests/cli/test_hostile_text.py), walked node by node through the list, the tree, the header, the detail pane
and the search. Textual parses markup in plain strings: what it draws must hold the markup as text, and no
character from the data that a terminal would act on."""

from __future__ import annotations

import re
from typing import Any

from textual.pilot import Pilot

from tests.cli.test_hostile_text import MARKUP, assert_inert, hostile_segment, saved_batch
from tests.support.tui import drive, screen_text, settle
from xrayctl.trace.formats import load_traces
from xrayctl.tui.app import make_app
from xrayctl.tui.source import FileSource
from xrayctl.tui.tracescreen import TraceScreen
from xrayctl.tui.treeview import TreeView


def test_hostile_text_is_shown_as_text_in_the_list_tree_header_details_and_search() -> None:
    traces = load_traces(saved_batch(hostile_segment()), source="hostile.json")
    source = FileSource(traces, name="hostile.json")
    app = make_app(source, source.first(), limit=10)
    seen: list[str] = []

    async def scenario(pilot: Pilot[Any]) -> None:
        listed = screen_text(pilot.app)
        seen.append(listed)
        assert MARKUP[:30] in listed  # the entry point: its name, markup and all, as text
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, TraceScreen)
        view = pilot.app.screen.query_one(TreeView)
        for _ in view.visible_nodes:
            await pilot.pause()
            seen.append(screen_text(pilot.app))
            await pilot.press("j")
        await pilot.press("home", "d")
        await pilot.pause()
        await pilot.press("slash", *"[bold", "enter")
        await pilot.pause()
        seen.append(screen_text(pilot.app))

    drive(app, scenario, size=(200, 60))
    everything = "\n".join(seen)
    assert "[bold red]MARKUP[/bold red]" in everything
    assert "[link=https://evil.example]click[/link]" in everything
    assert "\\x1b[2J" in everything and "\\u202e" in everything  # escapes made visible
    for screen in seen:
        assert_inert(screen)


def test_markup_that_parses_is_shown_as_written() -> None:
    # The corpus above holds a closing tag that closes nothing: a markup parser would refuse the whole
    # string and show it as text anyway. Markup that parses must be shown as written too.
    markup = "[bold red]MARKUP[/bold red] [link=https://evil.example]click[/link]"
    traces = load_traces(saved_batch(hostile_segment(text=markup, long="x")), source="markup.json")
    source = FileSource(traces, name="markup.json")
    app = make_app(source, source.first(), limit=10)
    screens: list[str] = []

    async def scenario(pilot: Pilot[Any]) -> None:
        screens.append(screen_text(pilot.app))
        await pilot.press("enter")
        await settle(pilot)
        await pilot.pause()
        screens.append(screen_text(pilot.app))

    drive(app, scenario, size=(200, 60))
    listed, opened = screens
    assert re.search(r"FAULT +500  \[bold red\]MARKUP\[/bold red\] \[link=", listed)  # the entry point
    assert "▾ [bold red]MARKUP[/bold red] [link=https://" in opened  # the tree's root
    assert f"{markup}  segment" in opened  # the details' title
