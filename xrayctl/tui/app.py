"""`xrayctl browse`: the Textual app, its help screen, and how the CLI runs it.

Importing this module imports Textual (a third of a second and more): only the `browse` command does, after
it has read the first list, so that a failure before the app opens is the CLI's one line and exit code.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from xrayctl.trace.rows import TraceRow
from xrayctl.tui.listscreen import TraceListScreen
from xrayctl.tui.source import Source

HELP = [
    ("The trace list", None),
    ("↑ ↓  j k  PgUp PgDn  g G", "move; g G: the first / the last trace"),
    ("Enter, click twice", "open the trace (a first click selects it)"),
    ("f  /", "edit the filter expression (X-Ray's syntax); Enter applies it, Esc leaves it"),
    ("s  S, click a header", "sort by the next column / reverse the order"),
    ("r", "refresh now (the list refreshes itself while the window ends now)"),
    ("y", "copy the trace id (OSC 52: the terminal must allow it; in tmux, set-clipboard on)"),
    ("q", "quit"),
    ("A trace", None),
    ("↑ ↓  j k  PgUp PgDn  g G", "move"),
    ("← h  → l", "fold, or go to the parent / unfold, or go to the first child"),
    ("Enter  Space, click ▸ ▾", "fold or unfold"),
    ("-  +", "fold all / unfold all"),
    ("s", "the slowest node (most time of its own); again: the next slowest"),
    ("e  E", "the next / previous error, fault or throttle"),
    ("c", "show or hide the critical path (the time each node adds to the trace)"),
    ("/  n  N", "search names; next / previous match"),
    ("d", "show or hide the details of the node"),
    ("o", "open the trace the node's span link names"),
    ("y", "copy the trace id"),
    ("Esc  q", "back to the list"),
    ("Anywhere", None),
    ("?", "this help"),
    ("Ctrl+C", "quit"),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", "close")]
    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        #help { width: 90%; max-width: 100; height: 90%; border: round $primary; padding: 0 1;
                background: $surface; }
    }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(_help_text())

    def action_close(self) -> None:
        self.dismiss()


def _help_text() -> Group:
    """The keys, a grid a section: a description that wraps stays in its column, under its first line."""
    parts: list[RenderableType] = []
    grid: Table | None = None
    for keys, what in HELP:
        if what is None:
            parts.append(Text(("\n" if parts else "") + keys, "bold"))
            grid = Table.grid(padding=(0, 2))
            grid.add_column(width=26, no_wrap=True, style="cyan")
            grid.add_column()
            parts.append(grid)
            continue
        assert grid is not None  # HELP opens with a section
        grid.add_row("  " + keys, what)
    parts.append(Text("\nEsc, q or ? closes this help.", "dim"))
    return Group(*parts)


class BrowseApp(App[None]):
    TITLE = "xrayctl browse"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "help"),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
    ]
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, source: Source, rows: list[TraceRow], *, limit: int, note: str | None = None) -> None:
        super().__init__()
        self.source = source
        self._rows = rows
        self._limit = limit
        self._note = note

    def on_mount(self) -> None:
        self.push_screen(TraceListScreen(self.source, self._rows, limit=self._limit, note=self._note))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())


@contextmanager
def _colour(no_color: bool) -> Iterator[None]:
    """NO_COLOR for the app's construction, where Textual reads it, when --no-color asked for it."""
    if not no_color or "NO_COLOR" in os.environ:
        yield
        return
    os.environ["NO_COLOR"] = "1"
    try:
        yield
    finally:
        os.environ.pop("NO_COLOR", None)


def make_app(
    source: Source, rows: list[TraceRow], *, limit: int, note: str | None = None, no_color: bool = False
) -> BrowseApp:
    with _colour(no_color):
        return BrowseApp(source, rows, limit=limit, note=note)


def run_browser(
    source: Source, rows: list[TraceRow], *, limit: int, note: str | None = None, no_color: bool = False
) -> None:
    """Run the app on this terminal until the user quits."""
    make_app(source, rows, limit=limit, note=note, no_color=no_color).run()
