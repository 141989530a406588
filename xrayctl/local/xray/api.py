"""The local X-Ray service: the REST-JSON operations xrayctl, the AWS CLI and `sam traces` call, on a store.

Paths, shapes and error codes follow botocore's model of X-Ray (2016-04-12), so botocore parses every answer
as it would the real service's: PutTraceSegments (POST /TraceSegments); BatchGetTraces (POST /Traces, at most
5 ids, in pages of `segments_per_page` segments: a large trace is split over pages, as the service may split
it, and a client merges pages by trace id); GetTraceSummaries (POST /TraceSummaries, NextToken paging,
FilterExpression); GetServiceGraph and GetTraceGraph (services, edges and their statistics from the stored
segments, `graph_page_size` services a page, NextToken paging: see `graph`); the Transaction Search
operations (the segment destination, the indexing rule, trace retrievals: see `transaction_search`), with
which BatchGetTraces finds nothing while the destination is CloudWatchLogs, as in AWS; and GET /health for
the stack's own readiness checks. `Sampling` is accepted and ignored: every trace is returned.

It is also the X-Ray OTLP endpoint (`POST /v1/traces`, as `https://xray.<region>.amazonaws.com/v1/traces`):
OTLP/HTTP with a protobuf or JSON ExportTraceServiceRequest (gzip allowed), answered in the request's
encoding; spans that cannot be stored are counted in OTLP's `partial_success` (`rejected_spans`, with the
first reason), a body that is no request at all gets 400 with a google.rpc.Status, another content type 415.

`delay` adds latency to every X-Ray operation (as a distant region would), and `/health` reports how many
operations were in flight at once at most (`peak_in_flight`), so a benchmark can see a client's concurrency.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from xrayctl.errors import UsageError
from xrayctl.local.httpserver import LoopbackHTTPServer, Request, Response
from xrayctl.local.xray import otlp
from xrayctl.local.xray.destination import XRAY
from xrayctl.local.xray.graph import service_graph
from xrayctl.local.xray.store import DEFAULT_PAGE_SIZE, TIME_RANGE_TYPES, StoreError, TraceStore
from xrayctl.local.xray.transaction_search import (
    PENDING_SECONDS,
    RETRIEVAL_SECONDS,
    OperationError,
    TransactionSearch,
)
from xrayctl.trace.otlp import Problem

logger = logging.getLogger(__name__)

MAX_BATCH_TRACE_IDS = 5
DEFAULT_SEGMENTS_PER_PAGE = 100
DEFAULT_GRAPH_PAGE_SIZE = 100  # services a GetServiceGraph / GetTraceGraph page
OTLP_PATH = "/v1/traces"
MAX_OTLP_BODY = 16 * 1024 * 1024  # an OTLP request, once decompressed
_PROTOBUF = "application/x-protobuf"


class _BadRequest(Exception):
    def __init__(self, message: str, code: str = "InvalidRequestException") -> None:
        super().__init__(message)
        self.code = code


def _time(body: dict[str, Any], field: str) -> float:
    value = body.get(field)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise _BadRequest(f"{field} is required and must be a timestamp.")
    return float(value)


def _string_list(body: dict[str, Any], field: str) -> list[str]:
    value = body.get(field)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _BadRequest(f"{field} is required and must be a list of strings.")
    return value


def _optional_string(body: dict[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise _BadRequest(f"{field} must be a string.")
    return value


def _encode_offset(field: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({field: offset}).encode()).decode()


def _graph_position(token: str | None) -> int:
    """The last ReferenceId the previous page of a graph returned (-1 before the first page)."""
    return -1 if token is None else _segment_offset(token, "after")


def _segment_offset(token: str | None, field: str = "segments") -> int:
    """How many segments of the batch earlier pages returned, from BatchGetTraces' NextToken (or another
    non-negative integer a token of ours holds in `field`)."""
    if token is None:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))[field]
    except (ValueError, TypeError, KeyError, binascii.Error):
        offset = None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise _BadRequest(f"NextToken {token[:40]!r} was not issued by this service.")
    return offset


class XRayApiServer:
    def __init__(
        self,
        store: TraceStore,
        *,
        port: int = 0,
        delay: float = 0.0,
        page_size: int = DEFAULT_PAGE_SIZE,
        segments_per_page: int = DEFAULT_SEGMENTS_PER_PAGE,
        graph_page_size: int = DEFAULT_GRAPH_PAGE_SIZE,
        pending: float = PENDING_SECONDS,
        retrieval_time: float = RETRIEVAL_SECONDS,
    ) -> None:
        """`pending`: seconds a destination change stays PENDING; `retrieval_time`: seconds a trace
        retrieval takes to COMPLETE."""
        self._store = store
        self._graph_page_size = graph_page_size
        self._search = TransactionSearch(
            store, pending=pending, retrieval_time=retrieval_time, spans_per_page=segments_per_page
        )
        self._delay = delay
        self._page_size = page_size
        self._segments_per_page = segments_per_page
        self._counter_lock = threading.Lock()
        self._in_flight = 0
        self._peak_in_flight = 0
        self._routes: dict[tuple[str, str], Callable[[dict[str, Any]], dict[str, Any] | Response]] = {
            ("POST", "/TraceSegments"): self._put_trace_segments,
            ("POST", "/Traces"): self._batch_get_traces,
            ("POST", "/TraceSummaries"): self._get_trace_summaries,
            ("POST", "/ServiceGraph"): self._get_service_graph,
            ("POST", "/TraceGraph"): self._get_trace_graph,
            **self._search.routes(),
            ("GET", "/health"): lambda _: {
                "status": "ok",
                **self._store.stats(),
                "peak_in_flight": self._peak_in_flight,
            },
        }
        self._http = LoopbackHTTPServer(self._handle, port=port)

    @property
    def url(self) -> str:
        return self._http.url

    def start(self) -> XRayApiServer:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def _handle(self, request: Request) -> Response:
        if request.path.startswith("/health"):  # the stack's own polling is not a client's operation
            return self._route(request)
        with self._counter_lock:
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)
        try:
            if self._delay:
                time.sleep(self._delay)
            return self._route(request)
        finally:
            with self._counter_lock:
                self._in_flight -= 1

    def _route(self, request: Request) -> Response:
        if request.path.rstrip("/") == OTLP_PATH and request.method == "POST":
            return self._otlp_traces(request)
        route = self._routes.get((request.method, request.path.rstrip("/") or "/"))
        if route is None:
            return Response.aws_error(
                404,
                "UnknownOperationException",
                f"No X-Ray operation at {request.method} {request.path[:200]}.",
            )
        try:
            body = request.json()
        except ValueError:
            return Response.aws_error(400, "SerializationException", "The request body is not valid JSON.")
        except RecursionError:  # a request is a few levels deep; this one is garbage, not a fault of ours
            return Response.aws_error(400, "SerializationException", "The request body is nested too deeply.")
        if not isinstance(body, dict):
            return Response.aws_error(400, "SerializationException", "The request body is not a JSON object.")
        try:
            result = route(body)
            return result if isinstance(result, Response) else Response.json(200, result)
        except _BadRequest as exc:
            return Response.aws_error(400, exc.code, str(exc))
        except OperationError as exc:
            return Response.aws_error(exc.status, exc.code, str(exc))
        except UsageError as exc:  # a filter expression or NextToken the store cannot read
            return Response.aws_error(400, "InvalidRequestException", exc.message)
        except StoreError as exc:  # a full disk, a read-only file: the caller is told why
            return Response.aws_error(500, "ServiceException", str(exc))

    def _otlp_traces(self, request: Request) -> Response:
        headers = {name.lower(): value for name, value in request.headers.items()}
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in (_PROTOBUF, "application/json"):
            return _otlp_status(415, "Content-Type must be application/x-protobuf or application/json.", True)
        protobuf = content_type == _PROTOBUF
        try:
            body = _decompressed(request.body, headers.get("content-encoding", "identity").lower())
            problems: list[Problem] = []
            if protobuf:
                spans = otlp.decode_protobuf(body)
            else:
                spans, problems = otlp.decode_json(body)
        except otlp.OtlpError as exc:
            return _otlp_status(400, str(exc), protobuf)
        converted = otlp.convert(spans, problems)
        try:
            unprocessed = self._store.put_documents(converted.documents) if converted.documents else []
        except StoreError as exc:
            logger.warning("OTLP: %d spans not stored: %s", converted.spans, exc)
            return _otlp_status(503, str(exc), protobuf)
        reasons = [f"span {p.span_id or '(no id)'}: {p.reason}" for p in converted.problems]
        reasons += [f"segment {entry.get('Id')}: {entry.get('Message')}" for entry in unprocessed]
        return _otlp_answer(len(reasons), reasons[0] if reasons else "", protobuf)

    def _put_trace_segments(self, body: dict[str, Any]) -> dict[str, Any]:
        documents = _string_list(body, "TraceSegmentDocuments")
        try:
            unprocessed = self._store.put_documents(documents)
        except StoreError as exc:  # an error answer, and a line where `local serve` runs (as the daemon says)
            logger.warning("PutTraceSegments: %d documents not stored: %s", len(documents), exc)
            raise
        return {"UnprocessedTraceSegments": unprocessed}

    def _batch_get_traces(self, body: dict[str, Any]) -> dict[str, Any]:
        trace_ids = _string_list(body, "TraceIds")
        if len(trace_ids) > MAX_BATCH_TRACE_IDS:
            raise _BadRequest(
                f"TraceIds holds {len(trace_ids)} ids; at most {MAX_BATCH_TRACE_IDS} are allowed."
            )
        start = _segment_offset(_optional_string(body, "NextToken"))
        end = start + self._segments_per_page
        if self._search.hides_traces():  # Transaction Search: the traces are in CloudWatch Logs
            return {"Traces": [], "UnprocessedTraceIds": []}
        traces, unprocessed = self._store.batch_get(trace_ids, destination=XRAY)
        if unprocessed and self._store.write_failure is not None:
            # The missing traces may be ones the store could not take (a full disk): say so, not "not yet".
            raise self._store.write_failure
        page: list[dict[str, Any]] = []
        seen = 0  # segments of the batch before the current trace
        for trace in traces:
            segments = trace["Segments"]
            part = segments[max(0, start - seen) : max(0, end - seen)]
            if part:
                page.append({**trace, "Segments": part})
            seen += len(segments)
        result: dict[str, Any] = {"Traces": page, "UnprocessedTraceIds": unprocessed}
        if seen > end:
            result["NextToken"] = _encode_offset("segments", end)
        return result

    def _get_trace_summaries(self, body: dict[str, Any]) -> Response:
        start, end = _time(body, "StartTime"), _time(body, "EndTime")
        if end < start:
            raise _BadRequest("EndTime must not be before StartTime.")
        time_range_type = _optional_string(body, "TimeRangeType") or "Event"
        if time_range_type not in TIME_RANGE_TYPES:
            raise _BadRequest(f"TimeRangeType must be one of {', '.join(TIME_RANGE_TYPES)}.")
        page = self._store.summaries_page(
            start,
            end,
            time_range_type=time_range_type,
            filter_expression=_optional_string(body, "FilterExpression"),
            next_token=_optional_string(body, "NextToken"),
            page_size=self._page_size,
        )
        # The summaries are JSON text as the store keeps them: written into the answer as they are, not
        # parsed only to be written again.
        rest: dict[str, Any] = {"ApproximateTime": page.scanned_to, "TracesProcessedCount": page.processed}
        if page.next_token is not None:
            rest["NextToken"] = page.next_token
        tail = json.dumps(rest, separators=(",", ":"))
        text = f'{{"TraceSummaries":[{",".join(page.bodies)}],{tail[1:]}'
        return Response(200, text.encode(), {"Content-Type": "application/json"})

    def _get_service_graph(self, body: dict[str, Any]) -> dict[str, Any]:
        start, end = _time(body, "StartTime"), _time(body, "EndTime")
        if end < start:
            raise _BadRequest("EndTime must not be before StartTime.")
        after = _graph_position(_optional_string(body, "NextToken"))
        trace_ids = [summary["Id"] for summary in self._store.summaries(start, end)]
        return {
            "StartTime": start,
            "EndTime": end,
            **self._graph_page(service_graph(self._segments(trace_ids)), after),
            "ContainsOldGroupVersions": False,
        }

    def _get_trace_graph(self, body: dict[str, Any]) -> dict[str, Any]:
        trace_ids = _string_list(body, "TraceIds")
        after = _graph_position(_optional_string(body, "NextToken"))
        return self._graph_page(service_graph(self._segments(trace_ids)), after)

    def _graph_page(self, services: list[dict[str, Any]], after: int) -> dict[str, Any]:
        """One page of a graph's services: those whose ReferenceId follows `after` (the last one of the
        page before). The graph is made again for each page; its services come in the order of their
        ReferenceIds, which are the services' own, so pages never repeat a service nor skip one."""
        rest = [service for service in services if service["ReferenceId"] > after]
        page: dict[str, Any] = {"Services": rest[: self._graph_page_size]}
        if len(rest) > self._graph_page_size:
            page["NextToken"] = _encode_offset("after", page["Services"][-1]["ReferenceId"])
        return page

    def _segments(self, trace_ids: Sequence[str]) -> Iterator[list[dict[str, Any]]]:
        """The stitched segments of each stored trace of `trace_ids`, a trace at a time (a long window is
        never all in memory); unknown ids are skipped, as the service skips them."""
        return self._store.stitched(trace_ids)


def _decompressed(body: bytes, encoding: str) -> bytes:
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise otlp.OtlpError(f"Content-Encoding {encoding[:40]!r} is not supported (gzip is)")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, MAX_OTLP_BODY)
    except zlib.error as exc:
        raise otlp.OtlpError(f"the gzip body does not inflate: {exc}") from None
    if inflater.unconsumed_tail:
        raise otlp.OtlpError(f"the request inflates past {MAX_OTLP_BODY} bytes")
    return data


def _otlp_answer(rejected: int, message: str, protobuf: bool) -> Response:
    """ExportTraceServiceResponse, with `partial_success` when spans were rejected."""
    if protobuf:
        answer = otlp.response_class()()
        if rejected:
            answer.partial_success.rejected_spans = rejected
            answer.partial_success.error_message = message
        return Response(200, answer.SerializeToString(), {"Content-Type": _PROTOBUF})
    data = {"partialSuccess": {"rejectedSpans": rejected, "errorMessage": message}} if rejected else {}
    return Response.json(200, data)


def _otlp_status(status: int, message: str, protobuf: bool) -> Response:
    """The google.rpc.Status OTLP/HTTP puts in an error answer (code 3 INVALID_ARGUMENT, 14 UNAVAILABLE)."""
    code = 14 if status == 503 else 3
    if not protobuf:
        return Response.json(status, {"code": code, "message": message})
    text = message.encode()
    # Status is `int32 code = 1; string message = 2`: encoded by hand rather than depend on googleapis.
    body = bytes([0x08, code, 0x12]) + _varint(len(text)) + text
    return Response(status, body, {"Content-Type": _PROTOBUF})


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)
