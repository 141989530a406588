"""One trace: the header `show-trace` prints, the tree with its timeline, and the selected node's details.

The trace is read on a worker thread until it is complete (the rule of `show-trace --wait`): while X-Ray is
still receiving it, a line says so and the tree is redrawn as more of it arrives. Span links open the linked
trace on a screen of its own; Esc or q comes back.
"""

from __future__ import annotations

import contextlib
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from xrayctl.errors import XrayctlError
from xrayctl.render.format import DIM, WARNING_STYLE
from xrayctl.render.header import header_view
from xrayctl.render.nodedetail import linked_trace_ids, node_detail
from xrayctl.text.sanitize import clean
from xrayctl.trace.model import Trace
from xrayctl.tui.messages import error_line, failure_text
from xrayctl.tui.source import Source, Watch
from xrayctl.tui.treeview import TreeView

WIDE = 150  # columns from which the details stand beside the tree rather than under it


class TraceScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "back"),
        Binding("slash", "search", "search"),
        Binding("d", "details", "details"),
        Binding("o", "open_link", "open link"),
        Binding("y", "copy_id", "copy id"),
    ]
    DEFAULT_CSS = """
    TraceScreen {
        #header { height: auto; padding: 0 1; }
        #waiting { height: auto; padding: 0 1; }
        #body { height: 1fr; }
        #detail { height: 40%; border-top: solid $primary; padding: 0 1; }
        #detail.hidden { display: none; }
        #search { dock: bottom; display: none; }
        #search.open { display: block; }
        #status { height: auto; padding: 0 1; }
        &.wide #body { layout: horizontal; }
        &.wide #detail { height: 1fr; width: 45%; border-top: none; border-left: solid $primary; }
    }
    """

    def __init__(self, source: Source, trace_id: str) -> None:
        super().__init__()
        self.source = source
        self.trace_id = trace_id
        self.trace: Trace | None = None
        self.complete = False
        self._pace = source.trace_pace()
        self._polls = 0
        self._watch: Watch | None = None
        self._searched = ""  # the text searched for last, for the status line

    def compose(self) -> ComposeResult:
        yield Static(Text.assemble(("Trace ", DIM), clean(self.trace_id, 100)), id="header")
        yield Static(Text(f"reading {clean(self.trace_id, 100)}…", DIM), id="waiting")
        with Container(id="body"):
            yield Static(Text(""), id="placeholder")
            with VerticalScroll(id="detail"):
                yield Static(Text(""), id="detail-text")
        yield Input(placeholder="search names: Enter goes to the first, n / N to the others", id="search")
        yield Static(Text(""), id="status")
        yield Footer()

    def on_mount(self) -> None:
        self._apply_width(self.app.size.width)
        self._read()

    def on_resize(self) -> None:
        self._apply_width(self.app.size.width)

    def _apply_width(self, width: int) -> None:
        self.set_class(width >= WIDE, "wide")

    # --------------------------------------------------------------------------------------- reading

    @work(thread=True, exclusive=True, group="trace")
    def _read(self) -> None:
        try:
            if self._watch is None:  # one watch for the screen: it remembers what each poll showed
                self._watch = self.source.watch(self.trace_id)
            watch = self._watch
            trace, complete = watch.poll()
        except XrayctlError as exc:
            self._from_thread(self._failed, failure_text(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a worker's failure becomes a line, not a crash
            self._from_thread(self._failed, failure_text(exc))
            return
        self._from_thread(self._loaded, trace, complete, watch.polls)

    def _from_thread(self, callback: object, *args: object) -> None:
        with contextlib.suppress(RuntimeError):  # the app has closed meanwhile
            self.app.call_from_thread(callback, *args)  # type: ignore[arg-type]

    def _loaded(self, trace: Trace | None, complete: bool, polls: int) -> None:
        self._polls += 1
        self._status(None)
        if trace is not None:
            first = self.trace is None
            self.trace, self.complete = trace, complete
            self.query_one("#header", Static).update(header_view(trace))
            if first:
                self._mount_tree(trace)
            else:
                self.query_one(TreeView).set_trace(trace)
                self._show_detail()
        waiting = self.query_one("#waiting", Static)
        if complete:
            waiting.update(Text(""))
            waiting.display = False
            return
        waiting.display = True
        if trace is None:
            why = "not found yet: X-Ray may still be ingesting it"
        elif trace.in_progress:
            why = "X-Ray is still receiving this trace: a node is in progress"
        else:
            why = "X-Ray is still receiving this trace: waiting until it stops changing"
        times = f"read {self._polls} time{'s' if self._polls != 1 else ''}"
        waiting.update(Text(f"⏳ {why} ({times})", WARNING_STYLE))
        self.set_timer(self._pace.after(news=trace is not None), self._read)

    def _failed(self, message: str) -> None:
        self._status(message)
        self.set_timer(self._pace.after_failure(), self._read)

    def _mount_tree(self, trace: Trace) -> None:
        body = self.query_one("#body", Container)
        self.query_one("#placeholder", Static).remove()
        tree = TreeView(trace, id="tree")
        tree.opens_with, tree.opener = ("slash",), self._open_search
        body.mount(tree, before=0)
        tree.focus()
        self._show_detail()

    def _status(self, message: str | None) -> None:
        self.query_one("#status", Static).update(error_line(message) if message else Text(""))

    # ------------------------------------------------------------------------------------- the details

    def on_tree_view_highlighted(self, event: TreeView.Highlighted) -> None:
        self._show_detail()
        self._show_matches()

    def _show_detail(self) -> None:
        if self.trace is None:
            return
        trees = self.query(TreeView)
        if not trees:
            return
        tree = trees.first()
        node = tree.node
        text = self.query_one("#detail-text", Static)
        if node is None:
            text.update(Text("(no segments)", DIM))
            return
        text.update(node_detail(tree.trace, node, critical=tree.critical))
        self.query_one("#detail", VerticalScroll).scroll_home(animate=False)

    def action_details(self) -> None:
        self.query_one("#detail").toggle_class("hidden")

    # ------------------------------------------------------------------------------------------ search

    def action_search(self) -> None:
        self._open_search()

    def _open_search(self) -> Input:
        search = self.query_one("#search", Input)
        search.add_class("open")
        search.display = True
        self.set_focus(search)
        return search

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "search" or not self.query(TreeView):
            return
        self.query_one(TreeView).search(event.value)
        self._searched = event.value
        self._status(None)
        self._show_matches()

    def _show_matches(self) -> None:
        """`3 matches for S3`, and which one the cursor is on (`2 of 3 matches`) as n and N go round."""
        if not self._searched or not self.query(TreeView):
            return
        tree = self.query_one(TreeView)
        found, number = len(tree.matches), tree.match_number()
        counted = f"{found} match{'es' if found != 1 else ''}"
        shown = Text(f"{number} of {counted} for " if number is not None else f"{counted} for ", DIM)
        shown.append(clean(self._searched, 200))
        self.query_one("#status", Static).update(shown)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "search":
            return
        self._close_search()
        if self.query(TreeView) and not self.query_one(TreeView).first_match() and event.value:
            self.app.bell()

    def _close_search(self) -> None:
        search = self.query_one("#search", Input)
        search.remove_class("open")
        search.display = False
        if self.query(TreeView):
            tree = self.query_one(TreeView)
            tree.keys_to = None
            self.set_focus(tree)

    # -------------------------------------------------------------------------------------------- keys

    def action_back(self) -> None:
        if self.query_one("#search", Input).has_class("open"):
            self._close_search()
            return
        self.app.pop_screen()

    def action_open_link(self) -> None:
        from xrayctl.trace.ids import normalize_trace_id

        node = self.query_one(TreeView).node if self.query(TreeView) else None
        ids = linked_trace_ids(node) if node is not None else []
        if not ids:
            self.notify("this node has no span link to another trace", markup=False)
            return
        try:
            linked = normalize_trace_id(ids[0])
        except XrayctlError as exc:
            self._status(failure_text(exc))
            return
        self.app.push_screen(TraceScreen(self.source, linked))

    def action_copy_id(self) -> None:
        self.app.copy_to_clipboard(self.trace_id)
        self.notify(
            f"copied {clean(self.trace_id, 100)} (through the terminal: OSC 52)", markup=False, timeout=3
        )
