"""Segments as OTel spans (ListRetrievedTraces' OTEL format) at the edges: depth, size, odd values."""

from __future__ import annotations

import json
import sys
from typing import Any

from xrayctl.local.xray.otelspans import MAX_SPAN_DOCUMENT, otel_spans

TRACE = "1-6b04c914-ea7beef5edbcb95e43b8d27c"


def segment(**fields: Any) -> dict[str, Any]:
    return {"id": "f0000000000000a0", "name": "front", "start_time": 100.0, "end_time": 101.0, **fields}


def test_a_5000_level_trace_becomes_5000_spans_each_naming_its_parent() -> None:
    top = segment()
    node = top
    for level in range(1, 5000):
        child = {"id": f"{level:016x}", "name": f"n{level}", "start_time": 100.0, "end_time": 100.5}
        node["subsegments"] = [child]
        node = child
    spans = [json.loads(document) for _, document in otel_spans(TRACE, [top])]
    assert len(spans) == 5000 and sys.getrecursionlimit() == 1000
    parents = {span["spanId"]: span.get("parentSpanId") for span in spans}
    assert parents[f"{4999:016x}"] == f"{4998:016x}" and parents["f0000000000000a0"] is None


def test_a_span_over_the_services_size_limit_drops_metadata_first() -> None:
    big = segment(metadata={"default": {"blob": "x" * (MAX_SPAN_DOCUMENT + 10)}}, annotations={"keep": 1})
    ((_, document),) = otel_spans(TRACE, [big])
    span = json.loads(document)
    assert len(document) <= MAX_SPAN_DOCUMENT
    assert span["attributes"]["keep"] == 1 and not any(
        k.startswith("aws.xray.metadata") for k in span["attributes"]
    )


def test_values_json_cannot_hold_are_left_out_and_inferred_segments_are_not_spans() -> None:
    odd = segment(annotations={"nan": float("nan"), "ok": "yes"}, end_time=float("inf"))
    inferred = segment(id="00000000000000b0", inferred=True, parent_id="f0000000000000a0")
    ((span_id, document),) = otel_spans(TRACE, [odd, inferred])
    span = json.loads(document)  # strict JSON: no NaN or Infinity in it
    assert span_id == "f0000000000000a0" and span["attributes"]["aws.xray.annotations"] == ["ok"]
    assert "endTimeUnixNano" not in span and span["startTimeUnixNano"] == 100_000_000_000
