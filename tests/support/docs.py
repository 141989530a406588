"""Synthetic segment documents shaped like what X-Ray returns, for sizes the real fixtures do not reach.

`lambda_documents(n)` gives a Lambda trace of `n` entities in the three shapes BatchGetTraces mixes:
subsegments embedded in their segment, independent subsegments naming their parent by `parent_id`, and
inferred segments under the aws subsegments that called S3. `deep_document(levels)` nests subsegments
`levels` deep in one document. Both are built without recursion (json.dumps would recurse).
"""

from __future__ import annotations

import json
import random
from typing import Any

TRACE_ID = "1-6b04c851-f14fec967f9786633c368d55"
START = 1_795_475_538.0


def _id(number: int) -> str:
    return f"{number:016x}"


def _entity(number: int, name: str, start: float, duration: float, **fields: Any) -> dict[str, Any]:
    return {"id": _id(number), "name": name, "start_time": start, "end_time": start + duration, **fields}


def lambda_documents(count: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """`count` entities (count >= 3): an AWS::Lambda segment, its function segment with an Invocation
    subsegment, and under it a random tree of local and S3 subsegments. One subsegment in 10 is its own
    document; one S3 call in 20 has an inferred AWS::S3::Bucket segment. Documents are shuffled."""
    rng = random.Random(seed)
    length = count * 0.01
    invocation = _entity(3, "Invocation", START + 0.001, length - 0.002)
    documents = [
        _entity(1, "fn", START, length, origin="AWS::Lambda", trace_id=TRACE_ID),
        _entity(2, "fn", START, length, origin="AWS::Lambda::Function", trace_id=TRACE_ID, parent_id=_id(1)),
    ]
    documents[1]["subsegments"] = [invocation]
    containers = [invocation]  # entities that can take children
    number = 4
    while number <= count:
        parent = rng.choice(containers[-50:])
        start = parent["start_time"] + rng.random() * 0.001
        if rng.random() < 0.5:
            s3 = {"operation": "PutObject", "bucket_name": "demo-bucket", "key": f"k{number}"}
            http = {"response": {"status": 200}}
            child = _entity(number, "s3", start, 0.004, namespace="aws", aws=s3, http=http)
        else:
            annotations = {"n": number, "even": number % 2 == 0}
            child = _entity(number, f"step{number}", start, 0.005, annotations=annotations)
            containers.append(child)
        if number % 10 == 0:
            child.update(type="subsegment", parent_id=parent["id"], trace_id=TRACE_ID)
            documents.append(child)
        else:
            parent.setdefault("subsegments", []).append(child)
        number += 1
        if child.get("namespace") == "aws" and number % 20 == 0 and number <= count:
            inferred = _entity(number, "demo-bucket", start, 0.003, origin="AWS::S3::Bucket", inferred=True)
            inferred.update(parent_id=child["id"], trace_id=TRACE_ID)
            documents.append(inferred)
            number += 1
    rng.shuffle(documents)
    return documents


def deep_document(levels: int) -> str:
    """One segment with a chain of subsegments `levels` deep (the segment is level 1), as JSON text."""
    head = (
        f'{{"trace_id":"{TRACE_ID}","id":"{_id(1)}","name":"deep",'
        f'"start_time":{START!r},"end_time":{START + 1!r},"subsegments":['
    )
    links = [
        f'{{"id":"{_id(level)}","name":"level{level}","start_time":{START + level * 1e-5!r},'
        f'"end_time":{START + 1 - level * 1e-5!r},"subsegments":['
        for level in range(2, levels + 1)
    ]
    return head + "".join(links) + "]}" * levels


def nested_json(inner: str, levels: int) -> str:
    """`inner` (JSON text) placed `levels` objects deep, each level an array inside an object."""
    return '{"k":[' * levels + inner + "]}" * levels


def entity_count(documents: list[Any]) -> int:
    """Entities (segments and every nested subsegment object) in parsed documents, counted iteratively."""
    count = 0
    pending = [doc for doc in documents if isinstance(doc, dict)]
    while pending:
        entity = pending.pop()
        count += 1
        subsegments = entity.get("subsegments")
        if isinstance(subsegments, dict):
            pending.append(subsegments)
        elif isinstance(subsegments, list):
            pending.extend(sub for sub in subsegments if isinstance(sub, dict))
    return count


def as_text(documents: list[dict[str, Any]]) -> list[str]:
    """Documents as BatchGetTraces returns them, as JSON strings (json.dumps recurses: shallow ones only)."""
    return [json.dumps(doc) for doc in documents]


BIG_TRACE_ID = "1-6b04c852-0123456789abcdef01234567"
_ENTITIES_PER_DOCUMENT = 80  # keeps every document well under X-Ray's 64 KB limit


def big_trace_documents(nodes: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """Raw documents of one trace that has `nodes` entities once X-Ray (or the local store) has stitched it
    and inferred its segments: what the SDKs of several services send for one request.

    A front segment calls services over HTTP (`namespace: remote`); each service's segment names the calling
    subsegment as its `parent_id`. Under every segment, a random tree of local subsegments (some annotated),
    AWS calls (`namespace: aws`, S3 / DynamoDB / SQS, each of which X-Ray infers a segment for) and calls to
    outside hosts (inferred too). One entity in 25 is an error, fault or throttle, most with an exception
    cause and a stack. A document holds at most 80 entities; the rest are sent as independent subsegments
    (`type: subsegment`, `parent_id`), as the SDKs stream a large segment. Built without recursion."""
    rng = random.Random(seed)
    counter = iter(range(0x1000, 1 << 62))
    services = max(1, nodes // 400)
    root: dict[str, Any] = _big_entity(next(counter), "front", START, 10.0, origin="AWS::EC2::Instance")
    root.update(trace_id=BIG_TRACE_ID, http={"request": {"method": "GET", "url": "https://shop.example/"}})
    segments = [root]
    containers: list[dict[str, Any]] = [root]  # entities that take children, at most 12 levels deep
    depth = {root["id"]: 0}
    total = 1
    called = 0
    while total < nodes:
        parent = rng.choice(containers[-60:])
        start = parent["start_time"] + rng.random() * (parent["end_time"] - parent["start_time"]) * 0.6
        length = (parent["end_time"] - start) * (0.2 + rng.random() * 0.6)
        number = next(counter)
        roll = rng.random()
        if roll < 0.2 and total + 2 <= nodes:
            child = _aws_call(rng, number, start, length)
            total += 2  # the call and the segment X-Ray infers for it
        elif roll < 0.27 and total + 2 <= nodes:
            host = f"svc{number % 7}.internal"
            child = _big_entity(number, host, start, length, namespace="remote")
            child["http"] = {"request": {"method": "POST", "url": f"http://{host}/v1/items/{number}"}}
            child["http"]["response"] = {"status": 200}
            if called < services:  # an instrumented service answers: its segment, not an inferred one
                called += 1
                segment = _big_entity(next(counter), f"service-{called}", start + 0.0001, length * 0.98)
                segment.update(trace_id=BIG_TRACE_ID, parent_id=child["id"], origin="AWS::ECS::Container")
                segment["http"] = {"request": {"method": "POST", "url": child["http"]["request"]["url"]}}
                segments.append(segment)
                containers.append(segment)
                depth[segment["id"]] = 0
            total += 2  # the call and the called segment (or the inferred one)
        else:
            child = _big_entity(number, f"step {number % 97}", start, length)
            if rng.random() < 0.3:
                child["annotations"] = {
                    "item": number,
                    "tier": rng.choice(["gold", "free"]),
                    "hit": roll < 0.5,
                }
            if rng.random() < 0.1:
                child["metadata"] = {"default": {"rows": number % 13, "sql": "SELECT 1"}}
            depth[child["id"]] = depth[parent["id"]] + 1
            if depth[child["id"]] < 12:
                containers.append(child)
            total += 1
        if rng.random() < 0.04:
            _fail(rng, child, number)
        parent.setdefault("subsegments", []).append(child)
    return _as_documents(segments)


def _big_entity(number: int, name: str, start: float, length: float, **fields: Any) -> dict[str, Any]:
    return {"id": _id(number), "name": name, "start_time": start, "end_time": start + length, **fields}


_AWS_CALLS = (
    ("s3", "PutObject", "bucket_name", "shop-assets"),
    ("dynamodb", "GetItem", "table_name", "orders"),
    ("sqs", "SendMessage", "queue_url", "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"),
)


def _aws_call(rng: random.Random, number: int, start: float, length: float) -> dict[str, Any]:
    service, operation, field, resource = rng.choice(_AWS_CALLS)
    aws = {"operation": operation, field: resource, "region": "us-east-1", "request_id": f"R{number:x}"}
    if service == "s3":
        aws["key"] = f"items/{number}.json"
    http = {"response": {"status": 200, "content_length": 120}}
    return _big_entity(number, service, start, length, namespace="aws", aws=aws, http=http)


def _fail(rng: random.Random, entity: dict[str, Any], number: int) -> None:
    """Mark `entity` an error, fault or throttle, with the exception and stack an SDK records."""
    kind = rng.choice(["error", "fault", "throttle"])
    entity[kind] = True
    status = {"error": 404, "fault": 503, "throttle": 429}[kind]
    entity.setdefault("http", {})["response"] = {"status": status}
    if kind == "throttle" and rng.random() < 0.5:
        return  # throttles are often recorded without a cause
    stack = [{"path": f"app/handlers/h{i}.py", "line": 10 + i, "label": f"handle_{i}"} for i in range(8)]
    exception = {"id": _id(number ^ 0xABCDEF), "message": f"item {number} failed: {kind} from upstream"}
    exception.update(type=rng.choice(["ClientError", "TimeoutError", "ValueError"]), stack=stack)
    entity["cause"] = {"working_directory": "/var/task", "exceptions": [exception]}


def _as_documents(segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each segment a document holding at most 80 entities; the rest split off as independent
    subsegments, each again holding at most 80."""
    documents: list[dict[str, Any]] = []
    for segment in segments:
        pending = [segment]
        while pending:
            document = pending.pop()
            documents.append(document)
            budget = _ENTITIES_PER_DOCUMENT
            inside = [document]
            while inside:
                entity = inside.pop()
                kept = []
                for child in entity.get("subsegments", []):
                    if budget > 0:
                        budget -= 1
                        kept.append(child)
                        inside.append(child)
                    else:
                        child.update(type="subsegment", parent_id=entity["id"], trace_id=BIG_TRACE_ID)
                        pending.append(child)
                if "subsegments" in entity:
                    entity["subsegments"] = kept
                    if not kept:
                        del entity["subsegments"]
    return documents
