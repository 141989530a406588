"""A trace as a tree with a timeline: one line per node, its bar placed and scaled on the trace's span.

Line layout, sized at render time from `options.max_width`:

    guides name  label  mark  annotations │ timeline bar │ duration

The left column takes what its longest line needs, at most 55% of the width, and cuts with `…`; below 60
columns the timeline is dropped. Exceptions (and, with `details`, http/aws/sql/annotations/metadata/stack
lines) go on lines of their own under the node. Trees can be thousands of levels deep, so the walk uses an
explicit stack, and past a depth that the width allows, the guides show only the nearest levels behind a
`⋮[depth N]` marker. Lines are emitted as `Segment`s: 10,000 nodes render in a fraction of a second, which
`rich.Tree` or `rich.Table` cannot do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import chop_cells
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.rule import Rule
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from xrayctl.render.format import (
    DIM,
    EXCEPTION_STYLE,
    STATUS_STYLES,
    WARNING_STYLE,
    cells,
    fit,
    fit_text,
    fmt_duration,
    status_mark,
)
from xrayctl.render.header import header_view
from xrayctl.text.jsonwrite import preview
from xrayctl.text.sanitize import clean
from xrayctl.trace.critical import CriticalPath
from xrayctl.trace.model import AnnotationValue, ExceptionInfo, Node, Trace

Part = tuple[str, Style | None]

BRANCH, LAST, PIPE, SPACE = "├─ ", "└─ ", "│  ", "   "
LEFT_SHARE = 0.55
NARROW = 60  # below this width there is no room for a useful timeline
DURATION_WIDTH = 8
NAME_MAX = 300  # longer names are cut by `clean` (visibly, with `…`) before measuring
EXCEPTIONS_SHOWN = 3  # per node without --details; the rest are counted
FRAMES_SHOWN = 30
WRAP_ROWS = 12  # rows an exception message or a detail may take before it is cut (--output json has it all)
CONTINUATION = "  "
ELLIPSIS_PAD = " …"
EIGHTHS = " ▏▎▍▌▋▊▉█"  # index n: the left n eighths of a cell

NAME_STYLES: dict[str, Style] = {
    "segment": Style(bold=True),
    "subsegment": Style(),
    "inferred": Style(italic=True, dim=True),
}
_FAST_TO_MEASURE = frozenset(map(chr, range(0x20, 0x7F))) | frozenset(BRANCH + LAST + PIPE + EIGHTHS + "░▐▕")
ANNOTATION_STYLE = Style(color="cyan")
LINK_STYLE = Style(color="blue")
IN_PROGRESS_BAR = Style(color="yellow", dim=True)
# `show-trace --critical-path`: a column after the duration, the node's own time on the critical path.
CRITICAL_WIDTH = 10
CRITICAL_MARK = "◆"
CRITICAL_STYLE = Style(color="magenta", bold=True)


@dataclass(slots=True)
class _Line:
    parts: list[Part]
    node: Node | None = None  # set on a node's own line: it gets a bar and a duration
    width: int = 0  # cells the parts take, for node lines
    guides: int = 0  # on an extra line (exception, detail): how many leading parts are tree guides
    mark: int = -1  # on a node line: the index of its status mark, which fitting must keep


def trace_view(
    trace: Trace,
    *,
    details: bool = False,
    with_warnings: bool = True,
    critical: CriticalPath | None = None,
) -> RenderableType:
    """Header, the tree with its timeline, then the warnings (unless the caller shows them elsewhere).
    With `critical`, a column marks the nodes on the critical path with the time each adds."""
    parts: list[RenderableType] = [header_view(trace), Text("")]
    if critical is not None:
        parts += [_critical_legend(trace, critical), Text("")]
    parts.append(TraceTree(trace, details=details, critical=critical))
    if with_warnings and trace.warnings:
        parts += [Text(""), warnings_view(trace.warnings)]
    return Group(*parts)


def traces_view(
    traces: Sequence[Trace],
    *,
    details: bool = False,
    with_warnings: bool = True,
    one_scale: bool = False,
    critical: Sequence[CriticalPath] | None = None,
) -> RenderableType:
    """Several traces one after another, a rule between each. `one_scale`: every timeline on the same
    scale (the longest trace's span, the same left column), so the traces compare at a glance; `critical`:
    each trace's critical path, marked in a column of its own."""
    parts: list[RenderableType] = []
    durations = [trace.duration for trace in traces if trace.duration is not None]
    scale = max(durations) if one_scale and durations else None
    for index, trace in enumerate(traces):
        if index:
            parts.append(Rule(style=DIM))
        path = critical[index] if critical is not None else None
        tree = TraceTree(trace, details=details, scale=scale, critical=path)
        parts += [header_view(trace), Text("")]
        if path is not None:
            parts += [_critical_legend(trace, path), Text("")]
        parts.append(tree)
        if with_warnings and trace.warnings:
            parts += [Text(""), warnings_view(trace.warnings)]
    return Group(*parts)


def _critical_legend(trace: Trace, critical: CriticalPath) -> Text:
    """What the critical column says, and how much of the trace's duration the path accounts for."""
    text = Text()
    text.append(f"{CRITICAL_MARK} critical path", CRITICAL_STYLE)
    count = len(critical)
    text.append(
        f"  {count} node{'s' if count != 1 else ''} · {fmt_duration(critical.total)} of "
        f"{fmt_duration(trace.duration)}: the time each node adds to the trace's duration",
        DIM,
    )
    return text


def warnings_view(warnings: Iterable[str]) -> RenderableType:
    """One yellow line per warning (wrapped, never cut: a warning is there to be read)."""
    return Group(*(Text(f"⚠ {clean(warning)}", WARNING_STYLE) for warning in warnings))


class TraceTree:
    """The tree-with-timeline renderable for one trace."""

    def __init__(
        self,
        trace: Trace,
        *,
        details: bool = False,
        scale: float | None = None,
        critical: CriticalPath | None = None,
    ) -> None:
        """`scale`: the seconds the timeline spans (default: the trace's own span); given, the left column
        is as wide as the width allows, so that trees drawn with one scale line up. `critical`: a column
        with each node's time on the critical path."""
        self.trace = trace
        self.details = details
        self.scale = scale
        self.critical = critical

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        if self.critical is not None:
            width = max(width - CRITICAL_WIDTH - 1, 1)
        if not self.trace.roots:
            yield from fit([("(no segments)", DIM)], width)
            yield Segment.line()
            return
        parts: dict[Node, tuple[list[Part], list[Part]]] = {}
        guide_levels, left, timeline, _ = self._geometry(width, parts)
        span = self._span()
        if timeline and span is not None:
            yield from _axis(left, timeline, span, critical=self.critical is not None)
        # Without colour (a file, a pipe), styles print nothing: merging a line's segments spares rich (and
        # its garbage collector) most of the work on a 10,000-node tree.
        plain = console.color_system is None and not console.record
        new_line = Segment.line()
        for line in _lines(self.trace, guide_levels, self.details, parts):
            if line.node is None:
                # An exception message or a detail is read to its end: it wraps under its guides.
                for row in _wrapped(line, width):
                    yield from _merged(row) if plain else row
                    yield new_line
                continue
            segments = _fit_keeping_mark(line, left) + self._columns(line.node, timeline, span)
            yield from _merged(segments) if plain else segments
            yield new_line

    def layout(
        self, width: int, parts: dict[Node, tuple[list[Part], list[Part]]] | None = None
    ) -> TreeLayout:
        """The tree laid out `width` cells wide, one line per node: for a view that draws some of them at a
        time (`xrayctl browse`), with the same columns, bars and marks as the whole tree printed. `parts`:
        each node's parts, kept from an earlier layout of the same trace (they do not depend on the width)."""
        if self.critical is not None:
            width = max(width - CRITICAL_WIDTH - 1, 1)
        parts = {} if parts is None else parts
        guide_levels, left, timeline, measured = self._geometry(width, parts)
        if measured is None:
            measured = list(_lines(self.trace, guide_levels, False, parts, nodes_only=True))
        return TreeLayout(self, measured, left, timeline, self._span())

    def _span(self) -> float | None:
        return self.scale if self.scale is not None else self.trace.duration

    def _geometry(
        self, width: int, parts: dict[Node, tuple[list[Part], list[Part]]]
    ) -> tuple[int, int, int, list[_Line] | None]:
        """Guide levels, the left column's and the timeline's widths for `width` cells, and the nodes' own
        lines when measuring needed them (kept in `parts` either way)."""
        narrow = width < NARROW
        left_max = width - DURATION_WIDTH - 1 if narrow else int(width * LEFT_SHARE)
        # Guides take at most half of the left column; deeper levels are shown as a window.
        guide_levels = max(2, left_max // 2 // 3)
        left = left_max
        measured = None
        if not narrow and self.scale is None and self.trace.roots:
            # A first pass measures; each node's parts are kept for the second.
            measured = list(_lines(self.trace, guide_levels, False, parts, nodes_only=True))
            left = min(left_max, max(line.width for line in measured))
        timeline = 0 if narrow else width - left - DURATION_WIDTH - 2
        return guide_levels, left, timeline, measured

    def _columns(self, node: Node, timeline: int, span: float | None) -> list[Segment]:
        """The timeline (when there is room) and duration columns of a node's line."""
        duration = "running" if node.in_progress else fmt_duration(node.duration)
        duration = fit_text(duration, DURATION_WIDTH, align_right=True)
        critical = self._critical(node)
        if not timeline:
            return [Segment(" " + duration), *critical]
        before, bar, style, after = _bar(self.trace, node, timeline, span)
        return [Segment(" " + before), Segment(bar, style), Segment(after + " " + duration), *critical]

    def _critical(self, node: Node) -> list[Segment]:
        """The critical-path column: `◆ 355 ms` for a node on the path (`◆ 0 ms` for one its children cover),
        blank for the others."""
        if self.critical is None:
            return []
        if node not in self.critical:
            return [Segment(" " * (CRITICAL_WIDTH + 1))]
        seconds = self.critical.time(node)
        shown = fit_text(fmt_duration(seconds), CRITICAL_WIDTH - 2, align_right=True)
        return [Segment(" "), Segment(f"{CRITICAL_MARK} {shown}", CRITICAL_STYLE)]


@dataclass(slots=True)
class TreeLayout:
    """A trace's tree laid out for one width (`TraceTree.layout`): its nodes' lines in display order, each
    drawn on its own by `row`, with the axis above them. What `xrayctl browse` scrolls through."""

    tree: TraceTree
    lines: list[_Line]
    left: int  # cells of the name column
    timeline: int  # cells of the timeline (0: no room for one)
    span: float | None  # the seconds the timeline spans

    @property
    def nodes(self) -> list[Node]:
        return [line.node for line in self.lines if line.node is not None]

    def axis(self) -> list[Segment]:
        """The line above the rows: `0` and the trace's span over the timeline (empty without one)."""
        if not self.timeline or self.span is None:
            return []
        return [
            s
            for s in _axis(self.left, self.timeline, self.span, critical=self.tree.critical is not None)
            if s.text != "\n"
        ]

    def row(self, index: int) -> list[Segment]:
        """The line of the `index`-th node, as the whole tree prints it."""
        line = self.lines[index]
        assert line.node is not None
        return _fit_keeping_mark(line, self.left) + self.tree._columns(line.node, self.timeline, self.span)


def _fit_keeping_mark(line: _Line, width: int) -> list[Segment]:
    """A node line cut to `width`; when the name itself is too long, it is the name that gives way, not the
    status mark after it (a fault must stay visible on a narrow terminal, colour or not)."""
    if line.mark < 0 or line.width <= width:
        return fit(line.parts, width)
    head, (mark, style) = line.parts[: line.mark], line.parts[line.mark]
    room = width - cells(mark)
    if sum(cells(text) for text, _ in head) <= room or room < 4:
        return fit(line.parts, width)
    return [*fit(head, room), Segment(mark, style)]


def _wrapped(line: _Line, width: int) -> Iterator[list[Segment]]:
    """An extra line as rows of at most `width` cells, each under the same guides; continuation rows are
    indented, and a line longer than WRAP_ROWS rows ends with `…` (the full text is in --output json)."""
    guides, text = line.parts[: line.guides], line.parts[line.guides :]
    room = width - sum(cells(part) for part, _ in guides)
    if room < 10 or sum(cells(part) for part, _ in text) <= room:
        yield fit(line.parts, width)
        return
    rows: list[list[Part]] = [[]]
    used = 0
    for part, style in text:
        while part:
            available = room - used if len(rows) == 1 else room - used - len(CONTINUATION)
            if available <= 0:
                rows.append([])
                used = 0
                continue
            head = chop_cells(part, available)[0]
            if len(head) < len(part):
                # Break after the last space if there is one in the second half: words stay whole.
                space = head.rfind(" ")
                if space >= len(head) // 2:
                    head = head[: space + 1]
            rows[-1].append((head, style))
            used += cells(head)
            part = part[len(head) :]
            if part:  # the row is full (or ends at a word): the rest starts the next one
                rows.append([])
                used = 0
    for index, row in enumerate(rows[:WRAP_ROWS]):
        lead = [] if index == 0 else [(CONTINUATION, None)]
        cut = index == WRAP_ROWS - 1 and len(rows) > WRAP_ROWS
        yield fit([*guides, *lead, *row, *([(ELLIPSIS_PAD, DIM)] if cut else [])], width)


def _merged(segments: list[Segment]) -> Iterator[Segment]:
    """Runs of ASCII and box-drawing text as one unstyled segment each; other text on its own.

    Rich measures every segment again to crop the line, fast only for text it knows is one cell per
    character (ASCII, box drawing, blocks) or has seen before (a lone `…`, `✗ 500`): so only those are merged.
    """
    run: list[str] = []
    for segment in segments:
        if _FAST_TO_MEASURE.issuperset(segment.text):
            run.append(segment.text)
            continue
        if run:
            yield Segment("".join(run))
            run = []
        yield Segment(segment.text)
    if run:
        yield Segment("".join(run))


def _lines(
    trace: Trace,
    guide_levels: int,
    details: bool,
    parts_of: dict[Node, tuple[list[Part], list[Part]]],
    *,
    nodes_only: bool = False,
) -> Iterator[_Line]:
    """Every line of the tree (or only the nodes' own), in display order, from an explicit stack of (node,
    depth, lead, connector). `parts_of` keeps each node's parts, from one pass to the next."""
    window = guide_levels * len(PIPE)
    stack: list[tuple[Node, int, str, str]] = [(root, 0, "", "") for root in reversed(trace.roots)]
    while stack:
        node, depth, lead, connector = stack.pop()
        own_and_marks = parts_of.get(node)
        if own_and_marks is None:
            own_and_marks = parts_of[node] = _node_parts(node)
        own, marks = own_and_marks
        parts = [*_guides(depth, lead + connector, window), *own]
        mark = next((i for i, part in enumerate(parts) if part in marks), -1) if marks else -1
        yield _Line(parts, node, sum(cells(text) for text, _ in parts), mark=mark)

        # Lead for this node's children, and for its own extra lines (which line up with its children).
        child_lead = lead + (PIPE if connector == BRANCH else SPACE if connector == LAST else "")
        child_lead = child_lead[-window:]
        if not nodes_only:
            under = _guides(depth + 1, child_lead + (PIPE if node.children else SPACE), window)
            for extra in _extra_lines(node, details):
                yield _Line([*under, *extra], guides=len(under))

        last = len(node.children) - 1
        stack.extend(
            (child, depth + 1, child_lead, LAST if index == last else BRANCH)
            for index, child in reversed(list(enumerate(node.children)))
        )


def _guides(depth: int, guides: str, window: int) -> list[Part]:
    """The guides for a line at `depth`: all of them, or a `⋮[depth N]` marker and the nearest levels."""
    if (depth - 1) * len(PIPE) <= window:
        return [(guides, DIM)]
    label = f"[depth {depth}] "
    keep = max(0, window - len(label) - 1)
    keep -= keep % len(PIPE)
    connector = guides[-len(PIPE) :]
    # The marker is its own part: rich measures text made only of box-drawing characters fastest.
    return [("⋮", DIM), (label + guides[-(keep + len(PIPE)) : -len(PIPE)] + connector, DIM)]


def _node_parts(node: Node) -> tuple[list[Part], list[Part]]:
    """The parts of a node's line, and among them the status mark (empty when there is none)."""
    title, descriptions = _title(node)
    parts: list[Part] = [(title, NAME_STYLES.get(node.kind))]
    if node.kind == "inferred":
        parts.append((" (inferred)", DIM))
    # The status mark right after the name: when the line is cut to fit, a fault must not be what goes.
    mark = status_mark(node)
    marks: list[Part] = [] if mark is None else [("  " + mark[0], mark[1])]
    parts.extend(marks)
    parts.extend(("  " + description, DIM) for description in descriptions)
    if node.annotations:
        shown = " ".join(_annotation(key, value) for key, value in node.annotations.items())
        parts.append(("  " + shown, ANNOTATION_STYLE))
    return parts, marks


def _title(node: Node) -> tuple[str, list[str]]:
    """The name, then the origin (for segments: it tells `AWS::Lambda` from `AWS::Lambda::Function`) and the
    label, each left out when the line already says it. An AWS call's label starts with the service its name
    gives (`s3`: `S3 PutObject bucket/key`), so it takes the name's place rather than repeat it."""
    if node.kind == "inferred":
        # X-Ray copies the call's fields into the inferred segment, so its label would repeat the line above;
        # what this line adds is the resource type on the far side of the call.
        return clean(node.name, NAME_MAX), [clean(node.origin, NAME_MAX)] if node.origin else []
    title, label = node.name, node.label
    if label.split(" ", 1)[0].lower() == title.lower():
        title, label = label, ""
    said = {title.lower()}
    descriptions: list[str] = []
    for text in (node.origin if node.kind != "subsegment" else None, label):
        if text and text.lower() not in said:
            said.add(text.lower())
            descriptions.append(clean(text, NAME_MAX))
    return clean(title, NAME_MAX), descriptions


def _annotation(key: str, value: AnnotationValue) -> str:
    shown = ("true" if value else "false") if isinstance(value, bool) else clean(value, 100)
    return f"{clean(key, 100)}={shown}"


def _extra_lines(node: Node, details: bool) -> Iterator[list[Part]]:
    shown = node.exceptions if details else node.exceptions[:EXCEPTIONS_SHOWN]
    for exc in shown:
        yield [(_exception_text(exc), EXCEPTION_STYLE)]
        if details:
            yield from _stack_lines(exc)
    hidden = len(node.exceptions) - len(shown)
    if hidden:
        yield [(f"  … {hidden} more exception{'s' if hidden > 1 else ''} (--details shows them)", DIM)]
    for link in node.links:
        yield [(_link_text(link), LINK_STYLE)]
    if details:
        for text in _detail_texts(node):
            yield [(text, DIM)]
        for warning in node.warnings:
            yield [(f"⚠ {clean(warning)}", WARNING_STYLE)]


def _exception_text(exc: ExceptionInfo) -> str:
    text = f"✗ {clean(exc.type, NAME_MAX)}: " if exc.type else "✗ "
    text += clean(exc.message)
    return text + " (remote)" if exc.remote else text


def _link_text(link: dict[str, Any]) -> str:
    """`→ child trace 1-654c0558-630340be09e985eb352a72e6: consumer (AWS::Lambda)`: a trace to read next."""
    attributes = link.get("attributes")
    attributes = attributes if isinstance(attributes, dict) else {}
    # Any of these can be any JSON value, nested thousands deep: `_value_text`, never str(), which recurses.
    relation = attributes.get("aws.xray.reserved.reference_type")
    text = f"→ {_value_text(relation, 20)} trace " if relation else "→ linked trace "
    text += _value_text(link.get("trace_id") or "(no trace id)", 100)
    names = attributes.get("aws.xray.reserved.names")
    if isinstance(names, list) and all(isinstance(name, str) for name in names):
        names = ", ".join(names)
    if names:
        text += ": " + _value_text(names, NAME_MAX)
    kind = attributes.get("aws.xray.reserved.type")
    return text + f" ({_value_text(kind, 100)})" if kind else text


def _stack_lines(exc: ExceptionInfo) -> Iterator[list[Part]]:
    for frame in exc.stack[:FRAMES_SHOWN]:
        yield [(f"    at {clean(frame)}", DIM)]
    if len(exc.stack) > FRAMES_SHOWN:
        yield [(f"    … {len(exc.stack) - FRAMES_SHOWN} more frames", DIM)]
    if exc.truncated:
        yield [(f"    … {exc.truncated} frames the SDK did not record", DIM)]


def _detail_texts(node: Node) -> Iterator[str]:
    if node.http:
        yield "http  " + _http_text(node.http)
    if node.aws:
        yield "aws  " + _fields_text(node.aws)
    if node.sql:
        # The query first: it is what a reader looks for, and the URL after it is long.
        query_first = sorted(node.sql.items(), key=lambda item: item[0] != "sanitized_query")
        yield "sql  " + _fields_text(dict(query_first))
    if node.annotations:
        yield "annotations  " + clean(preview(node.annotations, 1000))
    for namespace, value in node.metadata.items():
        yield f"metadata {clean(namespace, 100)}  " + clean(preview(value, 1000))
    for key, value in node.extra.items():
        shown = _fields_text(value) if isinstance(value, dict) and value else _value_text(value, 1000)
        yield f"{clean(key, 100)}  {shown}"
    if node.self_time is not None and node.children:
        yield "self time  " + fmt_duration(node.self_time)


def _http_text(http: dict[str, object]) -> str:
    """`GET https://host/path → 200 (1234 bytes)` from a document's `http` field; other shapes as JSON."""
    request = http.get("request")
    response = http.get("response")
    if not isinstance(request, dict) and not isinstance(response, dict):
        return clean(preview(http, 1000))
    text = ""
    if isinstance(request, dict):
        text = " ".join(_value_text(request[key], NAME_MAX) for key in ("method", "url") if request.get(key))
    if isinstance(response, dict):
        if response.get("status") is not None:
            text += f" → {_value_text(response['status'], 20)}"
        if response.get("content_length") is not None:
            text += f" ({_value_text(response['content_length'], 20)} bytes)"
    return text.strip()


def _fields_text(fields: dict[str, object]) -> str:
    """`key=value` for each field, in the document's order."""
    return " ".join(f"{clean(key, 100)}={_value_text(value, 300)}" for key, value in fields.items())


def _value_text(value: object, max_len: int) -> str:
    """A string as it is, anything else as compact JSON (`null`, `true`, `["a"]`)."""
    return clean(value if isinstance(value, str) else preview(value, max_len), max_len)


def _axis(left: int, timeline: int, span: float, *, critical: bool = False) -> Iterator[Segment]:
    """`0` under the start of the timeline and the trace's span at its end (and `critical` over the
    critical-path column)."""
    end = fmt_duration(span)
    scale = "0" + fit_text(end, timeline - 1, align_right=True) if timeline > len(end) + 1 else ""
    yield Segment(" " * (left + 1))
    yield Segment(fit_text(scale, timeline), DIM)
    yield Segment(" " * (DURATION_WIDTH + 1))
    if critical:
        yield Segment(" " + fit_text("critical", CRITICAL_WIDTH, align_right=True), DIM)
    yield Segment.line()


def _bar(trace: Trace, node: Node, width: int, span: float | None) -> tuple[str, str, Style | None, str]:
    """The node's bar in a `width`-cell timeline of `span` seconds from the trace's start (eighths of a cell
    at its end, halves at its start), as the spaces before it, the bar, its style and the spaces after it."""
    offset = trace.offset(node)
    if offset is None or span is None:
        return "", "", None, " " * width
    units = width * 8
    running = node.in_progress or node.end_time is None
    end_offset = (trace.duration or 0.0) if running else offset + (node.duration or 0.0)
    # Fractions of the span, clamped: a node that starts after every end (no end of its own, a start of 1e308)
    # lies past the span, and multiplying by `units / span` first would overflow for a span of 5e-324.
    begins = min(max(offset / span, 0.0), 1.0) if span > 0 else 0.0
    ends = min(max(end_offset / span, 0.0), 1.0) if span > 0 else 0.0
    start = min(int(begins * units), units - 1)
    # Every node gets at least one eighth, so zero-length work is still seen.
    end = min(max(round(ends * units), start + 1), units)
    # A bar shorter than a cell is drawn from its duration alone, not from where its ends fall between
    # cells: two bars of 2.1 and 2.2 ms are the same glyph wherever they start.
    length = max(round((ends - begins) * units), 1)
    style = STATUS_STYLES[node.status] if node.kind != "inferred" else DIM
    if running:
        first, last = start // 8, (end - 1) // 8
        bar, style = "░" * (last - first + 1), IN_PROGRESS_BAR
    elif length < 8:
        # One left-aligned glyph of its length, in the cell where its middle falls.
        first = min((start + length // 2) // 8, width - 1)
        bar = EIGHTHS[length]
    else:
        first, last = start // 8, (end - 1) // 8
        bar = _blocks(start - first * 8, end - last * 8, last - first)
    return " " * first, bar, style, " " * (width - first - len(bar))


def _blocks(start: int, end: int, middle: int) -> str:
    """Block characters for a bar from eighth `start` (0-7) of its first cell to eighth `end` (1-8) of its
    last, `middle` cells after the first.

    Unicode has left-aligned eighths but only a right half at a cell's start, so a bar's start is drawn to
    the nearest half cell.
    """
    if middle == 0:
        return EIGHTHS[end] if start == 0 else "▐" if end - start >= 4 else "▕"
    head = "▐" if start >= 4 else "█"
    return head + "█" * (middle - 1) + EIGHTHS[end]
