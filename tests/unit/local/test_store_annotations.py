"""Annotations of a trace written in many documents over many batches, as GetTraceSummaries reports them.

The fold keeps an index of each key's values and of each value's sources (the documents or services that
carried it) while a batch is written; these tests hold it to what the summary must say when the index has
been rebuilt from the stored fold batch after batch, and once a value has more sources than a list scan
keeps (independent subsegments from several services carrying the same value).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from xrayctl.local.xray.store import TraceStore

TRACE_ID = "1-65000000-00000000000000000000abcd"
START = 1_694_000_000.0
SERVICES = ("orders", "billing")
PER_SERVICE = 30  # independent subsegments under each service's segment


def _segment(number: int, service: str) -> dict[str, Any]:
    return {
        "id": f"{number:016x}",
        "trace_id": TRACE_ID,
        "name": service,
        "origin": "AWS::Lambda::Function",
        "start_time": START + number,
        "end_time": START + 10,
    }


def _subsegment(number: int, parent: str) -> dict[str, Any]:
    # Each carries a value shared by all ("tier"), one shared by every other one ("even"), its own ("n"),
    # and numbers equal as JSON values but spelled differently (1 and 1.0 are one NumberValue).
    return {
        "id": f"{0x1000 + number:016x}",
        "trace_id": TRACE_ID,
        "type": "subsegment",
        "parent_id": parent,
        "name": f"step{number}",
        "start_time": START + 1 + number * 0.01,
        "end_time": START + 1.005 + number * 0.01,
        "annotations": {
            "tier": "gold",
            "even": number % 2 == 0,
            "n": number,
            "one": 1 if number % 2 else 1.0,
        },
    }


def _service_names(values: list[dict[str, Any]], kind: str, value: Any) -> set[str]:
    for entry in values:
        if entry["AnnotationValue"] == {kind: value}:
            return {service["Name"] for service in entry["ServiceIds"]}
    raise AssertionError(f"no {kind} {value!r} among {[entry['AnnotationValue'] for entry in values]}")


def test_annotations_of_many_documents_over_many_batches(tmp_path: Path) -> None:
    store = TraceStore(tmp_path / "traces.sqlite")
    try:
        documents = [_segment(number, service) for number, service in enumerate(SERVICES)]
        for number in range(PER_SERVICE * len(SERVICES)):
            # The first PER_SERVICE under the first service, the rest under the second.
            documents.append(_subsegment(number, f"{number // PER_SERVICE:016x}"))
        # The segments last, so every source is a document id resolved when the summary is read; batches of
        # 7 so each batch folds into the fold stored by the ones before.
        ordered = documents[len(SERVICES) :] + documents[: len(SERVICES)]
        for offset in range(0, len(ordered), 7):
            batch = [json.dumps(document) for document in ordered[offset : offset + 7]]
            assert store.put_documents(batch) == []
        summary = store.summary(TRACE_ID)
    finally:
        store.close()
    assert summary is not None
    annotations = summary["Annotations"]
    assert _service_names(annotations["tier"], "StringValue", "gold") == set(SERVICES)
    assert _service_names(annotations["even"], "BooleanValue", True) == set(SERVICES)
    assert _service_names(annotations["even"], "BooleanValue", False) == set(SERVICES)
    assert _service_names(annotations["one"], "NumberValue", 1.0) == set(SERVICES)
    assert len(annotations["one"]) == 1
    assert sorted(entry["AnnotationValue"]["NumberValue"] for entry in annotations["n"]) == [
        float(number) for number in range(PER_SERVICE * len(SERVICES))
    ]
    for entry in annotations["n"]:
        number = int(entry["AnnotationValue"]["NumberValue"])
        assert [service["Name"] for service in entry["ServiceIds"]] == [SERVICES[number // PER_SERVICE]]
