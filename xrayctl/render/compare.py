"""Traces compared node by node (`xrayctl compare`, the end of `invoke --count N`), and its JSON.

Layout: a header naming each trace by a letter (A, B, ...), then the merged tree; a node takes one line per
trace that has it:

    guides name  origin  presence │ A │ bar on the common scale │ duration │ Δ vs A
                                  │ B │ ...

Every trace's bars are drawn from its own start on one scale (the longest trace), so lengths compare across
traces. Δ is the trace's duration of the node minus trace A's. A node missing from some traces says which
(`only in A`, `not in C`). Below 60 columns the timeline is dropped. Iterative, like the tree view.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from xrayctl.render.format import (
    DIM,
    STATUS_STYLES,
    Flow,
    cells,
    counted,
    fit,
    fit_text,
    fmt_duration,
    fmt_time,
    status_word,
)
from xrayctl.render.tree import BRANCH, LAST, NAME_STYLES, NARROW, PIPE, SPACE, _bar, _guides, _merged
from xrayctl.render.tree import _title as tree_title
from xrayctl.text.sanitize import clean
from xrayctl.trace.compare import Comparison, MergedNode, letter
from xrayctl.trace.model import Node

Part = tuple[str, Style | None]

LEFT_SHARE = 0.45
DURATION_WIDTH = 8
DELTA_WIDTH = 9
LETTER_WIDTH = 2
SLOWER = Style(color="red")
FASTER = Style(color="green")
COLD_STYLE = Style(color="cyan", bold=True)
PRESENCE_STYLE = Style(color="yellow")  # `only in A`: compared by identity, so it must be this object
LABEL_STYLE = Style(bold=True)


def comparison_view(comparison: Comparison, *, function: str | None = None) -> RenderableType:
    """The header (one line per trace) and the merged tree; `function`: the traces are its invocations'."""
    return Group(*_header(comparison, function), Text(""), ComparisonTree(comparison))


def _header(comparison: Comparison, function: str | None = None) -> Iterator[RenderableType]:
    """A title, then a line per trace (its fields flow onto a second line rather than split)."""
    count = len(comparison.traces)
    title = Text(f"Compare {count} traces", LABEL_STYLE)
    if function is not None:
        title.append(" of ")
        title.append(clean(function, 200), LABEL_STYLE)
    fields = [
        title,
        Text(f"one time scale: 0 to {fmt_duration(comparison.span)}", DIM),
        Text("Δ: each duration minus A's", DIM),
    ]
    yield Flow(fields, Text("  ·  ", DIM))
    for position, trace in enumerate(comparison.traces):
        status = _trace_status(comparison, position)
        fields = [
            Text(f"  {letter(position)}", LABEL_STYLE),
            Text(clean(trace.id, 100)),
            Text(fmt_time(trace.start_time), DIM),
            Text(fmt_duration(trace.duration).rjust(DURATION_WIDTH)),
            Text(status_word(status), STATUS_STYLES[status]),
            Text(counted(trace.node_count, "node"), DIM),
        ]
        if comparison.cold[position]:
            fields.append(Text("cold start", COLD_STYLE))
        yield Flow(fields, Text("  "), indent=cells(f"  {letter(position)}  "))  # the rest under the id


def _trace_status(comparison: Comparison, position: int) -> str:
    statuses = [root.status for root in comparison.traces[position].roots]
    for status in ("fault", "throttle", "error"):
        if status in statuses:
            return status
    return "ok"


class ComparisonTree:
    """The merged tree with a row per trace under each node."""

    def __init__(self, comparison: Comparison) -> None:
        self.comparison = comparison

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        if not self.comparison.roots:
            yield from fit([("(no segments)", DIM)], width)
            yield Segment.line()
            return
        right = 1 + LETTER_WIDTH + 1 + DURATION_WIDTH + 1 + DELTA_WIDTH
        narrow = width < NARROW
        left_max = max(width - right, 10) if narrow else int(width * LEFT_SHARE)
        guide_levels = max(2, left_max // 2 // 3)
        lines = list(_lines(self.comparison, guide_levels))
        left = min(left_max, max(sum(cells(text) for text, _ in line[0]) for line in lines))
        timeline = 0 if narrow else max(width - left - right - 1, 0)
        span = self.comparison.span
        if timeline and span is not None:
            yield Segment(" " * (left + 1 + LETTER_WIDTH + 1))
            end = fmt_duration(span)
            scale = "0" + fit_text(end, timeline - 1, align_right=True) if timeline > len(end) + 1 else ""
            yield Segment(fit_text(scale, timeline), DIM)
            yield Segment(
                " " + fit_text("", DURATION_WIDTH) + " " + fit_text("Δ vs A", DELTA_WIDTH, align_right=True),
                DIM,
            )
            yield Segment.line()
        # Without colour, a row's segments are merged as the tree view merges them: far less for rich to do.
        plain = console.color_system is None and not console.record
        new_line = Segment.line()
        for parts, position, node, delta in lines:
            row = _fit_keeping_presence(parts, left)
            row.append(Segment(" " + letter(position).ljust(LETTER_WIDTH), LABEL_STYLE))
            if timeline:
                trace = self.comparison.traces[position]
                before, bar, style, after = _bar(trace, node, timeline, span)
                row += [Segment(" " + before), Segment(bar, style), Segment(after)]
            duration = "running" if node.in_progress else fmt_duration(node.duration)
            row += [
                Segment(" " + fit_text(duration, DURATION_WIDTH, align_right=True) + " "),
                _delta(delta, position),
            ]
            yield from _merged(row) if plain else row
            yield new_line


def _delta(delta: float | None, position: int) -> Segment:
    if position == 0 or delta is None:
        return Segment(" " * DELTA_WIDTH)
    text = ("+" if delta > 0 else "") + fmt_duration(delta) if delta else "0"
    style = SLOWER if delta > 0 else FASTER if delta < 0 else DIM
    return Segment(fit_text(text, DELTA_WIDTH, align_right=True), style)


def _lines(comparison: Comparison, guide_levels: int) -> Iterator[tuple[list[Part], int, Node, float | None]]:
    """(left parts, trace position, that trace's node, its difference to A) for every row, in display order,
    from an explicit stack of (merged node, depth, lead, connector)."""
    window = guide_levels * len(PIPE)
    # Roots are drawn without a connector, as in show-trace.
    stack: list[tuple[MergedNode, int, str, str]] = [(root, 0, "", "") for root in reversed(comparison.roots)]
    count = len(comparison.traces)
    while stack:
        merged, depth, lead, connector = stack.pop()
        child_lead = (lead + (PIPE if connector == BRANCH else SPACE if connector == LAST else ""))[-window:]
        under = _guides(depth + 1, child_lead + (PIPE if merged.children else SPACE), window)
        title = _title(merged, count)
        differences = merged.differences
        first = True
        for position, node in enumerate(merged.nodes):
            if node is None:
                continue
            parts = [*_guides(depth, lead + connector, window), *title] if first else list(under)
            first = False
            yield parts, position, node, differences[position]
        last = len(merged.children) - 1
        stack.extend(
            (child, depth + 1, child_lead, LAST if index == last else BRANCH)
            for index, child in reversed(list(enumerate(merged.children)))
        )


def _title(merged: MergedNode, count: int) -> list[Part]:
    """The node's line as show-trace writes it (of the first trace that has it), and right after the name,
    which traces lack it (a PRESENCE part, which fitting keeps)."""
    sample = next(node for node in merged.nodes if node is not None)
    title, descriptions = tree_title(sample)
    parts: list[Part] = [(title, NAME_STYLES.get(sample.kind))]
    if sample.kind == "inferred":
        parts.append((" (inferred)", DIM))
    present = [letter(i) for i, node in enumerate(merged.nodes) if node is not None]
    if len(present) < count:
        missing = [letter(i) for i, node in enumerate(merged.nodes) if node is None]
        said = (
            f"only in {', '.join(present)}"
            if len(present) <= len(missing)
            else f"not in {', '.join(missing)}"
        )
        parts.append(("  " + said, PRESENCE_STYLE))
    parts.extend(("  " + description, DIM) for description in descriptions)
    return parts


def _fit_keeping_presence(parts: list[Part], width: int) -> list[Segment]:
    """The left column cut to `width`; when the name is too long, the name gives way, not the `only in A`
    after it (what a comparison is read for)."""
    marks = [index for index, (_, style) in enumerate(parts) if style is PRESENCE_STYLE]
    if not marks or sum(cells(text) for text, _ in parts) <= width:
        return fit(parts, width)
    head, (mark, style) = parts[: marks[0]], parts[marks[0]]
    room = width - cells(mark)
    if room < 4 or sum(cells(text) for text, _ in head) <= room:
        return fit(parts, width)
    return [*fit(head, room), Segment(mark, style)]


def comparison_to_dict(comparison: Comparison) -> dict[str, Any]:
    """`compare -o json`: the traces, and per merged node in display order its path of names, origin,
    occurrence among like siblings, depth, and per trace its duration, difference to the first, presence."""
    return {
        "traces": [
            {
                "label": letter(position),
                "trace_id": trace.id,
                "start_time": trace.start_time,
                "duration": trace.duration,
                "node_count": trace.node_count,
                "cold": comparison.cold[position],
            }
            for position, trace in enumerate(comparison.traces)
        ],
        "nodes": [
            {
                "path": merged.path,
                "origin": merged.origin,
                "occurrence": merged.occurrence,
                "depth": merged.depth,
                "durations": merged.durations,
                "differences": merged.differences,
                "present": merged.present,
            }
            for merged in comparison.walk()
        ],
    }
