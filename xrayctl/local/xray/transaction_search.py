"""The local X-Ray's Transaction Search operations: the segment destination, the indexing rule, and trace
retrievals with the service's states and limits.

Paths and shapes follow botocore's model of X-Ray (2016-04-12), so botocore and the AWS CLI read every answer:
- GetTraceSegmentDestination / UpdateTraceSegmentDestination: `XRay` or `CloudWatchLogs`, PENDING for
  `pending` seconds after a change, then ACTIVE (what that does to arriving traces: see `destination`).
- GetIndexingRules / UpdateIndexingRule: the one probabilistic rule, `Default`; a DesiredSamplingPercentage
  from 0 to 100. Another name is ResourceNotFoundException.
- StartTraceRetrieval: 1 to 100 trace ids and a window (EndTime not before StartTime) -> a RetrievalToken.
- ListRetrievedTraces: RetrievalStatus SCHEDULED, then RUNNING, then COMPLETE once `retrieval_time` seconds
  have passed; nothing but the status until COMPLETE; then pages of at most 5 traces and `spans_per_page`
  spans (a larger trace continues on the next page, as BatchGetTraces does), with NextToken. `XRAY` (the
  default) gives the stitched segments as BatchGetTraces' Segments; `OTEL` a span per segment and subsegment
  (`otelspans`). A retrieval finds the traces that went to CloudWatch Logs, with their spans in its window.
- GetRetrievedTracesGraph: the retrieved traces' services and edges once COMPLETE (`graph`).
- CancelTraceRetrieval: a retrieval not finished yet becomes CANCELLED; a finished one stays as it is.
A retrieval still running after 60 minutes is TIMEOUT (the service's limit); one whose store read fails is
FAILED. Memory is bounded: at most MAX_RETRIEVALS tokens are remembered (a forgotten one is
ResourceNotFoundException, as one never issued), and only the last RESULTS_KEPT retrievals keep what they
found in memory (an older one reads it again when asked).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from xrayctl.local.xray.destination import DEFAULT_RULE, DESTINATIONS, SearchSettings
from xrayctl.local.xray.graph import service_graph
from xrayctl.local.xray.otelspans import otel_spans
from xrayctl.local.xray.store import StoreError, TraceStore
from xrayctl.text.jsonload import loads

PENDING_SECONDS = 1.0  # how long a destination change stays PENDING
RETRIEVAL_SECONDS = 0.2  # how long a retrieval takes to COMPLETE (SCHEDULED for the first quarter)
SCHEDULED_SHARE = 0.25
RETRIEVAL_LIMIT = 60 * 60.0  # the service times a retrieval out after 60 minutes
MAX_RETRIEVAL_IDS = 100
TRACES_PER_PAGE = 5  # botocore's TraceSpanList
SPANS_PER_PAGE = 100  # botocore's SpanList
SERVICES_PER_PAGE = 1000  # botocore's RetrievedServicesList
MAX_RETRIEVALS = 1000
RESULTS_KEPT = 8
FORMATS = ("XRAY", "OTEL")
SCHEDULED, RUNNING, COMPLETE = "SCHEDULED", "RUNNING", "COMPLETE"
FAILED, CANCELLED, TIMEOUT = "FAILED", "CANCELLED", "TIMEOUT"

Operation = Callable[[dict[str, Any]], dict[str, Any]]


class OperationError(Exception):
    """An error answer: the HTTP status and the AWS error code botocore turns into its exception."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def _invalid(message: str) -> OperationError:
    return OperationError(400, "InvalidRequestException", message)


def _number(body: dict[str, Any], name: str) -> float:
    value = body.get(name)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise _invalid(f"{name} is required and must be a number.")
    return float(value)


def _text(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if (value is None and required) or (value is not None and not isinstance(value, str)):
        raise _invalid(f"{name} {'is required and ' if required else ''}must be a string.")
    return value


def _encode(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def _offset(token: str | None, kind: str) -> int:
    """Where a page starts, from a NextToken this service issued for `kind` (a format, or "graph")."""
    if token is None:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = data["offset"] if data["kind"] == kind else None
    except (ValueError, TypeError, KeyError, binascii.Error):
        offset = None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise _invalid(f"NextToken {token[:40]!r} was not issued by this service for this request.")
    return offset


@dataclass
class _Retrieval:
    trace_ids: tuple[str, ...]
    start: float
    end: float
    started: float  # monotonic seconds
    cancelled: bool = False
    failure: str | None = None
    found: list[dict[str, Any]] | None = None  # BatchGetTraces-shaped traces, once COMPLETE (while kept)
    otel: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # trace id -> its OTel spans


class TransactionSearch:
    """The operations above on a store; `routes()` is what the X-Ray API serves."""

    def __init__(
        self,
        store: TraceStore,
        *,
        pending: float = PENDING_SECONDS,
        retrieval_time: float = RETRIEVAL_SECONDS,
        spans_per_page: int = SPANS_PER_PAGE,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._pending = pending
        self._retrieval_time = retrieval_time
        self._spans_per_page = spans_per_page
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._retrievals: OrderedDict[str, _Retrieval] = OrderedDict()
        self._kept: OrderedDict[str, None] = OrderedDict()  # tokens whose `found` is in memory

    def routes(self) -> dict[tuple[str, str], Operation]:
        return {
            ("POST", "/GetTraceSegmentDestination"): self._get_destination,
            ("POST", "/UpdateTraceSegmentDestination"): self._update_destination,
            ("POST", "/GetIndexingRules"): self._get_indexing_rules,
            ("POST", "/UpdateIndexingRule"): self._update_indexing_rule,
            ("POST", "/StartTraceRetrieval"): self._start_retrieval,
            ("POST", "/ListRetrievedTraces"): self._list_retrieved_traces,
            ("POST", "/GetRetrievedTracesGraph"): self._get_retrieved_graph,
            ("POST", "/CancelTraceRetrieval"): self._cancel_retrieval,
        }

    def hides_traces(self) -> bool:
        """Whether BatchGetTraces finds nothing now: Transaction Search is on (CloudWatchLogs, ACTIVE)."""
        return self._store.search_settings().transaction_search(self._clock())

    # --------------------------------------------------------------------------- destination and rule

    def _destination(self, settings: SearchSettings) -> dict[str, Any]:
        return {"Destination": settings.destination, "Status": settings.status(self._clock())}

    def _get_destination(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._destination(self._store.search_settings())

    def _update_destination(self, body: dict[str, Any]) -> dict[str, Any]:
        destination = _text(body, "Destination")
        if destination is not None and destination not in DESTINATIONS:
            raise _invalid(f"Destination must be one of {', '.join(DESTINATIONS)}.")
        now = self._clock()
        settings = self._store.update_search_settings(
            lambda current: current.switched(destination or current.destination, now, self._pending)
        )
        return self._destination(settings)

    def _rule(self, settings: SearchSettings) -> dict[str, Any]:
        percentage = settings.percentage
        return {
            "Name": DEFAULT_RULE,
            "ModifiedAt": settings.rule_modified_at,
            "Rule": {
                "Probabilistic": {
                    "DesiredSamplingPercentage": percentage,
                    "ActualSamplingPercentage": percentage,
                }
            },
        }

    def _get_indexing_rules(self, body: dict[str, Any]) -> dict[str, Any]:
        _text(body, "NextToken")  # one rule: there is never a next page
        return {"IndexingRules": [self._rule(self._store.search_settings())]}

    def _update_indexing_rule(self, body: dict[str, Any]) -> dict[str, Any]:
        name = _text(body, "Name", required=True)
        rule = body.get("Rule")
        # A union: exactly one member, and Probabilistic is the only one there is.
        probabilistic = rule.get("Probabilistic") if isinstance(rule, dict) and len(rule) == 1 else None
        if not isinstance(probabilistic, dict):
            raise _invalid("Rule must hold exactly one member: Probabilistic.")
        percentage = _number(probabilistic, "DesiredSamplingPercentage")
        if not 0 <= percentage <= 100:
            raise _invalid("DesiredSamplingPercentage must be between 0 and 100.")
        if name != DEFAULT_RULE:
            raise OperationError(404, "ResourceNotFoundException", f"No indexing rule named {name!r}.")
        now = self._clock()
        settings = self._store.update_search_settings(
            lambda current: current.with_percentage(percentage, now)
        )
        return {"IndexingRule": self._rule(settings)}

    # -------------------------------------------------------------------------------------- retrievals

    def _start_retrieval(self, body: dict[str, Any]) -> dict[str, Any]:
        trace_ids = body.get("TraceIds")
        if not isinstance(trace_ids, list) or not all(isinstance(i, str) for i in trace_ids):
            raise _invalid("TraceIds is required and must be a list of strings.")
        if not 1 <= len(trace_ids) <= MAX_RETRIEVAL_IDS:
            raise _invalid(f"TraceIds holds {len(trace_ids)} ids; 1 to {MAX_RETRIEVAL_IDS} are allowed.")
        start, end = _number(body, "StartTime"), _number(body, "EndTime")
        if end < start:
            raise _invalid("EndTime must not be before StartTime.")
        # Hex, not token_urlsafe: a token that starts with '-' is read as an option by the AWS CLI.
        token = secrets.token_hex(32)
        with self._lock:
            self._retrievals[token] = _Retrieval(tuple(trace_ids), start, end, self._monotonic())
            while len(self._retrievals) > MAX_RETRIEVALS:
                forgotten, _ = self._retrievals.popitem(last=False)
                self._kept.pop(forgotten, None)
        return {"RetrievalToken": token}

    def _retrieval(self, body: dict[str, Any]) -> tuple[str, _Retrieval]:
        token = _text(body, "RetrievalToken", required=True)
        assert token is not None
        with self._lock:
            retrieval = self._retrievals.get(token)
        if retrieval is None:
            raise OperationError(404, "ResourceNotFoundException", "No trace retrieval has this token.")
        return token, retrieval

    def _status(self, token: str, retrieval: _Retrieval) -> tuple[str, list[dict[str, Any]]]:
        """Where the retrieval stands now, and what it found once COMPLETE (read again if not in memory)."""
        if retrieval.cancelled:
            return CANCELLED, []
        if retrieval.failure is not None:
            return FAILED, []
        age = self._monotonic() - retrieval.started
        if self._retrieval_time >= RETRIEVAL_LIMIT and age >= RETRIEVAL_LIMIT:
            return TIMEOUT, []
        if age < self._retrieval_time:
            return SCHEDULED if age < self._retrieval_time * SCHEDULED_SHARE else RUNNING, []
        with self._lock:
            found = retrieval.found
            if found is None:
                try:
                    found = self._store.retrieve(retrieval.trace_ids, retrieval.start, retrieval.end)
                except StoreError as exc:
                    retrieval.failure = exc.message
                    return FAILED, []
                retrieval.found = found
            self._kept[token] = None
            self._kept.move_to_end(token)
            while len(self._kept) > RESULTS_KEPT:
                old, _ = self._kept.popitem(last=False)
                if old in self._retrievals:
                    self._retrievals[old].found, self._retrievals[old].otel = None, {}
            return COMPLETE, found

    def _list_retrieved_traces(self, body: dict[str, Any]) -> dict[str, Any]:
        token, retrieval = self._retrieval(body)
        trace_format = _text(body, "TraceFormat") or "XRAY"
        if trace_format not in FORMATS:
            raise _invalid(f"TraceFormat must be one of {', '.join(FORMATS)}.")
        offset = _offset(_text(body, "NextToken"), trace_format)
        status, found = self._status(token, retrieval)
        answer: dict[str, Any] = {"RetrievalStatus": status, "TraceFormat": trace_format, "Traces": []}
        position = taken = 0  # spans before the current trace; spans on this page
        for trace in found:
            spans = self._spans(retrieval, trace, trace_format)
            if position + len(spans) > offset:
                first = max(0, offset - position)
                part = spans[first : first + self._spans_per_page - taken]
                answer["Traces"].append({"Id": trace["Id"], "Duration": trace["Duration"], "Spans": part})
                taken += len(part)
            position += len(spans)
            if taken >= self._spans_per_page or len(answer["Traces"]) >= TRACES_PER_PAGE:
                break
        more = offset + taken < sum(len(self._spans(retrieval, t, trace_format)) for t in found)
        if more:
            answer["NextToken"] = _encode({"kind": trace_format, "offset": offset + taken})
        return answer

    def _spans(self, retrieval: _Retrieval, trace: dict[str, Any], trace_format: str) -> list[dict[str, str]]:
        if trace_format == "XRAY":
            return trace["Segments"]
        spans = retrieval.otel.get(trace["Id"])
        if spans is None:
            segments = [loads(segment["Document"]) for segment in trace["Segments"]]
            spans = retrieval.otel[trace["Id"]] = otel_spans(trace["Id"], segments)
        return [{"Id": span_id, "Document": document} for span_id, document in spans]

    def _get_retrieved_graph(self, body: dict[str, Any]) -> dict[str, Any]:
        token, retrieval = self._retrieval(body)
        offset = _offset(_text(body, "NextToken"), "graph")
        status, found = self._status(token, retrieval)
        answer: dict[str, Any] = {"RetrievalStatus": status, "Services": []}
        traces = ([loads(s["Document"]) for s in trace["Segments"]] for trace in found)
        services = service_graph(traces)
        page = services[offset : offset + SERVICES_PER_PAGE]
        answer["Services"] = [{"Service": service, "Links": []} for service in page]
        if offset + len(page) < len(services):
            answer["NextToken"] = _encode({"kind": "graph", "offset": offset + len(page)})
        return answer

    def _cancel_retrieval(self, body: dict[str, Any]) -> dict[str, Any]:
        token, retrieval = self._retrieval(body)
        if self._status(token, retrieval)[0] in (SCHEDULED, RUNNING):
            retrieval.cancelled = True
        return {}
