"""Stored segments as OpenTelemetry spans: what ListRetrievedTraces answers with `TraceFormat=OTEL`.

With Transaction Search on, X-Ray keeps spans in the CloudWatch Logs group `aws/spans`, one JSON object a span
in OTel's shape: `traceId` (W3C, 32 hex), `spanId`, `parentSpanId`, `name`, `kind`, `startTimeUnixNano`,
`endTimeUnixNano`, `durationNano`, `attributes` (a flat object), `resource.attributes`, `scope`, `status.code`
and `events`. Every segment and every subsegment nested in it is one span; the segments X-Ray infers for
downstream calls (`inferred: true`) are X-Ray's drawing, not spans, and are left out.

The attributes follow the conventions the collector's awsxrayexporter reads when it turns spans into segments
(`exporter/awsxrayexporter/internal/translator`), so the way back gives the same tree: annotations are
attributes named in `aws.xray.annotations`, metadata namespaces are `aws.xray.metadata.<ns>` JSON strings,
http, aws and sql fields become their semantic-convention attributes, a cause's exceptions become `exception`
events. Subsegments nest thousands deep: nothing here recurses.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from xrayctl.local.xray.stitch import as_mapping
from xrayctl.local.xray.summaries import epoch_time
from xrayctl.text.jsonwrite import dumps as deep_dumps

# ListRetrievedTraces' limit on one span's Document (botocore's SpanDocument shape).
MAX_SPAN_DOCUMENT = 204_800
SCOPE = {"name": "xrayctl.local.xray", "version": "1"}
# A segment's origin -> the resource's cloud.platform (the exporter maps the other way).
_PLATFORMS = {
    "AWS::Lambda::Function": "aws_lambda",
    "AWS::EC2::Instance": "aws_ec2",
    "AWS::ECS::Container": "aws_ecs",
    "AWS::EKS::Container": "aws_eks",
    "AWS::ElasticBeanstalk::Environment": "aws_elastic_beanstalk",
    "AWS::AppRunner::Service": "aws_app_runner",
}
_HTTP_REQUEST = {
    "method": "http.request.method",
    "url": "url.full",
    "user_agent": "user_agent.original",
    "client_ip": "client.address",
}
_AWS_FIELDS = {
    "operation": "rpc.method",
    "region": "cloud.region",
    "request_id": "aws.request_id",
    "account_id": "cloud.account.id",
    "bucket_name": "aws.s3.bucket",
    "key": "aws.s3.key",
    "table_name": "aws.dynamodb.table_names",
    "queue_url": "aws.sqs.queue.url",
}
_SQL_FIELDS = {"sanitized_query": "db.statement", "database_type": "db.system", "url": "db.connection_string"}


def otel_trace_id(trace_id: str) -> str:
    """`1-5759e988-bd862e3fe1be46a994272793` -> `5759e988bd862e3fe1be46a994272793`."""
    return trace_id[2:10] + trace_id[11:]


def otel_spans(trace_id: str, segments: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(span id, span document) for every segment and subsegment of a stitched trace, parents first."""
    spans: list[tuple[str, str]] = []
    for segment in segments:
        if segment.get("inferred") is True:
            continue
        for node, parent_id, owner in _walk(segment):
            span_id = node.get("id")
            if isinstance(span_id, str):
                spans.append((span_id, _document(trace_id, node, parent_id, owner)))
    return spans


def _walk(segment: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], str | None, Mapping[str, Any]]]:
    """Each node with its parent's id (the segment's own parent_id at the top) and its segment."""
    top_parent = segment.get("parent_id")
    stack: list[tuple[Mapping[str, Any], str | None]] = [
        (segment, top_parent if isinstance(top_parent, str) else None)
    ]
    while stack:
        node, parent_id = stack.pop()
        yield node, parent_id, segment
        children = node.get("subsegments")
        if isinstance(children, list):
            node_id = node.get("id") if isinstance(node.get("id"), str) else parent_id
            stack.extend((child, node_id) for child in reversed(children) if isinstance(child, Mapping))


def _nanos(value: Any) -> int | None:
    """Epoch nanoseconds, to the microsecond: what a document's float can hold (its last bits are noise)."""
    seconds = epoch_time(value)
    return None if seconds is None else round(seconds * 1e6) * 1000


def _kind(node: Mapping[str, Any], is_segment: bool) -> str:
    if is_segment:
        return "SERVER"
    return "CLIENT" if node.get("namespace") in ("aws", "remote") else "INTERNAL"


def _scalar(value: Any) -> bool:
    """A value an attribute can hold (NaN and infinities, which a stored document may carry, cannot)."""
    return isinstance(value, (str, bool, int)) or (isinstance(value, float) and math.isfinite(value))


def _attributes(node: Mapping[str, Any], is_segment: bool) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    http = as_mapping(node.get("http"))
    for field, name in _HTTP_REQUEST.items():
        value = as_mapping(http.get("request")).get(field)
        if _scalar(value):
            attributes[name] = value
    response = as_mapping(http.get("response"))
    if _scalar(response.get("status")):
        attributes["http.response.status_code"] = response["status"]
    if _scalar(response.get("content_length")):
        attributes["http.response.body.size"] = response["content_length"]
    aws = as_mapping(node.get("aws"))
    for field, name in _AWS_FIELDS.items():
        if _scalar(aws.get(field)):
            attributes[name] = [aws[field]] if name.endswith("_names") else aws[field]
    if node.get("namespace") == "aws":
        attributes["rpc.system"] = "aws-api"
        if isinstance(node.get("name"), str):
            attributes["rpc.service"] = node["name"]
    sql = as_mapping(node.get("sql"))
    for field, name in _SQL_FIELDS.items():
        if _scalar(sql.get(field)):
            attributes[name] = sql[field]
    annotations = {k: v for k, v in as_mapping(node.get("annotations")).items() if _scalar(v)}
    attributes.update(annotations)
    if annotations:
        attributes["aws.xray.annotations"] = list(annotations)
    for namespace, value in as_mapping(node.get("metadata")).items():
        attributes[f"aws.xray.metadata.{namespace}"] = deep_dumps(value, indent=None)
    if is_segment and isinstance(node.get("origin"), str):
        attributes["aws.origin"] = node["origin"]
    for flag in ("error", "fault", "throttle"):
        if node.get(flag) is True:
            attributes[f"aws.xray.{flag}"] = True
    return attributes


def _events(node: Mapping[str, Any], end: int | None) -> list[dict[str, Any]]:
    events = []
    for exception in as_mapping(node.get("cause")).get("exceptions") or []:
        if not isinstance(exception, Mapping):
            continue
        attributes = {
            name: exception[field]
            for field, name in (("type", "exception.type"), ("message", "exception.message"))
            if isinstance(exception.get(field), str)
        }
        frames = [as_mapping(frame) for frame in exception.get("stack") or [] if isinstance(frame, Mapping)]
        if frames:
            attributes["exception.stacktrace"] = "\n".join(
                f"  at {frame.get('label', '?')} ({frame.get('path', '?')}:{frame.get('line', '?')})"
                for frame in frames
            )
        event: dict[str, Any] = {"name": "exception", "attributes": attributes}
        if end is not None:
            event["timeUnixNano"] = end
        events.append(event)
    return events


def _document(
    trace_id: str, node: Mapping[str, Any], parent_id: str | None, segment: Mapping[str, Any]
) -> str:
    is_segment = node is segment
    start, end = _nanos(node.get("start_time")), _nanos(node.get("end_time"))
    resource: dict[str, Any] = {"cloud.provider": "aws"}
    if isinstance(segment.get("name"), str):
        resource["service.name"] = segment["name"]
    platform = _PLATFORMS.get(str(segment.get("origin")))
    if platform is not None:
        resource["cloud.platform"] = platform
    failed = node.get("fault") is True or node.get("error") is True
    span: dict[str, Any] = {
        "resource": {"attributes": resource},
        "scope": SCOPE,
        "traceId": otel_trace_id(trace_id),
        "spanId": node["id"],
    }
    if parent_id is not None:
        span["parentSpanId"] = parent_id
    span["name"] = node.get("name") if isinstance(node.get("name"), str) else ""
    span["kind"] = _kind(node, is_segment)
    if start is not None:
        span["startTimeUnixNano"] = start
    if end is not None:  # a span still in progress has no end yet
        span["endTimeUnixNano"] = end
        if start is not None:
            span["durationNano"] = max(end - start, 0)
    span["attributes"] = _attributes(node, is_segment)
    span["status"] = {"code": "ERROR" if failed else "UNSET"}
    span["events"] = _events(node, end)
    text = json.dumps(span, separators=(",", ":"))
    if len(text) > MAX_SPAN_DOCUMENT:  # the service's limit: metadata and stacks go first
        span["attributes"] = {
            k: v for k, v in span["attributes"].items() if not k.startswith("aws.xray.metadata.")
        }
        for event in span["events"]:
            event["attributes"].pop("exception.stacktrace", None)
        text = json.dumps(span, separators=(",", ":"))
    if len(text) > MAX_SPAN_DOCUMENT:
        span["attributes"], span["events"] = {"aws.xray.truncated": True}, []
        text = json.dumps(span, separators=(",", ":"))
    return text
