"""One node's details, for `browse`'s detail pane: what the X-Ray console shows when a segment is clicked.

Its name, kind and times; exceptions with their stacks and span links (what a reader acts on first);
annotations; http, aws and sql; metadata; OpenTelemetry's `extra.otel`; the entity's other fields; warnings.
Every value is untrusted text: it reaches the terminal through `clean` into `rich.text.Text`, never as markup.
JSON values are written with the depth-safe writer (`text/jsonwrite`), each cut after VALUE_CHARS characters
(the JSON output has it all)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.console import Group
from rich.style import Style
from rich.text import Text

from xrayctl.render.format import (
    DIM,
    EXCEPTION_STYLE,
    STATUS_STYLES,
    WARNING_STYLE,
    fmt_duration,
    fmt_time,
    status_mark,
)
from xrayctl.text.jsonwrite import iter_json
from xrayctl.text.sanitize import clean, clean_lines
from xrayctl.trace.critical import CriticalPath
from xrayctl.trace.model import ExceptionInfo, Node, Trace

HEADING = Style(bold=True)
KEY = Style(color="cyan")
LINK = Style(color="blue", underline=True)
VALUE_CHARS = 20_000  # of one JSON value; the rest is counted, not shown
FRAMES = 60
NAME_CHARS = 300


def node_detail(trace: Trace, node: Node, *, critical: CriticalPath | None = None) -> Group:
    """The details of `node` (of `trace`) as lines of Text."""
    return Group(*_lines(trace, node, critical))


def linked_trace_ids(node: Node) -> list[str]:
    """The trace ids the node's span links name, in order (strings only: a link is data from the trace)."""
    ids = [link.get("trace_id") for link in node.links]
    return [i for i in dict.fromkeys(ids) if isinstance(i, str) and i]


def _lines(trace: Trace, node: Node, critical: CriticalPath | None) -> Iterator[Text]:
    title = Text(clean(node.name, NAME_CHARS), HEADING)
    title.append(f"  {node.kind}", DIM)
    if node.origin:
        title.append(f"  {clean(node.origin, NAME_CHARS)}", DIM)
    mark = status_mark(node)
    if mark is not None:
        title.append("  " + mark[0], mark[1])
    else:
        title.append("  OK", STATUS_STYLES["ok"])
    yield title
    yield _pairs(
        ("id", clean(node.id, 100)),
        ("namespace", clean(node.namespace, 100) if node.namespace else None),
        ("label", clean(node.label, NAME_CHARS) if node.label and node.label != node.name else None),
    )
    offset = trace.offset(node)
    on_path = critical is not None and node in critical
    yield _pairs(
        ("start", fmt_time(node.start_time)),
        ("offset", f"+{fmt_duration(offset)}" if offset is not None else None),
        ("duration", "in progress" if node.in_progress else fmt_duration(node.duration)),
        ("self", fmt_duration(node.self_time) if node.children and node.self_time is not None else None),
        ("critical", fmt_duration(critical.time(node)) if critical is not None and on_path else None),
    )
    if node.exceptions:
        yield from _section(f"exceptions ({len(node.exceptions)})")
        for exc in node.exceptions:
            yield from _exception_lines(exc)
    if node.links:
        yield from _section("links (o opens the first linked trace)")
        for link in node.links:
            yield from _link_lines(link)
    if node.annotations:
        yield from _section("annotations")
        for key, value in node.annotations.items():
            line = Text("  ")
            line.append(clean(key, 100), KEY)
            line.append(" = ")
            line.append(_scalar_text(value))
            yield line
    for name, fields in (("http", node.http), ("aws", node.aws), ("sql", node.sql)):
        if fields:
            yield from _section(name)
            yield from _json_lines(fields)
    if node.metadata:
        yield from _section("metadata")
        for namespace, value in node.metadata.items():
            yield Text("  " + clean(namespace, 100), KEY)
            yield from _json_lines(value, indent="    ")
    otel = node.extra.get("otel")
    if otel:
        yield from _section("OpenTelemetry")
        yield from _json_lines(otel)
    other = {key: value for key, value in node.extra.items() if key != "otel"}
    if other:
        yield from _section("other fields")
        yield from _json_lines(other)
    if node.warnings:
        yield from _section("warnings")
        for warning in node.warnings:
            yield Text("  ⚠ " + clean(warning), WARNING_STYLE)


def _section(title: str) -> Iterator[Text]:
    yield Text("")
    yield Text(title, HEADING)


def _pairs(*pairs: tuple[str, str | None]) -> Text:
    line = Text()
    for label, value in pairs:
        if value is None:
            continue
        if line:
            line.append("  ·  ", DIM)
        line.append(f"{label} ", DIM)
        line.append(value)
    return line


def _scalar_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return clean(value, 1000)


def _json_lines(value: Any, indent: str = "  ") -> Iterator[Text]:
    """`value` as indented JSON, a Text per line, cut after VALUE_CHARS characters."""
    chunks: list[str] = []
    length = 0
    cut = False
    for chunk in iter_json(value, 2):
        chunks.append(chunk)
        length += len(chunk)
        if length > VALUE_CHARS:
            cut = True
            break
    text = "".join(chunks)[:VALUE_CHARS]
    for line in clean_lines(text, max_len=VALUE_CHARS):
        yield Text(indent + line)
    if cut:
        yield Text(indent + "… (cut: -o json on show-trace has all of it)", DIM)


def _exception_lines(exc: ExceptionInfo) -> Iterator[Text]:
    head = Text("  ✗ ", EXCEPTION_STYLE)
    if exc.type:
        head.append(clean(exc.type, NAME_CHARS) + ": ", EXCEPTION_STYLE)
    lines = clean_lines(exc.message, 4000)
    head.append(lines[0], EXCEPTION_STYLE)
    if exc.remote:
        head.append(" (remote)", DIM)
    yield head
    for line in lines[1:]:
        yield Text("    " + line, EXCEPTION_STYLE)
    for frame in exc.stack[:FRAMES]:
        yield Text("    at " + clean(frame), DIM)
    if len(exc.stack) > FRAMES:
        yield Text(f"    … {len(exc.stack) - FRAMES} more frames", DIM)
    if exc.truncated:
        yield Text(f"    … {exc.truncated} frames the SDK did not record", DIM)


def _link_lines(link: dict[str, Any]) -> Iterator[Text]:
    trace_id = link.get("trace_id")
    line = Text("  → ")
    line.append(clean(trace_id, 100) if isinstance(trace_id, str) else "(no trace id)", LINK)
    span = link.get("id")
    if isinstance(span, str):
        line.append(f"  span {clean(span, 100)}", DIM)
    yield line
    attributes = link.get("attributes")
    if attributes:
        yield from _json_lines(attributes, indent="      ")
