"""The trace builder on real X-Ray data (tests/fixtures) and on the broken shapes real data takes."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from helpers_docs import deep_document, entity_count, lambda_documents

from xrayctl.build import build_trace, parse_document, traces_from_batch
from xrayctl.errors import InputError
from xrayctl.model import Node, Trace

FIXTURES = Path(__file__).parent / "fixtures"
TRACES = FIXTURES / "xray-real" / "traces"
SDK = FIXTURES / "sdk-captured"
TRACE_ID = "1-6b04c851-f14fec967f9786633c368d55"
# API responses in the fixtures that hold no trace (summaries, service graphs, PutTraceSegments results).
NOT_TRACES = {"TraceSummaries", "Services", "UnprocessedTraceSegments"}


def shape(trace: Trace) -> list[tuple[int, str, str, str]]:
    return [(node.depth, node.kind, node.id, node.name) for node in trace.walk()]


def by_name(trace: Trace, name: str) -> list[Node]:
    return [node for node in trace.walk() if node.name == name]


def segment_documents(entry: dict[str, Any]) -> list[Any]:
    """A trace's documents, parsed, as a test reads them independently of the builder."""
    return [
        json.loads(item["Document"]) if isinstance(item.get("Document"), str) else item.get("Document", item)
        for item in entry["Segments"]
    ]


def doc(ident: str | None, **fields: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"name": f"n-{ident}", "start_time": 100.0, "end_time": 101.0, **fields}
    if ident is not None:
        document["id"] = ident
    return document


# ------------------------------------------------------------------------------------------ every fixture


def fixture_files() -> list[Path]:
    skip = {"PROVENANCE.md", "README.md", "_index.json", "xray-segmentdocument-schema-v1.0.0.json"}
    return sorted(path for path in FIXTURES.rglob("*") if path.is_file() and path.name not in skip)


@pytest.mark.parametrize("path", fixture_files(), ids=lambda path: path.name)
def test_every_fixture_builds_with_every_entity_in_the_tree(path: Path) -> None:
    text = path.read_text()
    data = parse_document(text) if text.startswith('{"format"') else json.loads(text)
    if isinstance(data, dict) and NOT_TRACES & data.keys():
        with pytest.raises(InputError):
            traces_from_batch(data)
        return
    if isinstance(data, list) and data and "memorySize" in data[0]:  # codetalkio: benchmark runs
        entries = [entry for run in data for entry in run["traces"]]
        pairs = list(zip(traces_from_batch(entries), map(segment_documents, entries)))
    elif isinstance(data, dict) and ("Traces" in data or "Segments" in data):
        entries = data.get("Traces", [data])
        pairs = list(zip(traces_from_batch(data), map(segment_documents, entries)))
    else:  # one document, or a list of daemon documents
        documents = data if isinstance(data, list) else [data]
        pairs = [(build_trace("", documents), documents)]
    assert pairs
    for trace, documents in pairs:
        assert trace.node_count == entity_count(documents) == len(list(trace.walk())) > 0
        assert not [warning for warning in trace.warnings if "left out" in warning or "leads back" in warning]


# ------------------------------------------------------------------------------------- real trace shapes


def test_real_lambda_trace_nests_function_under_service_and_keeps_early_initialization() -> None:
    [trace] = traces_from_batch(json.loads((TRACES / "iatk-lambda-traceWithLinks01.json").read_text()))
    assert trace.id == "1-654c0557-5611b044040fc7224c4790b6"
    [service] = trace.roots
    assert (service.origin, service.label, service.http_status) == ("AWS::Lambda", "AWS::Lambda", 200)
    [function] = service.children
    assert function.origin == "AWS::Lambda::Function" and function.kind == "segment"
    assert [child.name for child in function.children] == ["Initialization", "Invocation", "Overhead"]
    initialization = function.children[0]
    assert function.start_time is not None and initialization.start_time is not None
    assert initialization.start_time == 1699480919.5493197 < function.start_time  # not clamped
    assert trace.offset(initialization) == pytest.approx(1699480919.5493197 - 1699480919.389)
    assert (trace.node_count, trace.max_depth, trace.warnings) == (5, 2, [])
    assert trace.duration == pytest.approx(1699480920.17 - 1699480919.389)
    # Invocation and Overhead cover the function segment but for the gaps between them.
    invocation, overhead = function.children[1:]
    assert function.self_time == pytest.approx(
        function.duration - invocation.duration - overhead.duration  # type: ignore[operator]
    )


def test_real_step_functions_trace_keeps_all_765_entities_with_inferred_segments_in_place() -> None:
    data = json.loads((TRACES / "iatk-stepfunctions-trace01.json").read_text())
    documents = data["Segments"]
    [trace] = traces_from_batch(data)
    assert trace.node_count == entity_count(documents) == 765
    assert trace.warnings == []
    kinds = [node.kind for node in trace.walk()]
    assert (kinds.count("segment") + kinds.count("inferred"), kinds.count("inferred")) == (31, 28)
    # Depth computed from the file: each entity's depth in its document, plus its document's depth.
    depth_in_doc: dict[str, int] = {}
    document_of: dict[str, int] = {}
    for number, document in enumerate(documents):
        pending = [(document, 0)]
        while pending:
            entity, depth = pending.pop()
            depth_in_doc[entity["id"]], document_of[entity["id"]] = depth, number
            pending.extend((sub, depth + 1) for sub in entity.get("subsegments", []))
    document_depth = [0] * len(documents)
    for _ in documents:  # relax until stable: 31 documents
        for number, document in enumerate(documents):
            parent = document.get("parent_id")
            if parent in depth_in_doc:
                document_depth[number] = document_depth[document_of[parent]] + depth_in_doc[parent] + 1
    expected = max(document_depth[document_of[ident]] + depth for ident, depth in depth_in_doc.items())
    assert trace.max_depth == expected == 8
    assert max(depth_in_doc.values()) == 4  # the fixture's "depth 4": nesting inside one document
    for node in trace.walk():
        if node.kind == "inferred":
            assert node.parent is not None and node.parent.kind == "subsegment"
    assert trace.in_progress and any(node.in_progress and node.end_time is None for node in trace.walk())


def test_codetalkio_traces_without_ids_build_the_same_in_any_document_order() -> None:
    runs = json.loads((TRACES / "codetalkio-lambda-benchmark-traces.json").read_text())
    entries = [entry for run in runs for entry in run["traces"]]
    forward = traces_from_batch(entries)
    backward = traces_from_batch([{**entry, "Segments": entry["Segments"][::-1]} for entry in entries])
    assert len(forward) == len(entries) > 500
    for one, other in zip(forward, backward):
        assert shape(one) == shape(other)
        assert one.id == other.id
        assert all(node.id.startswith("synthetic-") for node in one.walk())
        assert any("no id" in warning for warning in one.warnings)
    cold = next(trace for trace in forward if by_name(trace, "Initialization"))
    [function] = [root for root in cold.roots if root.origin == "AWS::Lambda::Function"]
    assert "Initialization" in [child.name for child in function.children]


def datagrams(*names: str) -> list[str]:
    return [(SDK / name).read_text() for name in names]


def lambda_function(invocation_id: str, trace_id: str, start: float, end: float) -> dict[str, Any]:
    """What the Lambda service records for the function: the SDK's subsegments name Invocation as parent."""
    invocation = {"id": invocation_id, "name": "Invocation", "start_time": start, "end_time": end}
    return {
        "id": "f0f0f0f0f0f0f0f0",
        "name": "demo-function",
        "origin": "AWS::Lambda::Function",
        "trace_id": trace_id,
        "start_time": start - 0.01,
        "end_time": end + 0.01,
        "subsegments": [invocation],
    }


def test_sdk_datagrams_stitch_under_the_invocation_subsegment() -> None:
    texts = datagrams("00_s3.json", "01_put_object.json", "02_s3.json", "03_get_object.json")
    function = lambda_function("325b1f692a292ae1", TRACE_ID, 1795475538.59, 1795475538.63)
    trace = build_trace(TRACE_ID, [*texts, function])  # children arrive before their parents
    assert trace.warnings == []
    [root] = trace.roots
    [invocation] = root.children
    assert [(child.name, child.annotations) for child in invocation.children] == [
        ("put_object", {"put_response": 200}),
        ("get_object", {"get_response": 200}),
    ]
    put_call, get_call = (child.children[0] for child in invocation.children)
    assert (put_call.name, put_call.label) == ("s3", "S3 PutObject demo-bucket/hello.txt")
    assert (get_call.name, get_call.label) == ("s3", "S3 GetObject demo-bucket/hello.txt")
    assert (put_call.namespace, put_call.http_status, put_call.status) == ("aws", 200, "ok")
    assert [node.depth for node in trace.walk()] == [0, 1, 2, 3, 2, 3]


def test_sdk_datagrams_from_awslambdaric_each_trace_under_its_invocation() -> None:
    documents = json.loads((SDK / "udp_documents_awslambdaric.json").read_text())
    trace_ids = sorted({document["trace_id"] for document in documents})
    assert len(trace_ids) == 3
    for trace_id in trace_ids:
        mine = [document for document in documents if document["trace_id"] == trace_id]
        ids = {document["id"] for document in mine}
        [invocation_id] = {document["parent_id"] for document in mine} - ids
        start = min(document["start_time"] for document in mine)
        end = max(document["end_time"] for document in mine)
        trace = build_trace(trace_id, [lambda_function(invocation_id, trace_id, start, end), *mine])
        assert trace.warnings == [] and trace.node_count == len(mine) + 2
        assert {node.id for node in trace.walk() if node.depth == 2} == {
            document["id"] for document in mine if document["parent_id"] == invocation_id
        }
    failed_id = next(document["trace_id"] for document in documents if document.get("fault"))
    failed = build_trace("", [document for document in documents if document["trace_id"] == failed_id])
    [s3_call] = by_name(failed, "s3")
    assert (s3_call.status, s3_call.http_status, s3_call.label) == ("fault", 404, "S3 PutObject missing-bucket/x")
    [exception] = s3_call.exceptions
    assert (exception.type, exception.remote, exception.stack[0]) == ("NoSuchBucket", True, "__main__.py:31 in main")
    assert "The specified bucket does not exist" in exception.message
