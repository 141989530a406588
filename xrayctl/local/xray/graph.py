"""Service graphs as GetServiceGraph and GetTraceGraph return them, from stitched segments.

Every segment (inferred ones included) is a request its service handled; its service is (name, origin,
account), as in the summaries' ServiceIds. A segment whose `parent_id` is a node of another segment of the
trace was called by that segment's service, which gives the caller an edge to it: the function segment under
`AWS::Lambda`, an inferred `AWS::S3::Bucket` under the function that made the aws subsegment. A segment with
no caller in its trace makes its service a root. Statistics count completed segments (one still in
progress has no end_time, so no response time yet) by their worst mark, as the service does: fault (or 5xx),
throttle (or 429), error (or 4xx), else ok; an edge counts the segments of its callee that this caller
called. Nothing here recurses: segments are walked with `stitch.walk`.

What the real service's answer has besides (the developer guide's GetServiceGraph example,
tests/fixtures/xray-real/derived/doc-source__xray-api-gettingdata__block1.json):
- a `client` node in front of each root service: named after it, `Type: client`, `State: unknown`, no
  statistics of its own, one edge to the root carrying the statistics of the requests that entered there;
- `Root: true` on root services only, and `State: unknown` on services known only from inferred segments
  (an S3 bucket, a table), `active` on those that sent segments;
- ReferenceIds that name a service the same way in every answer: here a hash of its identity (and a probe
  past a collision, in the order of identities, so an answer never gives two services one id). Pages of one
  graph (`NextToken`) therefore agree on them, and so do two windows.
"""

from __future__ import annotations

import hashlib
import json
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
    active: bool = False  # some segment of it was sent, not inferred
    stats: _Stats = field(default_factory=_Stats)
    entered: _Stats | None = None  # requests that entered the trace here (a root): its client's edge
    edges: dict[ServiceKey, _Stats] = field(default_factory=dict)  # callee -> requests to it


_ID_SPACE = 2**31  # ReferenceId is an integer in botocore's model; stay within a signed 32-bit one


Identity = tuple[str, ServiceKey]  # ("service" or "client", the service's key)


def _reference_ids(identities: list[Identity]) -> dict[Identity, int]:
    """A stable id per identity: the hash of the identity, probed past collisions in identity order."""
    taken: dict[int, Identity] = {}
    ids: dict[Identity, int] = {}
    for identity in sorted(identities, key=repr):
        attempt = 0
        while True:
            seed = json.dumps([identity[0], list(identity[1]), attempt]).encode()
            candidate = int.from_bytes(hashlib.blake2b(seed, digest_size=8).digest(), "big") % _ID_SPACE
            if candidate not in taken:
                break
            attempt += 1
        taken[candidate] = identity
        ids[identity] = candidate
    return ids


def service_graph(traces: Iterable[Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The Services of a graph over `traces`, each the stitched segments of one trace (as BatchGetTraces
    returns them): every service once, with its edges to the services it called, and a client in front of
    each root; in the order of their ReferenceIds (so pages of one graph never overlap)."""
    services: dict[ServiceKey, _Service] = {}
    for segments in traces:
        owner: dict[str, ServiceKey] = {}  # node id -> the service of the segment that holds the node
        keys = [service_of(segment) for segment in segments]
        for segment, key in zip(segments, keys, strict=True):
            for node in walk(segment):
                if isinstance(node.get("id"), str):
                    owner.setdefault(node["id"], key)
        for segment, key in zip(segments, keys, strict=True):
            service = services.setdefault(key, _Service())
            service.active = service.active or segment.get("inferred") is not True
            service.stats.add(segment)
            parent_id = segment.get("parent_id")
            caller = owner.get(parent_id) if isinstance(parent_id, str) else None
            if caller is None:
                service.entered = service.entered or _Stats()
                service.entered.add(segment)
                continue
            services.setdefault(caller, _Service()).edges.setdefault(key, _Stats()).add(segment)
    identities: list[Identity] = [("service", key) for key in services]
    identities += [("client", key) for key, service in services.items() if service.entered is not None]
    ids = _reference_ids(identities)
    answer = []
    for key, service in services.items():
        entry: dict[str, Any] = {**service_id(key), "ReferenceId": ids[("service", key)]}
        if service.entered is not None:
            entry["Root"] = True
        entry["State"] = "active" if service.active else "unknown"
        entry.update(service.stats.fields())
        entry["DurationHistogram"] = service.stats.histogram()
        entry["Edges"] = [
            {"ReferenceId": ids[("service", callee)], **edge.fields(), "Aliases": []}
            for callee, edge in service.edges.items()
        ]
        answer.append(entry)
        if service.entered is not None:
            answer.append(_client(key, ids[("client", key)], ids[("service", key)], service.entered))
    return sorted(answer, key=lambda entry: entry["ReferenceId"])


def _client(root: ServiceKey, reference_id: int, root_id: int, entered: _Stats) -> dict[str, Any]:
    """The node X-Ray puts in front of a root service: the callers outside the traces, with one edge."""
    edge = entered.fields()
    client: dict[str, Any] = {
        "ReferenceId": reference_id,
        "Name": root[0],
        "Names": [root[0]],
        "Type": "client",
        "State": "unknown",
    }
    for field_name in ("StartTime", "EndTime"):
        if field_name in edge:
            client[field_name] = edge[field_name]
    client["Edges"] = [{"ReferenceId": root_id, **edge, "Aliases": []}]
    return client
