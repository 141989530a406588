"""Reading X-Ray's service graphs: GetServiceGraph over a window, GetTraceGraph for given traces.

botocore parses every answer; this module pages (NextToken, followed until X-Ray stops giving one or gives
one it gave before) and returns each call's services whole, because the ReferenceIds that edges point to are
unique within one call's graph only (`xrayctl.trace.servicemap` joins calls by service identity).
GetTraceGraph documents no bound on its TraceIds: they are sent in groups of BatchGetTraces' 5, so a long
list can never be refused for its length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from xrayctl.aws.errors import translate_errors

TRACE_GRAPH_IDS = 5  # trace ids a GetTraceGraph call
MAX_TRACE_IDS = 100  # what `service-map ID...` accepts: 20 calls


@dataclass
class GraphAnswer:
    """What X-Ray answered: each call's services (all its pages), and the window it says it covered."""

    calls: list[list[dict[str, Any]]] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None


def _pages(operation: Any, **kwargs: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every page of one call: the services, and the first page's other fields."""
    services: list[dict[str, Any]] = []
    first: dict[str, Any] | None = None
    tokens: set[str] = set()
    while True:
        response = operation(**kwargs)
        first = first if first is not None else response
        services.extend(response.get("Services", []))
        token = response.get("NextToken")
        if not token or token in tokens:
            return services, first
        tokens.add(token)
        kwargs["NextToken"] = token


def service_graph(client: Any, start: datetime, end: datetime) -> GraphAnswer:
    """GetServiceGraph for [start, end], every page."""
    with translate_errors():
        services, first = _pages(client.get_service_graph, StartTime=start, EndTime=end)
    return GraphAnswer([services], first.get("StartTime", start), first.get("EndTime", end))


def trace_graph(client: Any, trace_ids: Sequence[str]) -> GraphAnswer:
    """GetTraceGraph for `trace_ids`, TRACE_GRAPH_IDS a call, every page of each."""
    wanted = list(dict.fromkeys(trace_ids))
    answer = GraphAnswer()
    with translate_errors():
        for offset in range(0, len(wanted), TRACE_GRAPH_IDS):
            services, _ = _pages(client.get_trace_graph, TraceIds=wanted[offset : offset + TRACE_GRAPH_IDS])
            answer.calls.append(services)
    return answer
