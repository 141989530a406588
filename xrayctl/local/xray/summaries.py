"""Trace summaries as GetTraceSummaries computes them, kept up to date one document at a time.

Each stored document contributes `DocFacts` (times, flags, annotations, services, users, ARNs, and, for a
segment, what the summary needs if it is the root). A `TraceAggregate` folds facts in as documents arrive,
so a write costs what its own documents cost, however large the trace already is; a document that replaces
one already folded in makes the store fold the trace again from scratch (see `store`), so each document id
is folded at most once. `TraceAggregate.summary` turns the fold into a `TraceSummary` in the service's JSON
shape. Documents are walked without recursion.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from xrayctl.local.xray.stitch import as_mapping, inferred_identity

MAX_ANNOTATION_KEYS = 50  # what the real service indexes per trace

# A service as (name, type or None, account id or None): hashable, and a JSON list when stored.
ServiceKey = tuple[str, str | None, str | None]
# Where an annotation came from: the service of its segment, or the id of the independent subsegment document
# that carried it, resolved to a service when the summary is read (its segment may arrive later).
Source = ServiceKey | str


def finite_number(value: Any) -> float | None:
    """A finite number as a float, else None: documents can hold NaN, Infinity or 400-digit integers (JSON
    reads them all), which would otherwise make times, durations and the answer's JSON meaningless."""
    if type(value) is float:  # nearly always: every time in a document, on every write
        return value if math.isfinite(value) else None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


# The times an answer can carry: clients parse timestamps into datetimes, which span the years 1 to 9999. One
# time outside them (a start_time of 1e12, the year 33658) would make every answer that holds it unreadable.
EARLIEST, LATEST = -62_135_596_800.0, 253_402_300_799.0


def epoch_time(value: Any) -> float | None:
    """A time in epoch seconds that a client can read back as a timestamp, else None."""
    if type(value) is float:  # every time in a document, several a document on every write
        # NaN fails both comparisons and an infinity one of them: the range is the finiteness test too.
        return value if EARLIEST <= value <= LATEST else None
    number = finite_number(value)
    return number if number is not None and EARLIEST <= number <= LATEST else None


def _annotation(value: Any) -> tuple[str, Any] | None:
    if isinstance(value, bool):
        return ("BooleanValue", value)
    if isinstance(value, (int, float)):
        number = finite_number(value)
        return None if number is None else ("NumberValue", number)
    if isinstance(value, str):
        return ("StringValue", value)
    return None  # the SDKs drop other types; the service indexes only these three


def service_of(document: Mapping[str, Any]) -> ServiceKey:
    aws = document.get("aws")
    account = aws.get("account_id") if isinstance(aws, Mapping) else None
    origin = document.get("origin")
    return (
        str(document.get("name", "")),
        origin if isinstance(origin, str) else None,
        account if isinstance(account, str) else None,
    )


def service_id(key: ServiceKey | list[Any]) -> dict[str, Any]:
    name, type_, account = key
    result: dict[str, Any] = {"Name": name, "Names": [name]}
    if account:
        result["AccountId"] = account
    if type_:
        result["Type"] = type_
    return result


@dataclass(slots=True)
class DocFacts:
    """What one segment or independent subsegment document adds to its trace's summary."""

    id: str
    is_segment: bool
    has_parent: bool
    start: float
    end: float | None
    in_progress: bool
    error: bool = False
    fault: bool = False
    throttle: bool = False
    annotations: list[tuple[str, str, Any]] = field(default_factory=list)  # (key, value type, value)
    services: list[ServiceKey] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    arns: list[str] = field(default_factory=list)
    http: dict[str, Any] = field(default_factory=dict)  # the summary's Http, if this document is the root
    service: ServiceKey | None = None  # a segment's own service


def _http_summary(http: Any) -> dict[str, Any]:
    if not isinstance(http, Mapping):
        return {}
    request = as_mapping(http.get("request"))
    response = as_mapping(http.get("response"))
    result: dict[str, Any] = {}
    for target, source, key in (
        ("HttpURL", request, "url"),
        ("HttpMethod", request, "method"),
        ("UserAgent", request, "user_agent"),
        ("ClientIp", request, "client_ip"),
    ):
        if isinstance(source.get(key), str):
            result[target] = source[key]
    status = response.get("status")
    if isinstance(status, int) and not isinstance(status, bool):
        result["HttpStatus"] = status
    return result


_CALL_NAMESPACES = ("aws", "remote")  # the calls X-Ray infers a segment for


def doc_facts(document: dict[str, Any]) -> DocFacts:
    """Facts of one validated document (see `store.validate`): `id` and a numeric `start_time` are present."""
    # Every stored document passes through here on the write path: fields are read once into locals, and a
    # parsed document's objects are dicts (the ABC test of Mapping is the fallback, not the rule).
    is_segment = document.get("type") != "subsegment"
    service: ServiceKey | None = None
    services: list[ServiceKey] = []
    users: list[str] = []
    http: dict[str, Any] = {}
    if is_segment:
        service = service_of(document)
        services.append(service)
        http = _http_summary(document.get("http"))
        if isinstance(document.get("user"), str):
            users.append(document["user"])
    first, last = float(document["start_time"]), epoch_time(document.get("end_time"))
    in_progress = error = fault = throttle = False
    annotations: list[tuple[str, str, Any]] = []
    arns: list[str] = []
    stack = [document]  # walk(), inlined: a generator step per node is a tenth of this function's cost
    while stack:
        node = stack.pop()
        get = node.get
        children = get("subsegments")
        if isinstance(children, list):
            stack.extend(child for child in children if isinstance(child, dict))
        start, end = epoch_time(get("start_time")), epoch_time(get("end_time"))
        if end is None or get("in_progress") is True:
            in_progress = True
        error = error or get("error") is True
        fault = fault or get("fault") is True
        throttle = throttle or get("throttle") is True
        if start is not None and start < first:
            first = start
        if end is not None and (last is None or end > last):
            last = end
        node_annotations = get("annotations")
        if node_annotations and (type(node_annotations) is dict or isinstance(node_annotations, Mapping)):
            for key, raw in node_annotations.items():
                typed = _annotation(raw)
                if typed is not None:
                    annotations.append((str(key), *typed))
        arn = get("resource_arn")
        if isinstance(arn, str):
            arns.append(arn)
        if get("namespace") in _CALL_NAMESPACES:  # inferred_identity's first test, without the call
            identity = inferred_identity(node)
            if identity is not None:
                services.append((identity[0], identity[1], None))
    return DocFacts(
        document["id"],
        is_segment,
        isinstance(document.get("parent_id"), str),
        first,
        last,
        in_progress,
        error,
        fault,
        throttle,
        annotations,
        services,
        users,
        arns,
        http,
        service,
    )


# One encoder for every write: json.dumps with arguments builds a new one per call. The fold holds only what
# was parsed from documents (trees, never a cycle), so the circular-reference bookkeeping is not needed.
_encode_compact = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


_SCAN_SOURCES = 16  # below this many sources a value's list is searched; above, a set is kept beside it


def _source_key(source: Any) -> Any:
    """An annotation's source (a service as a list, or a document id) as a hashable value equal to another's
    exactly when the sources are equal (a tuple never equals a string)."""
    return tuple(source) if isinstance(source, list) else source


@dataclass(slots=True)
class TraceAggregate:
    """The running fold of a trace's documents; stored as JSON beside the trace's index columns."""

    start: float | None = None
    end: float | None = None
    in_progress: list[str] = field(default_factory=list)  # ids of documents that are still open
    error: bool = False
    fault: bool = False
    throttle: bool = False
    # key -> [[value type, value, [sources...]], ...]
    annotations: dict[str, list[list[Any]]] = field(default_factory=dict)
    dropped_annotation_keys: int = 0
    services: list[list[Any]] = field(default_factory=list)
    users: list[list[Any]] = field(default_factory=list)  # [name, service]
    arns: list[str] = field(default_factory=list)
    # The root segment: no parent first, then the earliest. [has_parent, start, end, id, http, service]
    root: list[Any] | None = None
    # Not stored: annotation key -> (value type, value) -> [its entry in `annotations`, the entry's sources
    # as hashable keys once they are many, else None], built for a key the first time a write folds a value
    # of it in. Without it, each value folded in scanned every value the key already had (and each source
    # every source of the value): a trace whose annotation takes a new value in each subsegment cost
    # quadratic time to write.
    _index: dict[str, dict[tuple[str, Any], list[Any]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def from_json(cls, text: str | None) -> TraceAggregate:
        return cls(**json.loads(text)) if text else cls()

    def to_json(self) -> str:
        # Not dataclasses.asdict: its deep copy costs more than the rest of a write.
        return _encode_compact({name: getattr(self, name) for name in _STORED_FIELDS})

    def add(self, facts: DocFacts) -> None:
        self.start = facts.start if self.start is None else min(self.start, facts.start)
        if facts.end is not None:
            self.end = facts.end if self.end is None else max(self.end, facts.end)
        if facts.in_progress:
            self.in_progress.append(facts.id)
        self.error |= facts.error
        self.fault |= facts.fault
        self.throttle |= facts.throttle
        source: Any = list(facts.service) if facts.service is not None else facts.id
        for key, kind, value in facts.annotations:
            self._add_annotation(key, kind, value, source)
        for service in facts.services:
            as_list = list(service)
            if as_list not in self.services:
                self.services.append(as_list)
        for user in facts.users:
            if [user, source] not in self.users:
                self.users.append([user, source])
        if facts.arns:  # most documents have none: no generator to build and drop
            self.arns.extend(arn for arn in facts.arns if arn not in self.arns)
        if facts.is_segment:
            self._offer_root(facts)

    def _add_annotation(self, key: str, kind: str, value: Any, source: Any) -> None:
        values = self.annotations.get(key)
        if values is None:
            if len(self.annotations) >= MAX_ANNOTATION_KEYS:
                self.dropped_annotation_keys += 1
                return
            values = self.annotations[key] = []
        index = self._index.get(key)
        if index is None:
            # Values are booleans, finite floats and strings: a dict finds exactly the entry `==` would (True
            # and 1.0 have different value types); reversed, so the first of two equal entries is the one.
            index = self._index[key] = {(entry[0], entry[1]): [entry, None] for entry in reversed(values)}
        found = index.get((kind, value))
        if found is None:
            entry = [kind, value, [source]]
            values.append(entry)
            index[(kind, value)] = [entry, None]
            return
        entry, seen = found
        if seen is None and len(entry[2]) < _SCAN_SOURCES:
            if source not in entry[2]:
                entry[2].append(source)
            return
        if seen is None:  # many sources (independent subsegments): a set of them from now on
            seen = found[1] = {_source_key(known) for known in entry[2]}
        source_key = _source_key(source)
        if source_key not in seen:
            seen.add(source_key)
            entry[2].append(source)

    def _offer_root(self, facts: DocFacts) -> None:
        candidate = [
            facts.has_parent,
            facts.start,
            facts.end,
            facts.id,
            facts.http,
            list(facts.service or ()),
        ]
        if self.root is None or candidate[:2] < self.root[:2]:
            self.root = candidate

    @property
    def is_partial(self) -> bool:
        return bool(self.in_progress)

    @property
    def duration(self) -> float | None:
        return None if self.start is None or self.end is None else self.end - self.start

    @property
    def response_time(self) -> float | None:
        if self.root is None or self.root[2] is None:
            return None
        return float(self.root[2] - self.root[1])

    def summary(
        self, trace_id: str, revision: int, resolve: Callable[[str], ServiceKey | None] | None = None
    ) -> dict[str, Any]:
        """The TraceSummary; `resolve` maps a subsegment document id to its segment's service, if known."""

        # Most values of a trace come from the same few services: each list is built once per summary (and
        # shared: the summary is only serialized), which halves the cost of a GetTraceSummaries page.
        built: dict[tuple[Any, ...], list[dict[str, Any]]] = {}

        def service_ids(sources: list[Any]) -> list[dict[str, Any]]:
            signature = tuple(tuple(source) if isinstance(source, list) else source for source in sources)
            cached = built.get(signature)
            if cached is not None:
                return cached
            keys: list[ServiceKey] = []
            for source in sources:
                key = tuple(source) if isinstance(source, list) else (resolve(source) if resolve else None)
                if key is not None and key not in keys:
                    keys.append(key)
            built[signature] = result = [service_id(key) for key in keys]
            return result

        summary: dict[str, Any] = {
            "Id": trace_id,
            "HasError": self.error,
            "HasFault": self.fault,
            "HasThrottle": self.throttle,
            "IsPartial": self.is_partial,
            "Http": dict(self.root[4]) if self.root else {},
            "Annotations": {
                key: [
                    {"AnnotationValue": {kind: value}, "ServiceIds": service_ids(sources)}
                    for kind, value, sources in values
                ]
                for key, values in self.annotations.items()
            },
            "Users": [{"UserName": name, "ServiceIds": service_ids([source])} for name, source in self.users],
            "ServiceIds": [service_id(key) for key in self.services],
            "ResourceARNs": [{"ARN": arn} for arn in self.arns],
            "InstanceIds": [],
            "AvailabilityZones": [],
            "FaultRootCauses": [],
            "ErrorRootCauses": [],
            "ResponseTimeRootCauses": [],
            "Revision": revision,
        }
        if self.start is not None:
            summary["StartTime"] = self.start
            summary["MatchedEventTime"] = self.start
        if self.duration is not None:
            summary["Duration"] = round(self.duration, 6)
        if self.response_time is not None:
            summary["ResponseTime"] = round(self.response_time, 6)
        if self.root and self.root[5]:
            summary["EntryPoint"] = service_id(self.root[5])
        return summary


_STORED_FIELDS = tuple(name for name in TraceAggregate.__slots__ if not name.startswith("_"))
