"""Put a trace's stored documents together the way BatchGetTraces returns them.

The SDKs send each subsegment as its own document (`type: subsegment`, `parent_id`) the moment it closes,
often before its parent. X-Ray answers with whole segments: every independent subsegment nested in its parent
(a segment, or a subsegment nested anywhere, possibly itself independent), plus an inferred segment for each
call to an AWS service or a remote host. A document whose parent never arrived, or whose parents form a cycle,
stays a document of its own: nothing is dropped. Trees can be thousands of levels deep, so nothing here
recurses, including the JSON encoding (`dumps`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

# Subsegment name (any case; Python's SDK uses botocore's endpoint prefix, others the service's name) ->
# the inferred segment's name, its origin, and the `aws` field that names one resource of that service.
_AWS_SERVICES: dict[str, tuple[str, str, str | None]] = {
    "s3": ("S3", "AWS::S3", "bucket_name"),
    "dynamodb": ("DynamoDB", "AWS::DynamoDB", "table_name"),
    "sqs": ("SQS", "AWS::SQS", "queue_url"),
    "sns": ("SNS", "AWS::SNS", None),
    "lambda": ("Lambda", "AWS::Lambda", None),
    "events": ("Events", "AWS::Events", None),
    "states": ("Sfn", "AWS::Sfn", None),
    "sfn": ("Sfn", "AWS::Sfn", None),
    "logs": ("CloudWatchLogs", "AWS::CloudWatchLogs", None),
    "cloudwatchlogs": ("CloudWatchLogs", "AWS::CloudWatchLogs", None),
}
_RESOURCE_TYPES = {"bucket_name": "Bucket", "table_name": "Table", "queue_url": "Queue"}
_COPIED_FIELDS = ("start_time", "end_time", "http", "aws")


def walk(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """`document` and every subsegment nested in it, without recursion."""
    stack = [document]
    while stack:
        node = stack.pop()
        yield node
        children = node.get("subsegments")
        if isinstance(children, list):
            stack.extend(child for child in children if isinstance(child, dict))


def as_mapping(value: Any) -> Mapping[str, Any]:
    """`value` if it is an object, else an empty one: fields of documents from outside can be anything."""
    return value if isinstance(value, Mapping) else {}


def inferred_identity(node: Mapping[str, Any]) -> tuple[str, str] | None:
    """(name, origin) of the segment X-Ray infers for a call `node` made, or None if it infers none."""
    namespace = node.get("namespace")
    name = node.get("name")
    if not isinstance(name, str):
        return None
    if namespace == "aws":
        aws = as_mapping(node.get("aws"))
        known = _AWS_SERVICES.get(name.lower())
        if known is None:
            return name, f"AWS::{name}"
        service, origin, resource_field = known
        if resource_field is not None and isinstance(aws.get(resource_field), str):
            origin = f"{origin}::{_RESOURCE_TYPES[resource_field]}"
        return service, origin
    if namespace == "remote":
        http = as_mapping(node.get("http"))
        request = as_mapping(http.get("request"))
        url = request.get("url")
        host = urlsplit(url).hostname if isinstance(url, str) else None
        return host or name, "remote"
    return None


def inferred_segment_id(trace_id: str, subsegment_id: str) -> str:
    """Deterministic, so every read of a trace names its inferred segments the same."""
    return hashlib.blake2b(f"{trace_id}/{subsegment_id}".encode(), digest_size=8).hexdigest()


def _inferred_segment(trace_id: str, node: Mapping[str, Any]) -> dict[str, Any] | None:
    identity = inferred_identity(node)
    if identity is None or not isinstance(node.get("id"), str) or "end_time" not in node:
        return None
    name, origin = identity
    segment: dict[str, Any] = {
        "id": inferred_segment_id(trace_id, node["id"]),
        "name": name,
        "origin": origin,
        "inferred": True,
        "parent_id": node["id"],
        "trace_id": trace_id,
    }
    segment.update((key, node[key]) for key in _COPIED_FIELDS if key in node)
    aws = segment.get("aws")
    if isinstance(aws, Mapping) and "resource_names" not in aws:
        resource = next((aws[k] for k in ("table_name", "bucket_name") if isinstance(aws.get(k), str)), None)
        if resource is not None:
            segment["aws"] = {**aws, "resource_names": [resource]}
    segment.update((flag, True) for flag in ("error", "fault", "throttle") if node.get(flag) is True)
    return segment


def stitch(trace_id: str, documents: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The trace's segments: `documents` (parsed, mutated in place) with independent subsegments nested into
    their parents, followed by the inferred segments."""
    owner: dict[str, int] = {}  # node id -> index of the document that holds it
    nodes: dict[str, dict[str, Any]] = {}
    for index, document in enumerate(documents):
        for node in walk(document):
            node_id = node.get("id")
            if isinstance(node_id, str) and node_id not in nodes:
                nodes[node_id] = node
                owner[node_id] = index
    # Union-find over documents: link[i] leads to the document that i ended up nested in, so a parent chain
    # that loops back is detected in near-constant time instead of by walking the chain.
    link = list(range(len(documents)))

    def top(index: int) -> int:
        root = index
        while link[root] != root:
            root = link[root]
        while link[index] != root:
            link[index], index = root, link[index]
        return root

    roots: list[dict[str, Any]] = []
    for index, document in enumerate(documents):
        parent_id = document.get("parent_id")
        parent = (
            nodes.get(parent_id)
            if document.get("type") == "subsegment" and isinstance(parent_id, str)
            else None
        )
        if parent is None or not isinstance(parent.get("subsegments", []), list):
            roots.append(document)
            continue
        holder = owner[parent_id]  # type: ignore[index]
        if top(holder) == index:  # the parent is inside this document, or nested under it: a cycle
            roots.append(document)
            continue
        link[index] = holder
        for key in ("type", "trace_id", "parent_id"):  # nesting says all three, as in X-Ray's own answers
            document.pop(key, None)
        parent.setdefault("subsegments", []).append(document)
    # X-Ray infers a segment only for a callee that sent none itself (e.g. an instrumented Lambda function).
    called = {doc.get("parent_id") for doc in documents if doc.get("type") != "subsegment"}
    inferred = (_inferred_segment(trace_id, node) for node_id, node in nodes.items() if node_id not in called)
    return roots + [segment for segment in inferred if segment is not None]


class _Literal(str):
    """Already-encoded JSON text on the encoder's stack."""


def dumps(value: Any) -> str:
    """Compact JSON for `value` at any nesting depth: at C speed in one call when the depth allows (nearly
    always: a 10,000-node trace in a tenth of the time the stack takes), else C speed for each shallow part
    and a stack for the depth."""
    try:
        return json.dumps(value, separators=(",", ":"))
    except RecursionError:
        return _deep_dumps(value)


def _deep_dumps(value: Any) -> str:
    parts: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Literal):
            parts.append(item)
            continue
        children = item.get("subsegments") if isinstance(item, dict) else None
        shallow = (
            {k: v for k, v in item.items() if k != "subsegments"} if isinstance(children, list) else item
        )
        try:
            text = json.dumps(shallow, separators=(",", ":"))
        except RecursionError:
            text = None
        if text is not None and not isinstance(children, list):
            parts.append(text)
        elif text is not None:
            assert isinstance(children, list)
            parts.append(text[:-1] + ("," if shallow else "") + '"subsegments":[')
            pending: list[Any] = [_Literal("]}")]
            for position in range(len(children) - 1, -1, -1):
                pending.append(children[position])
                if position:
                    pending.append(_Literal(","))
            stack.extend(pending)
        elif isinstance(item, dict):
            pending = [_Literal("}")]
            for position, (key, child) in enumerate(reversed(list(item.items()))):
                pending.append(child)
                separator = "," if position < len(item) - 1 else ""
                pending.append(_Literal(separator + json.dumps(str(key)) + ":"))
            stack.extend(pending)
        else:  # a list too deep for json.dumps
            pending = [_Literal("]")]
            for position in range(len(item) - 1, -1, -1):
                pending.append(item[position])
                if position:
                    pending.append(_Literal(","))
            stack.extend(pending)
    return "".join(parts)
