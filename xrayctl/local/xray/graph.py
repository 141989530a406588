"""Service graphs as GetServiceGraph and GetTraceGraph return them, from stitched segments.

Every segment (inferred ones included) is a request its service handled; its service is (name, origin,
account), as in the summaries' ServiceIds. A segment whose `parent_id` is a node of another segment of the
trace was called by that segment's service, which gives the caller an edge to it: the function segment under
`AWS::Lambda`, an inferred `AWS::S3::Bucket` under the function that made the aws subsegment. A segment with
no caller in its trace makes its service a root. Statistics count completed segments (one still in
progress has no end_time, so no response time yet) by their worst mark, as the service does: fault (or 5xx),
throttle (or 429), error (or 4xx), else ok; an edge counts the segments of its callee that this caller
called. Nothing here recurses: segments are walked with `stitch.walk`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from xrayctl.local.xray.stitch import as_mapping, walk
from xrayctl.local.xray.summaries import ServiceKey, epoch_time, service_id, service_of
from xrayctl.trace.fields import http_status, status


def _ignore(_: str) -> None:
    """Data problems are the inspector's to report; a graph counts what it can read."""


@dataclass(slots=True)
class _Stats:
    """Requests on a service or an edge: their span, counts by status and response times."""

    start: float | None = None
    end: float | None = None
    counts: Counter[str] = field(default_factory=Counter)
    times: list[float] = field(default_factory=list)

    def add(self, segment: dict[str, Any]) -> None:
        start, end = epoch_time(segment.get("start_time")), epoch_time(segment.get("end_time"))
        if start is not None:
            self.start = start if self.start is None else min(self.start, start)
        if end is not None:
            self.end = end if self.end is None else max(self.end, end)
        if start is None or end is None:
            return
        code = http_status(dict(as_mapping(segment.get("http"))))
        self.counts[status(segment, code, _ignore)] += 1
        self.times.append(max(end - start, 0.0))

    def fields(self) -> dict[str, Any]:
        """StartTime, EndTime, and the statistics in botocore's EdgeStatistics / ServiceStatistics shape."""
        result: dict[str, Any] = {}
        if self.start is not None:
            result["StartTime"] = self.start
        if self.end is not None:
            result["EndTime"] = self.end
        throttles, errors, faults = self.counts["throttle"], self.counts["error"], self.counts["fault"]
        result["SummaryStatistics"] = {
            "OkCount": self.counts["ok"],
            "ErrorStatistics": {
                "ThrottleCount": throttles,
                "OtherCount": errors,
                "TotalCount": throttles + errors,
            },
            "FaultStatistics": {"OtherCount": faults, "TotalCount": faults},
            "TotalCount": len(self.times),
            "TotalResponseTime": round(sum(self.times), 6),
        }
        result["ResponseTimeHistogram"] = self.histogram()
        return result

    def histogram(self) -> list[dict[str, Any]]:
        """Response times to the millisecond, each with how many requests took it."""
        counts = Counter(round(time, 3) for time in self.times)
        return [{"Value": value, "Count": counts[value]} for value in sorted(counts)]


@dataclass(slots=True)
class _Service:
    reference_id: int
    root: bool = False
    stats: _Stats = field(default_factory=_Stats)
    edges: dict[ServiceKey, _Stats] = field(default_factory=dict)  # callee -> requests to it


def service_graph(traces: Iterable[Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The Services of a graph over `traces`, each the stitched segments of one trace (as BatchGetTraces
    returns them): every service once, with its edges to the services it called."""
    services: dict[ServiceKey, _Service] = {}
    for segments in traces:
        owner: dict[str, ServiceKey] = {}  # node id -> the service of the segment that holds the node
        keys = [service_of(segment) for segment in segments]
        for segment, key in zip(segments, keys, strict=True):
            for node in walk(segment):
                if isinstance(node.get("id"), str):
                    owner.setdefault(node["id"], key)
        for segment, key in zip(segments, keys, strict=True):
            service = services.setdefault(key, _Service(len(services)))
            service.stats.add(segment)
            parent_id = segment.get("parent_id")
            caller = owner.get(parent_id) if isinstance(parent_id, str) else None
            if caller is None:
                service.root = True
                continue
            services.setdefault(caller, _Service(len(services))).edges.setdefault(key, _Stats()).add(segment)
    return [
        {
            **service_id(key),
            "ReferenceId": service.reference_id,
            "Root": service.root,
            "State": "active",
            **service.stats.fields(),
            "DurationHistogram": service.stats.histogram(),
            "Edges": [
                {"ReferenceId": services[callee].reference_id, **edge.fields(), "Aliases": []}
                for callee, edge in service.edges.items()
            ],
        }
        for key, service in services.items()
    ]
