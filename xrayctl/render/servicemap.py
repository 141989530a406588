"""The service map (`xrayctl service-map`) as a tree with a table's columns, and its JSON.

    service                                requests    ok  error  fault  throttle     p50     p90     p99
    xrayctl-demo  client
    └─ xrayctl-demo  AWS::Lambda                  3     3      0      0         0  290 ms  300 ms  300 ms
       ↳ from xrayctl-demo (client)               3     3      0      0         0  290 ms  300 ms  300 ms

A service's line carries its own statistics; the dim line under it, those of the edge that reached it from
the line above (the calls that caller made to it). A service reached again is referenced (`↺ ... (above)`)
with its edge's figures only. Percentiles come from the response-time histograms X-Ray returns.

The name column is as wide as the names need, so the figures stay beside them. When the width is short, a
count that is 0 on every line gives way first (it says nothing the note cannot), then names are cut with `…`
down to MIN_LEFT cells, then the other columns give way, the least useful first (DROP_ORDER, which says why);
`ServiceMapTree.notes` says what was given up, for stderr.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderResult
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
)
from xrayctl.render.tree import BRANCH, LAST, PIPE, SPACE
from xrayctl.text.sanitize import clean
from xrayctl.trace.servicemap import PERCENTILES, Edge, MapRow, Service, ServiceMap, Stats

NAME_MAX = 200
MIN_LEFT = 24
BOLD = Style(bold=True)
HEADER_STYLE = Style(bold=True)
REFERENCE_STYLE = Style(italic=True)


@dataclass(frozen=True, slots=True)
class _Column:
    header: str
    width: int


COLUMNS = (
    _Column("requests", 8),
    _Column("ok", 6),
    _Column("error", 5),
    _Column("fault", 5),
    _Column("throttle", 8),
    _Column("p50", 7),
    _Column("p90", 7),
    _Column("p99", 7),
)
# Which columns give way first when the width is short, least useful first:
# - ok: the requests less the errors, faults and throttles, which the other columns show;
# - p90: it lies between p50 (the usual request) and p99 (the slow ones), which bound it;
# - throttle, error: client-side outcomes (429, other 4xx), which the caller can act on less than a fault;
# - p99 before p50: the tail matters once the usual time is known;
# - fault (5xx, the service failing), then requests, the last to go.
DROP_ORDER = ("ok", "p90", "throttle", "error", "p99", "p50", "fault", "requests")
COUNTS = ("error", "fault", "throttle")
_COUNT_STYLES = {name: STATUS_STYLES[name] for name in ("error", "fault", "throttle")}
SHOWN_PERCENTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}


class ServiceMapView:
    """A title line (the window, or how many traces) and the map; once drawn, `notes` says what was left out
    to fit (see ServiceMapTree)."""

    def __init__(self, title: Flow, tree: ServiceMapTree) -> None:
        self.title = title
        self.tree = tree

    @property
    def notes(self) -> list[str]:
        return self.tree.notes

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Group(self.title, Text(""), self.tree)


def service_map_view(service_map: ServiceMap, *, traces: int | None = None) -> ServiceMapView:
    """A title line (the window, or how many traces) and the map; `traces`: the map is of that many."""
    fields = [Text("Service map", HEADER_STYLE)]
    if traces is not None:
        fields.append(Text(counted(traces, "trace"), DIM))
    elif service_map.start is not None or service_map.end is not None:
        fields.append(Text(f"{_time(service_map.start)} to {_time(service_map.end)}", DIM))
    fields.append(Text(counted(len(service_map.services), "service"), DIM))
    # Fields a narrow terminal puts on lines of their own, rather than a time split in two.
    title = Flow(fields, Text("  ·  ", DIM))
    return ServiceMapView(title, ServiceMapTree(service_map))


def _time(value: datetime | None) -> str:
    return fmt_time(value) if value is not None else "—"


class ServiceMapTree:
    """The map as a tree with the figures' columns; after rendering, `notes` says what was given up to fit
    (nothing when all of it fitted)."""

    def __init__(self, service_map: ServiceMap) -> None:
        self.service_map = service_map
        self.notes: list[str] = []

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        self.notes = []
        if not self.service_map.services:
            yield from fit([("no services: no traced request in the window", DIM)], width)
            yield Segment.line()
            return
        # (the left column's parts, the figures, whether dimmed: an edge's line) for every line, in order.
        lines: list[tuple[list[tuple[str, Style | None]], Stats | None, bool]] = []
        last_at: list[bool] = []
        for row in self.service_map.walk():
            del last_at[row.depth :]
            last_at.append(row.last)
            guides = "".join(SPACE if last else PIPE for last in last_at[1:-1])
            own = guides + ((LAST if row.last else BRANCH) if row.depth else "")
            lines.append(
                ([(own, DIM), *_service_parts(row)], None if row.repeated else row.service.stats, False)
            )
            if row.caller is not None and row.edge is not None:
                under = guides + ((SPACE if row.last else PIPE) if row.depth else "")
                lines.append(([(under, DIM), *_edge_parts(row.caller, row.edge)], row.edge.stats, True))
        names = max(cells("service"), *(sum(cells(text) for text, _ in parts) for parts, _, _ in lines))
        columns, left = self._layout(width, names, [stats for _, stats, _ in lines if stats is not None])
        yield from fit([("service", HEADER_STYLE)], left)
        for column in columns:
            yield Segment("  " + fit_text(column.header, column.width, align_right=True), HEADER_STYLE)
        yield Segment.line()
        for parts, stats, dim in lines:
            yield from fit(parts, left)
            yield from _numbers(stats, columns, dim=dim)
            yield Segment.line()

    def _layout(self, width: int, names: int, figures: list[Stats]) -> tuple[list[_Column], int]:
        """The columns shown and the name column's width (see the module's docstring); `notes` says what was
        given up."""
        zero = {name for name in COUNTS if not any(getattr(stats, name) for stats in figures)}
        shown = {column.header for column in COLUMNS}
        left_out: list[str] = []

        def room() -> int:
            return width - sum(column.width + 2 for column in COLUMNS if column.header in shown)

        # A column of zeros goes before a name is cut; the others, only once the names are cut to MIN_LEFT.
        steps = [(name, names) for name in DROP_ORDER if name in zero]
        steps += [(name, min(names, MIN_LEFT)) for name in DROP_ORDER if name not in zero]
        for name, needed in steps:
            if room() < needed:
                shown.discard(name)
                left_out.append(name)
        left = max(min(names, room()), 1)
        if left_out:
            noun = "column" if len(left_out) == 1 else "columns"
            empty = [
                column.header for column in COLUMNS if column.header in zero and column.header in left_out
            ]
            said = [f"{', '.join(empty)} (0 on every line)"] if empty else []
            said += [name for name in left_out if name not in zero]
            self.notes.append(f"{noun} left out: {', '.join(said)}")
        if left < names:
            self.notes.append("names cut with …")
        return [column for column in COLUMNS if column.header in shown], left


def _service_parts(row: MapRow) -> list[tuple[str, Style | None]]:
    service = row.service
    parts: list[tuple[str, Style | None]] = []
    if row.repeated:
        parts.append(("↺ ", REFERENCE_STYLE))
    parts.append((clean(service.name, NAME_MAX), BOLD if service.state == "active" else None))
    if service.type:
        parts.append(("  " + clean(service.type, NAME_MAX), DIM))
    if service.account_id:
        parts.append(("  " + clean(service.account_id, 20), DIM))
    if row.repeated:
        parts.append(("  (above)", DIM))
    return parts


def _edge_parts(caller: Service, edge: Edge) -> list[tuple[str, Style | None]]:
    text = f"↳ from {clean(caller.name, NAME_MAX)}"
    if caller.type:
        text += f" ({clean(caller.type, NAME_MAX)})"
    if edge.edge_type:
        text += f"  {clean(edge.edge_type, 40)}"
    return [(text, DIM)]


def _numbers(stats: Stats | None, columns: list[_Column], *, dim: bool) -> Iterator[Segment]:
    if stats is None:
        yield Segment(" " * sum(c.width + 2 for c in columns))
        return
    percentiles = stats.percentiles()
    values: dict[str, tuple[str, Style | None]] = {
        "requests": (f"{stats.requests:,}", None),
        "ok": (f"{stats.ok:,}", None),
    }
    for name in ("error", "fault", "throttle"):
        count = getattr(stats, name)
        values[name] = (f"{count:,}", _COUNT_STYLES[name] if count else None)
    for name, quantile in SHOWN_PERCENTILES.items():
        value = percentiles.get(quantile)
        values[name] = (fmt_duration(value) if value is not None else "—", None)
    for column in columns:
        text, style = values[column.header]
        if dim:
            style = (style or Style()) + DIM
        yield Segment("  " + fit_text(text, column.width, align_right=True), style)


def _stats_dict(stats: Stats | None) -> dict[str, Any] | None:
    if stats is None:
        return None
    percentiles = stats.percentiles()
    return {
        "requests": stats.requests,
        "ok": stats.ok,
        "error": stats.error,
        "fault": stats.fault,
        "throttle": stats.throttle,
        "total_response_time": stats.total_response_time,
        "response_time": {
            "average": stats.average,
            **{f"p{round(quantile * 100)}": percentiles.get(quantile) for quantile in PERCENTILES},
        },
        "start_time": stats.start.isoformat() if stats.start is not None else None,
        "end_time": stats.end.isoformat() if stats.end is not None else None,
    }


def service_map_to_dict(service_map: ServiceMap) -> dict[str, Any]:
    """`service-map -o json`: the window, and each service with an `id` (its place in the list) that edges
    point to (`to`), its statistics and percentiles (seconds), and its edges with theirs."""
    services = list(service_map.services.values())
    ids = {service.key: index for index, service in enumerate(services)}
    return {
        "start": service_map.start.isoformat() if service_map.start is not None else None,
        "end": service_map.end.isoformat() if service_map.end is not None else None,
        "services": [
            {
                "id": ids[service.key],
                "reference_id": service.reference_id,
                "name": service.name,
                "names": service.names,
                "type": service.type,
                "account_id": service.account_id,
                "state": service.state,
                "root": service.root,
                "statistics": _stats_dict(service.stats),
                "edges": [
                    {
                        "to": ids[target],
                        "name": target[0],
                        "type": target[1],
                        "edge_type": edge.edge_type,
                        "statistics": _stats_dict(edge.stats),
                    }
                    for target, edge in service.edges.items()
                    if target in ids
                ],
            }
            for service in services
        ],
        "warnings": list(service_map.warnings),
    }
