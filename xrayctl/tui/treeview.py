"""The trace's tree with its timeline, as `show-trace` draws it, scrolled, folded and searched in place.

Each line is `render/tree.py`'s own (`TraceTree.layout`): the same guides, labels, marks, bars and durations,
and with the critical path on, the same column. A gutter of two cells before it shows whether a node is folded
(`▸`) or open (`▾`). The line above the rows is the timeline's axis, and stays put while the rows scroll.

Only the lines on screen are drawn (Textual's line API): a key press on a 10,000-node trace draws a screenful.
The lines are laid out once per width; folding only changes which of them are shown, found by skipping each
folded node's subtree (`_ends`: the line after each node's last descendant), so it costs the lines shown.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.events import Click, Resize
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from xrayctl.render.tree import TraceTree, TreeLayout
from xrayctl.trace.critical import CriticalPath, critical_path
from xrayctl.trace.model import Node, Trace
from xrayctl.tui.keys import HandsOnKeys

GUTTER = 2
FOLDED, OPEN, LEAF = "▸ ", "▾ ", "  "


class TreeView(ScrollView, HandsOnKeys, can_focus=True):
    """The tree of one trace; posts `Highlighted` when the cursor moves to another node."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "up", show=False),
        Binding("down,j", "move(1)", "down", show=False),
        Binding("pageup,ctrl+b", "page(-1)", "page up", show=False),
        Binding("pagedown,ctrl+f", "page(1)", "page down", show=False),
        Binding("home,g", "first", "first", show=False),
        Binding("end,G", "last", "last", show=False),
        Binding("left,h", "fold", "fold", show=False),
        Binding("right,l", "unfold", "unfold", show=False),
        Binding("enter,space", "toggle_fold", "fold/unfold"),
        Binding("minus", "fold_all", "fold all", show=False),
        Binding("plus,equals_sign", "unfold_all", "unfold all", show=False),
        Binding("s", "slowest", "slowest"),
        Binding("e", "error(1)", "next error"),
        Binding("E", "error(-1)", "previous error", show=False),
        Binding("c", "critical", "critical path"),
        Binding("n", "match(1)", "next match", show=False),
        Binding("N", "match(-1)", "previous match", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"treeview--cursor", "treeview--match"}
    DEFAULT_CSS = """
    TreeView {
        height: 1fr;
        /* The scrollbar's column stays reserved: a fold that makes the tree fit would otherwise widen
           it by a column, and a new width is a new layout of every line. */
        scrollbar-gutter: stable;
        background: $surface;
        color: $foreground;
        & > .treeview--cursor {
            background: $block-cursor-blurred-background;
            text-style: bold;
        }
        &:focus > .treeview--cursor {
            background: $block-cursor-background;
            text-style: bold;
        }
        & > .treeview--match {
            text-style: bold underline;
        }
    }
    """

    class Highlighted(Message):
        """The cursor is on another node."""

        def __init__(self, view: TreeView, node: Node) -> None:
            super().__init__()
            self.view = view
            self.node = node

    def __init__(self, trace: Trace, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.trace = trace
        self.critical: CriticalPath | None = None
        self._critical_path: CriticalPath | None = None  # computed once, when first asked for
        self._layout: TreeLayout | None = None
        self._parts: dict[Node, Any] = {}  # each node's parts of a line, kept from one layout to the next
        self._width = -1
        self._all: list[Node] = []
        self._index: dict[Node, int] = {}
        self._ends: list[int] = []
        self._parents: list[int] = []  # the lines of nodes with children
        self.folded: set[int] = set()
        self._visible: list[int] = []
        self.cursor = 0  # the line (of all the nodes', in display order) the cursor is on
        self.matches: list[int] = []
        self._match_set: set[int] = set()
        self._slowest: list[int] | None = None
        self._slowest_rank: int | None = None  # where in `_slowest` the last `s` went
        self._errors: list[int] | None = None
        self._place(trace)

    # -------------------------------------------------------------------------------------------- the data

    def _place(self, trace: Trace) -> None:
        """Number the nodes in display order and find where each one's subtree ends (no recursion)."""
        self._all = list(trace.walk())
        self._index = {node: index for index, node in enumerate(self._all)}
        ends = [0] * len(self._all)
        for index in range(len(self._all) - 1, -1, -1):
            children = self._all[index].children
            ends[index] = ends[self._index[children[-1]]] if children else index + 1
        self._ends = ends
        self._parents = [index for index, node in enumerate(self._all) if node.children]
        self._show()

    def set_trace(self, trace: Trace) -> None:
        """Show a newer state of the same trace (X-Ray received more of it): the cursor and the folds stay
        on the same nodes, by id."""
        current = self.node.id if self.node is not None else None
        folded_ids = {self._all[index].id for index in self.folded if index < len(self._all)}
        self.trace = trace
        self._critical_path = None
        self.critical = critical_path(trace) if self.critical is not None else None
        self._slowest = self._errors = None
        self._slowest_rank = None
        self._parts = {}
        self._place(trace)
        self.folded = {index for index, node in enumerate(self._all) if node.id in folded_ids}
        self.cursor = next((i for i, node in enumerate(self._all) if node.id == current), 0)
        self._relayout(force=True)

    @property
    def node(self) -> Node | None:
        return self._all[self.cursor] if self._all else None

    @property
    def visible_nodes(self) -> list[Node]:
        """The nodes shown (not inside a folded subtree), in display order."""
        return [self._all[index] for index in self._visible]

    def _show(self) -> None:
        """Which lines are shown: every line but those inside a folded node's subtree."""
        visible = []
        index, count = 0, len(self._all)
        while index < count:
            visible.append(index)
            index = self._ends[index] if index in self.folded else index + 1
        self._visible = visible
        self.virtual_size = Size(max(self._width, 0) + GUTTER, len(visible) + 1)

    def _relayout(self, *, force: bool = False) -> None:
        width = self.scrollable_content_region.width - GUTTER
        if width == self._width and not force and self._layout is not None:
            return
        self._width = width
        tree = TraceTree(self.trace, critical=self.critical)
        self._layout = tree.layout(max(width, 1), self._parts)
        self._show()
        self.refresh()

    # ------------------------------------------------------------------------------------------ drawing

    def on_resize(self, event: Resize) -> None:
        self._relayout()
        self._keep_cursor_visible()

    def render_line(self, y: int) -> Strip:
        if self._layout is None or self._width != self.scrollable_content_region.width - GUTTER:
            self._relayout()
        layout = self._layout
        assert layout is not None
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            axis = Segment.apply_style([Segment(" " * GUTTER), *layout.axis()], base)
            return Strip(axis).adjust_cell_length(width, base)
        position = int(self.scroll_offset.y) + y - 1
        if position >= len(self._visible):
            return Strip.blank(width, base)
        line = self._visible[position]
        node = self._all[line]
        mark = LEAF if not node.children else FOLDED if line in self.folded else OPEN
        segments = [Segment(mark, Style(dim=True)), *layout.row(line)]
        post: Style | None = None
        if line == self.cursor:
            post = self.get_component_rich_style("treeview--cursor", partial=True)
        elif line in self._match_set:
            post = self.get_component_rich_style("treeview--match", partial=True)
        styled = Segment.apply_style(segments, base, post)
        return Strip(styled).adjust_cell_length(width, base)

    def on_click(self, event: Click) -> None:
        position = int(self.scroll_offset.y) + event.y - 1
        if event.y < 1 or position >= len(self._visible):
            return
        self._move_to(self._visible[position])
        if event.x < GUTTER:
            self.action_toggle_fold()

    # -------------------------------------------------------------------------------------- the cursor

    def _position(self) -> int:
        """Where the cursor's line is among the lines shown."""
        return bisect.bisect_left(self._visible, self.cursor)

    def _move_to(self, line: int) -> None:
        if not self._all:
            return
        line = max(0, min(line, len(self._all) - 1))
        self._unfold_above(line)
        self.cursor = line
        self._keep_cursor_visible()
        self.refresh()
        self.post_message(self.Highlighted(self, self._all[line]))

    def _keep_cursor_visible(self) -> None:
        height = self.scrollable_content_region.height - 1  # rows under the axis
        if height <= 0:
            return
        position = self._position()
        top = int(self.scroll_offset.y)
        if position < top:
            self.scroll_to(y=position, animate=False, immediate=True)
        elif position >= top + height:
            self.scroll_to(y=position - height + 1, animate=False, immediate=True)

    def _unfold_above(self, line: int) -> None:
        """Unfold every ancestor of `line`, so that the line is shown."""
        parent = self._all[line].parent
        changed = False
        while parent is not None:
            index = self._index.get(parent)
            if index is not None and index in self.folded:
                self.folded.discard(index)
                changed = True
            parent = parent.parent
        if changed:
            self._show()

    def action_move(self, step: int) -> None:
        if not self._visible:
            return
        position = max(0, min(self._position() + step, len(self._visible) - 1))
        self._move_to(self._visible[position])

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(1, self.scrollable_content_region.height - 2))

    def action_first(self) -> None:
        self._move_to(0)

    def action_last(self) -> None:
        if self._visible:
            self._move_to(self._visible[-1])

    # ------------------------------------------------------------------------------------------- folding

    def fold(self, line: int, folded: bool) -> None:
        if not self._all[line].children:
            return
        if folded:
            self.folded.add(line)
        else:
            self.folded.discard(line)
        self._show()
        self._keep_cursor_visible()
        self.refresh()

    def action_toggle_fold(self) -> None:
        if self._all:
            self.fold(self.cursor, self.cursor not in self.folded)

    def action_fold(self) -> None:
        """Fold the node; on a leaf or a folded node, go to its parent (as in a file manager's tree)."""
        node = self.node
        if node is None:
            return
        if node.children and self.cursor not in self.folded:
            self.fold(self.cursor, True)
        elif node.parent is not None and node.parent in self._index:
            self._move_to(self._index[node.parent])

    def action_unfold(self) -> None:
        """Unfold the node; on an open node, go to its first child."""
        node = self.node
        if node is None or not node.children:
            return
        if self.cursor in self.folded:
            self.fold(self.cursor, False)
        else:
            self._move_to(self.cursor + 1)

    def action_fold_all(self) -> None:
        """Fold every node with children: the roots alone are shown."""
        self.folded = set(self._parents)
        self._show()
        root = self.cursor
        while self._all and self._all[root].parent is not None:
            root = self._index[self._all[root].parent]  # type: ignore[index]
        self._move_to(root)

    def action_unfold_all(self) -> None:
        self.folded = set()
        self._show()
        self._move_to(self.cursor)

    # --------------------------------------------------------------------------------------------- jumps

    def action_slowest(self) -> None:
        """To the node with the most time of its own (in it and in none of its children); again: the next."""
        if self._slowest is None:
            timed = [i for i, node in enumerate(self._all) if _own_time(node) is not None]
            self._slowest = sorted(timed, key=lambda i: -(_own_time(self._all[i]) or 0.0))
        if not self._slowest:
            self.app.bell()
            return
        # Again on the node the last `s` went to: the next one; from anywhere else: the slowest (a node the
        # cursor merely starts on, the root, is no place in the ranking to go on from).
        last = self._slowest_rank
        rank = last + 1 if last is not None and self._slowest[last] == self.cursor else 0
        self._slowest_rank = rank % len(self._slowest)
        self._move_to(self._slowest[self._slowest_rank])

    def action_error(self, step: int) -> None:
        """To the next (or previous) node with an error, a fault, a throttle or an exception."""
        if self._errors is None:
            self._errors = [i for i, node in enumerate(self._all) if node.status != "ok" or node.exceptions]
        if not self._move_along(self._errors, step):
            self.notify("no errors, faults or throttles in this trace", markup=False)

    def action_match(self, step: int) -> None:
        if not self._move_along(self.matches, step):
            self.app.bell()

    def _move_along(self, lines: list[int], step: int) -> bool:
        """To the next line of `lines` after the cursor (`step` 1) or before it (-1), going round."""
        if not lines:
            return False
        if step > 0:
            at = bisect.bisect_right(lines, self.cursor)
            target = lines[at % len(lines)]
        else:
            at = bisect.bisect_left(lines, self.cursor) - 1
            target = lines[at % len(lines)]
        self._move_to(target)
        return True

    def action_critical(self) -> None:
        """Show or hide the critical path's column."""
        if self.critical is None:
            if self._critical_path is None:
                self._critical_path = critical_path(self.trace)
            self.critical = self._critical_path
        else:
            self.critical = None
        self._relayout(force=True)
        if self.node is not None:
            self.post_message(self.Highlighted(self, self.node))  # the details say its time on the path

    def search(self, text: str) -> int:
        """Mark the nodes whose name, label or origin holds `text` (any case); the number marked."""
        needle = text.casefold()
        if not needle:
            self.matches = []
        else:
            self.matches = [i for i, node in enumerate(self._all) if _holds(node, needle)]
        self._match_set = set(self.matches)
        self.refresh()
        return len(self.matches)

    def match_number(self) -> int | None:
        """Which match the cursor is on, counted from 1 (None: not on one)."""
        at = bisect.bisect_left(self.matches, self.cursor)
        return at + 1 if at < len(self.matches) and self.matches[at] == self.cursor else None

    def first_match(self) -> bool:
        """To the first match at or after the cursor."""
        if not self.matches:
            return False
        at = bisect.bisect_left(self.matches, self.cursor)
        self._move_to(self.matches[at % len(self.matches)])
        return True

    def select(self, nodes: Iterable[Node]) -> None:
        """Put the cursor on the first of `nodes` that this tree holds."""
        for node in nodes:
            if node in self._index:
                self._move_to(self._index[node])
                return


def _own_time(node: Node) -> float | None:
    return node.self_time if node.children else node.duration


def _holds(node: Node, needle: str) -> bool:
    return any(needle in text.casefold() for text in (node.name, node.label, node.origin or "") if text)
