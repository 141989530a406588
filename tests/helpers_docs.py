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
