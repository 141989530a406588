"""The header above a trace's tree: id, start, duration, response time, status, entry point, size, warnings.

Facts come from the trace's GetTraceSummaries entry when there is one (that is what X-Ray itself reports) and
from the tree otherwise (`--input` files carry no summary).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text

from xrayctl.render.format import (
    DIM,
    STATUS_STYLES,
    WARNING_STYLE,
    Flow,
    fmt_duration,
    fmt_time,
    status_word,
)
from xrayctl.text.sanitize import clean
from xrayctl.trace.model import Node, Trace
from xrayctl.trace.rows import entry_root
from xrayctl.trace.status import trace_statuses

LABEL = Style(dim=True)
BOLD = Style(bold=True)
SEPARATOR = "  ·  "
# Header values are one line each; a long entry-point name or URL is cut so the facts after it stay visible.
MAX_VALUE = 200


def header_view(trace: Trace) -> Group:
    summary = trace.summary
    entry = entry_root(trace)

    title = Text()
    title.append("Trace ", LABEL)
    title.append(clean(trace.id, MAX_VALUE), BOLD)
    # A trace with no readable segment has no status to speak of: saying OK would claim what nobody saw.
    for status in trace_statuses(trace, summary) if trace.node_count or summary else []:
        title.append("  ")
        title.append(status_word(status), STATUS_STYLES[status])
    nodes = Text(f"{trace.node_count:,} node{'s' if trace.node_count != 1 else ''}")

    start: float | datetime | None = trace.start_time
    duration = trace.duration
    response = entry.duration if entry is not None and entry.kind == "segment" else None
    if summary is not None:
        start = _summary_value(summary, "StartTime", (datetime, int, float), start)
        duration = _summary_value(summary, "Duration", (int, float), duration)
        response = _summary_value(summary, "ResponseTime", (int, float), response)
    fields = [_field("start", fmt_time(start)), _field("duration", fmt_duration(duration))]
    if response is not None:
        fields.append(_field("response", fmt_duration(response)))
    timing = Flow(fields, Text(SEPARATOR, DIM))

    lines: list[RenderableType] = [Flow([title, nodes], Text(SEPARATOR, DIM)), timing]
    entry_line = _entry_line(summary, entry)
    if entry_line is not None:
        lines.append(entry_line)

    partial = trace.in_progress or bool(summary and summary.get("IsPartial"))
    if partial:
        lines.append(Text("PARTIAL: some segments are still in progress; the trace may grow", WARNING_STYLE))
    if trace.limit_exceeded:
        lines.append(
            Text("LIMIT EXCEEDED: X-Ray returned only part of this trace (it is too large)", WARNING_STYLE)
        )
    if trace.warnings:
        count = len(trace.warnings)
        noun = "warning" if count == 1 else "warnings"
        lines.append(Text(f"{count} {noun}", WARNING_STYLE))
    return Group(*lines)


def _entry_line(summary: Mapping[str, Any] | None, entry: Node | None) -> Flow | None:
    name: object = None
    kind: object = None
    http: Mapping[str, Any] = {}
    if summary is not None:
        entry_point = summary.get("EntryPoint")
        if isinstance(entry_point, Mapping):
            name, kind = entry_point.get("Name"), entry_point.get("Type")
        if isinstance(summary.get("Http"), Mapping):
            http = summary["Http"]
    if name is None and entry is not None:
        name, kind = entry.name, entry.origin
    if name is None and not http:
        return None
    entry_field = Text("entry ", LABEL)
    entry_field.append(clean(name if name is not None else "—", MAX_VALUE))
    if kind and kind != name:
        entry_field.append(f" ({clean(kind, MAX_VALUE)})", DIM)
    parts = [clean(http[key], MAX_VALUE) for key in ("HttpMethod", "HttpURL") if http.get(key)]
    if http.get("HttpStatus") is not None:
        status = clean(http["HttpStatus"], 20)
        parts.append(f"→ {status}" if parts else f"HTTP {status}")
    fields = [entry_field, Text(" ".join(parts))] if parts else [entry_field]
    return Flow(fields, Text(SEPARATOR, DIM))


def _field(label: str, value: str) -> Text:
    field = Text(f"{label} ", LABEL)
    field.append(value)
    return field


def _summary_value(summary: Mapping[str, Any], key: str, types: tuple[type, ...], fallback: Any) -> Any:
    value = summary.get(key)
    return value if isinstance(value, types) and not isinstance(value, bool) else fallback
