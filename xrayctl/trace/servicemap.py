"""A service map from X-Ray's service graph (GetServiceGraph / GetTraceGraph, as botocore parses them).

Each service once, keyed by what X-Ray identifies it by (name, type, account), with its statistics (requests,
OK / error / throttle / fault counts, total response time) and its response-time histogram, and each edge
to a service it called with the edge's own statistics and histogram. Percentiles are read from the
histograms (nearest rank: a value some request really took, to the histogram's precision).

ReferenceIds are unique within one call's graph only, so a graph read in several calls (GetTraceGraph, five
traces a call) is joined by service identity: the statistics of calls over different traces add up.

`walk` lays the map out as a tree from its entry points: the clients X-Ray puts in front of the root
services, then root services no client reaches, then anything not reached yet (a cycle). A service reached
a second time is not drawn again: it is referenced, with the edge that reached it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ServiceKey = tuple[str, str | None, str | None]  # name, type, account id
PERCENTILES = (0.5, 0.9, 0.95, 0.99)
CLIENT = "client"


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


@dataclass(slots=True)
class Stats:
    """Requests on a service or an edge: counts by outcome, total response time, the histogram."""

    requests: int = 0
    ok: int = 0
    error: int = 0  # 4xx other than 429
    throttle: int = 0  # 429
    fault: int = 0  # 5xx
    total_response_time: float = 0.0
    histogram: dict[float, int] = field(default_factory=dict)  # response time (s) -> requests
    start: datetime | None = None
    end: datetime | None = None

    def add(self, entry: Mapping[str, Any], statistics_key: str = "SummaryStatistics") -> None:
        """Fold in a Service's or an Edge's statistics, response-time histogram and times."""
        statistics = entry.get(statistics_key)
        if isinstance(statistics, Mapping):
            errors = statistics.get("ErrorStatistics")
            faults = statistics.get("FaultStatistics")
            errors = errors if isinstance(errors, Mapping) else {}
            faults = faults if isinstance(faults, Mapping) else {}
            self.requests += _count(statistics.get("TotalCount"))
            self.ok += _count(statistics.get("OkCount"))
            self.throttle += _count(errors.get("ThrottleCount"))
            self.error += _count(errors.get("OtherCount"))
            self.fault += _count(faults.get("TotalCount"))
            self.total_response_time += _number(statistics.get("TotalResponseTime")) or 0.0
        for bucket in entry.get("ResponseTimeHistogram") or []:
            value, count = _number(bucket.get("Value")), _count(bucket.get("Count"))
            if value is not None and count:
                self.histogram[value] = self.histogram.get(value, 0) + count
        start, end = entry.get("StartTime"), entry.get("EndTime")
        if isinstance(start, datetime):
            self.start = start if self.start is None else min(self.start, start)
        if isinstance(end, datetime):
            self.end = end if self.end is None else max(self.end, end)

    @property
    def average(self) -> float | None:
        return self.total_response_time / self.requests if self.requests else None

    def percentiles(self) -> dict[float, float | None]:
        """Each of PERCENTILES, read from the histogram by nearest rank; None for an empty histogram."""
        total = sum(self.histogram.values())
        result: dict[float, float | None] = {}
        if not total:
            return dict.fromkeys(PERCENTILES)
        ordered = sorted(self.histogram.items())
        for quantile in PERCENTILES:
            rank = max(1, math.ceil(quantile * total))
            seen = 0
            for value, count in ordered:
                seen += count
                if seen >= rank:
                    result[quantile] = value
                    break
        return result


@dataclass(slots=True, eq=False)
class Edge:
    target: ServiceKey
    stats: Stats = field(default_factory=Stats)
    edge_type: str | None = None  # `link` for an asynchronous edge


@dataclass(slots=True, eq=False)
class Service:
    key: ServiceKey
    names: list[str] = field(default_factory=list)
    root: bool = False
    state: str | None = None
    reference_id: int | None = None  # as the first call that named it gave it
    stats: Stats | None = None  # None when X-Ray gave no statistics (a client)
    edges: dict[ServiceKey, Edge] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.key[0]

    @property
    def type(self) -> str | None:
        return self.key[1]

    @property
    def account_id(self) -> str | None:
        return self.key[2]

    @property
    def is_client(self) -> bool:
        return self.type == CLIENT


@dataclass(frozen=True, slots=True)
class MapRow:
    """One line of the map drawn as a tree: a service, how it was reached, and whether it is drawn above."""

    service: Service
    depth: int
    caller: Service | None  # None for an entry point
    edge: Edge | None
    repeated: bool  # reached before: its own edges are drawn where it was first reached
    last: bool  # the last of its siblings (for the tree's guides)


@dataclass
class ServiceMap:
    services: dict[ServiceKey, Service] = field(default_factory=dict)
    start: datetime | None = None
    end: datetime | None = None
    warnings: list[str] = field(default_factory=list)

    def entry_points(self) -> list[Service]:
        """Clients first, then root services no client calls, then services nothing reaches (cycles)."""
        called = {target for service in self.services.values() for target in service.edges}
        clients = [service for service in self.services.values() if service.is_client]
        roots = [s for s in self.services.values() if not s.is_client and s.root and s.key not in called]
        return sorted(clients, key=_order) + sorted(roots, key=_order)

    def callees(self, service: Service) -> list[tuple[Service, Edge]]:
        """The services `service` called, busiest edge first."""
        pairs = [(self.services[key], edge) for key, edge in service.edges.items() if key in self.services]
        return sorted(pairs, key=lambda pair: (-pair[1].stats.requests, *_order(pair[0])))

    def walk(self) -> Iterator[MapRow]:
        """The map as a tree from its entry points, depth first, without recursion; each service drawn
        once, later reaches referenced. What no entry point reaches (a cycle of services) follows, each
        part from its first member by name."""
        drawn: set[ServiceKey] = set()
        yield from self._tree(self.entry_points(), drawn)
        for service in sorted(self.services.values(), key=_order):
            if service.key not in drawn:
                yield from self._tree([service], drawn)

    def _tree(self, starts: list[Service], drawn: set[ServiceKey]) -> Iterator[MapRow]:
        pending: list[tuple[Service, int, Service | None, Edge | None, bool]] = [
            (service, 0, None, None, index == len(starts) - 1)
            for index, service in reversed(list(enumerate(starts)))
        ]
        while pending:
            service, depth, caller, edge, last = pending.pop()
            repeated = service.key in drawn
            yield MapRow(service, depth, caller, edge, repeated, last)
            if repeated:
                continue
            drawn.add(service.key)
            callees = self.callees(service)
            pending.extend(
                (callee, depth + 1, service, callee_edge, index == len(callees) - 1)
                for index, (callee, callee_edge) in reversed(list(enumerate(callees)))
            )


def _order(service: Service) -> tuple[str, str, str]:
    return (service.name.casefold(), service.type or "", service.account_id or "")


def _key(entry: Mapping[str, Any]) -> ServiceKey:
    name = entry.get("Name")
    names = entry.get("Names")
    if not isinstance(name, str):
        name = next((n for n in names if isinstance(n, str)), "") if isinstance(names, list) else ""
    kind, account = entry.get("Type"), entry.get("AccountId")
    return (name, kind if isinstance(kind, str) else None, account if isinstance(account, str) else None)


def build_map(
    calls: Iterable[Iterable[Mapping[str, Any]]],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> ServiceMap:
    """The map of one or more calls' services (each call's pages together: its ReferenceIds are its own)."""
    result = ServiceMap(start=start, end=end)
    for services in calls:
        entries: list[tuple[ServiceKey, Mapping[str, Any]]] = []
        by_reference: dict[Any, ServiceKey] = {}
        for entry in services:
            reference = entry.get("ReferenceId")
            if reference is not None and reference in by_reference:
                continue  # a page repeating a service already read in this call
            key = _key(entry)
            by_reference[reference] = key
            entries.append((key, entry))
        for key, entry in entries:
            service = result.services.get(key)
            if service is None:
                reference = entry.get("ReferenceId")
                service = result.services[key] = Service(
                    key, reference_id=reference if isinstance(reference, int) else None
                )
            for name in entry.get("Names") or [key[0]]:
                if isinstance(name, str) and name not in service.names:
                    service.names.append(name)
            service.root = service.root or entry.get("Root") is True
            state = entry.get("State")
            if isinstance(state, str) and (service.state is None or state == "active"):
                service.state = state
            if isinstance(entry.get("SummaryStatistics"), Mapping):
                service.stats = service.stats or Stats()
                service.stats.add(entry)
            for raw in entry.get("Edges") or []:
                target = by_reference.get(raw.get("ReferenceId"))
                if target is None:
                    result.warnings.append(
                        f"{key[0]}: an edge to ReferenceId {raw.get('ReferenceId')!r}, which the graph "
                        "does not hold: left out"
                    )
                    continue
                edge = service.edges.setdefault(target, Edge(target))
                edge.stats.add(raw)
                edge_type = raw.get("EdgeType")
                if isinstance(edge_type, str):
                    edge.edge_type = edge_type
    return result
