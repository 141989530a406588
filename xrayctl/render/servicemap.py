"""The service map (`xrayctl service-map`) as a tree with a table's columns, and its JSON.

    service                                requests    ok  error  fault  throttle     p50     p90     p99
    xrayctl-demo  client
    └─ xrayctl-demo  AWS::Lambda                  3     3      0      0         0  290 ms  300 ms  300 ms
       ↳ from xrayctl-demo (client)               3     3      0      0         0  290 ms  300 ms  300 ms

A service's line carries its own statistics; the dim line under it, those of the edge that reached it from
the line above (the calls that caller made to it). A service reached again is referenced (`↺ ... (above)`)
with its edge's figures only. Percentiles come from the response-time histograms X-Ray returns. Columns are
dropped from the right when the width is short; names are cut with `…`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from xrayctl.render.format import DIM, STATUS_STYLES, fit, fit_text, fmt_duration, fmt_time
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
_COUNT_STYLES = {name: STATUS_STYLES[name] for name in ("error", "fault", "throttle")}
SHOWN_PERCENTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}


def service_map_view(service_map: ServiceMap, *, traces: int | None = None) -> RenderableType:
    """A title line (the window, or how many traces) and the map; `traces`: the map is of that many."""
    title = Text("Service map", HEADER_STYLE)
    if traces is not None:
        title.append(f"  ·  {traces} trace{'s' if traces != 1 else ''}", DIM)
    elif service_map.start is not None or service_map.end is not None:
        title.append(f"  ·  {_time(service_map.start)} to {_time(service_map.end)}", DIM)
    count = len(service_map.services)
    title.append(f"  ·  {count} service{'s' if count != 1 else ''}", DIM)
    return Group(title, Text(""), ServiceMapTree(service_map))


def _time(value: datetime | None) -> str:
    return fmt_time(value) if value is not None else "—"


class ServiceMapTree:
    def __init__(self, service_map: ServiceMap) -> None:
        self.service_map = service_map

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        if not self.service_map.services:
            yield from fit([("no services: no traced request in the window", DIM)], width)
            yield Segment.line()
            return
        columns = list(COLUMNS)
        # Columns go from the right (p99 first) until the names have room.
        while columns and width - sum(c.width + 2 for c in columns) < MIN_LEFT:
            columns.pop()
        left = max(width - sum(c.width + 2 for c in columns), 1)
        yield from fit([("service", HEADER_STYLE)], left)
        for column in columns:
            yield Segment("  " + fit_text(column.header, column.width, align_right=True), HEADER_STYLE)
        yield Segment.line()
        last_at: list[bool] = []
        for row in self.service_map.walk():
            del last_at[row.depth :]
            last_at.append(row.last)
            guides = "".join(SPACE if last else PIPE for last in last_at[1:-1])
            own = guides + ((LAST if row.last else BRANCH) if row.depth else "")
            yield from fit([(own, DIM), *_service_parts(row)], left)
            stats = None if row.repeated else row.service.stats
            yield from _numbers(stats, columns, dim=False)
            yield Segment.line()
            if row.caller is not None and row.edge is not None:
                under = guides + ((SPACE if row.last else PIPE) if row.depth else "")
                yield from fit([(under, DIM), *_edge_parts(row.caller, row.edge)], left)
                yield from _numbers(row.edge.stats, columns, dim=True)
                yield Segment.line()


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
