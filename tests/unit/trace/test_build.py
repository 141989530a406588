"""The trace builder on real X-Ray data (tests/fixtures) and on the broken shapes real data takes."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.docs import deep_document, entity_count, lambda_documents, nested_json
from tests.support.paths import FIXTURES
from xrayctl.errors import InputError, TraceNotFound
from xrayctl.trace.build import build_trace, load_batch, parse_document, traces_from_batch
from xrayctl.trace.model import Node, Trace

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
        pairs = list(zip(traces_from_batch(data), map(segment_documents, entries), strict=True))
    elif isinstance(data, dict) and ("Traces" in data or "Segments" in data):
        entries = data.get("Traces", [data])
        pairs = list(zip(traces_from_batch(data), map(segment_documents, entries), strict=True))
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
    for one, other in zip(forward, backward, strict=True):
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
    assert (s3_call.status, s3_call.http_status) == ("fault", 404)
    assert s3_call.label == "S3 PutObject missing-bucket/x"
    [exception] = s3_call.exceptions
    assert (exception.type, exception.remote) == ("NoSuchBucket", True)
    assert exception.stack[:2] == ["__main__.py:31 in main", "bootstrap.py:549 in run"]
    assert "The specified bucket does not exist" in exception.message


# ------------------------------------------------------------------------------------------ linking shapes


def test_inferred_segment_nests_under_the_aws_subsegment_that_called() -> None:
    caller = doc(
        "a0", subsegments=[doc("a1", namespace="aws", aws={"operation": "GetItem", "table_name": "t"})]
    )
    inferred = doc("b0", inferred=True, parent_id="a1", origin="AWS::DynamoDB::Table", name="DynamoDB")
    inferred["aws"] = {"operation": "GetItem", "table_name": "t"}
    trace = build_trace("t", [inferred, caller])
    assert shape(trace) == [
        (0, "segment", "a0", "n-a0"),
        (1, "subsegment", "a1", "n-a1"),
        (2, "inferred", "b0", "DynamoDB"),
    ]
    assert by_name(trace, "DynamoDB")[0].label == "DynamoDB GetItem t"
    assert trace.warnings == []


def test_independent_subsegments_arriving_before_their_parents_nest_in_order() -> None:
    segment = doc("s", start_time=1.0, end_time=9.0)
    first = doc("c1", type="subsegment", parent_id="s", start_time=2.0, end_time=3.0)
    grandchild = doc("c2", type="subsegment", parent_id="c1", start_time=2.5, end_time=2.6)
    second = doc("c3", type="subsegment", parent_id="s", start_time=1.5, end_time=8.0)
    trace = build_trace("t", [grandchild, first, second, segment])
    assert [(depth, ident) for depth, _, ident, _ in shape(trace)] == [
        (0, "s"),
        (1, "c3"),
        (1, "c1"),
        (2, "c2"),
    ]
    assert trace.warnings == []


def test_children_are_ordered_by_start_with_missing_times_last() -> None:
    children = [
        doc("y", start_time=None),
        doc("late", start_time=5.0),
        doc("x", start_time=None),
        doc("early", start_time=1.0),
    ]
    for child in children[::2]:
        del child["start_time"]
    trace = build_trace("t", [doc("p", start_time=0.0, end_time=10.0, subsegments=children)])
    assert [child.id for child in trace.roots[0].children] == ["early", "late", "x", "y"]


def test_siblings_starting_together_are_in_natural_name_order_then_by_id() -> None:
    # As Step Functions records a Map state: every iteration starts at once, in no particular order.
    names = ["Iteration 28", "Iteration 5", "iteration 100", "Iteration 24", "Iteration 5", "Iteration 0"]
    iterations = [doc(f"{n:016x}", name=name) for n, name in zip([6, 5, 4, 3, 2, 1], names, strict=True)]
    trace = build_trace("t", [doc("p", start_time=100.0, end_time=102.0, subsegments=iterations)])
    assert [(child.name, child.id[-1]) for child in trace.roots[0].children] == [
        ("Iteration 0", "1"),
        ("Iteration 5", "2"),
        ("Iteration 5", "5"),
        ("Iteration 24", "3"),
        ("Iteration 28", "6"),
        ("iteration 100", "4"),
    ]
    roots = build_trace("t", [doc("b", name="svc 10"), doc("a", name="svc 9"), doc("c", name="svc 9")]).roots
    assert [root.id for root in roots] == ["a", "c", "b"]


def test_child_starting_before_its_parent_keeps_its_times() -> None:
    trace = build_trace(
        "t", [doc("p", start_time=10.0, end_time=20.0, subsegments=[doc("c", start_time=5.0, end_time=12.0)])]
    )
    [parent] = trace.roots
    [child] = parent.children
    assert (child.start_time, child.end_time, trace.start_time, trace.end_time) == (5.0, 12.0, 5.0, 20.0)
    assert trace.offset(parent) == 5.0
    assert parent.self_time == pytest.approx(8.0)  # the child covers 10..12 of the parent, clipped


def test_self_time_subtracts_the_union_of_overlapping_children() -> None:
    children = [
        doc("a", start_time=1.0, end_time=4.0),
        doc("b", start_time=2.0, end_time=5.0),
        doc("c", start_time=7.0, end_time=8.0),
        doc("d", start_time=7.5, end_time=None, in_progress=True),
    ]
    trace = build_trace("t", [doc("p", start_time=0.0, end_time=10.0, subsegments=children)])
    assert trace.roots[0].self_time == pytest.approx(10.0 - 4.0 - 1.0)
    assert [child.self_time for child in trace.roots[0].children] == [3.0, 3.0, 1.0, None]


def test_in_progress_without_end_time_is_partial_not_a_problem() -> None:
    text = (FIXTURES / "xray-real" / "segments" / "minInProgress.txt").read_text()
    trace = build_trace("", [text], limit_exceeded=True)
    [node] = trace.roots
    assert (node.in_progress, node.end_time, node.duration, node.self_time) == (True, None, None, None)
    assert (trace.in_progress, trace.limit_exceeded, trace.end_time, trace.warnings) == (True, True, None, [])
    assert trace.id == "1-5f187253-6a106696d56b1f4ef9eba2ed"


# --------------------------------------------------------------------------------------------- bad data


def test_entities_without_id_or_name_get_stable_synthetic_ids_and_warnings() -> None:
    nameless = {
        "origin": "AWS::Lambda",
        "start_time": 1.0,
        "end_time": 2.0,
        "subsegments": [{"start_time": 1.5}],
    }
    one, again = build_trace("t", [nameless, doc("z")]), build_trace("t", [doc("z"), nameless])
    assert shape(one) == shape(again)
    root = next(node for node in one.roots if node.origin == "AWS::Lambda")
    assert root.name == "AWS::Lambda" and root.id.startswith("synthetic-")
    assert "no name" in root.warnings and any(warning.startswith("no id") for warning in root.warnings)
    [child] = root.children
    assert child.name == "subsegment" and child.id.startswith("synthetic-") and child.id != root.id
    assert "no end_time" in " ".join(child.warnings)
    assert len([warning for warning in one.warnings if "no id" in warning]) == 2


def test_orphans_become_roots_with_a_warning() -> None:
    trace = build_trace("t", [doc("a"), doc("b", parent_id="gone", type="subsegment")])
    assert sorted(root.id for root in trace.roots) == ["a", "b"]
    orphan = next(root for root in trace.roots if root.id == "b")
    assert orphan.warnings == ["parent gone is not in this trace: shown as a root"]
    assert trace.warnings == ["n-b [b]: parent gone is not in this trace: shown as a root"]


def test_duplicate_ids_keep_both_nodes_with_a_warning() -> None:
    trace = build_trace("t", [doc("a", name="first"), doc("a", name="second"), doc("c", parent_id="a")])
    assert trace.node_count == 3 and len(trace.roots) == 2
    first = next(root for root in trace.roots if root.name == "first")
    assert [child.id for child in first.children] == ["c"]  # a parent_id means the first entity read
    assert any("duplicate id" in warning for warning in trace.warnings)


@pytest.mark.parametrize(
    "documents",
    [
        [doc("a", parent_id="a")],
        [doc("a", parent_id="b"), doc("b", parent_id="c"), doc("c", parent_id="a")],
        [
            doc("a", parent_id="b2", subsegments=[doc("a2")]),
            doc("b", parent_id="a2", subsegments=[doc("b2")]),
        ],
    ],
    ids=["self", "three", "through-subsegments"],
)
def test_parent_cycles_are_broken_at_one_member_in_any_order(documents: list[dict[str, Any]]) -> None:
    trace = build_trace("t", documents)
    assert trace.node_count == entity_count(documents) == len(list(trace.walk()))
    [root] = trace.roots
    assert root.id == "a" and any("leads back" in warning for warning in root.warnings)
    assert shape(build_trace("t", documents[::-1])) == shape(trace)


def test_bad_json_is_a_warning_naming_the_segment_and_the_rest_builds() -> None:
    batch = {
        "Id": "t",
        "Segments": [
            {"Id": "abc", "Document": '{"id": "abc", "name": '},
            {"Id": "ok", "Document": json.dumps(doc("ok"))},
        ],
    }
    [trace] = traces_from_batch(batch)
    assert [root.id for root in trace.roots] == ["ok"]
    assert len(trace.warnings) == 1 and trace.warnings[0].startswith("segment abc: document left out")
    trace = build_trace("t", ['{"name": "x", "id": "1234567890abcdef", ', "[1, 2]", 42])  # type: ignore[list-item]
    assert trace.node_count == 0 and len(trace.warnings) == 3
    assert trace.warnings[0].startswith("segment 1234567890abcdef:") and "#2" in trace.warnings[1]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.5", 1.5),
        (math.nan, None),
        (math.inf, None),
        (-1.0, None),
        ("soon", None),
        (True, None),
        (10**400, None),
        ([1], None),
    ],
)
def test_times_are_coerced_from_strings_and_unusable_ones_are_missing(
    value: Any, expected: float | None
) -> None:
    trace = build_trace("t", [doc("a", start_time=value)])
    [node] = trace.roots
    assert node.start_time == expected
    assert bool(node.warnings) == (expected is None)
    assert node.duration == (None if expected is None else 101.0 - expected)


def test_wrong_types_are_coerced_or_warned_and_never_raise() -> None:
    weird = doc(
        "a",
        name=7,
        annotations=["not", "an", "object"],
        metadata="text",
        http={
            "request": {"method": "GET", "url": "https://h/p"},
            "response": {"status": "503", "content_length": "861"},
        },
        aws=[],
        fault="yes",
        subsegments={"id": "b", "name": "single"},
        cause=200,
        unknown_key={"kept": "out of sight"},
    )
    [node] = build_trace("t", [weird]).roots
    assert (node.name, node.annotations, node.metadata, node.aws) == ("7", {}, {}, {})
    assert node.http["response"] == {"status": "503", "content_length": 861}
    assert weird["http"]["response"]["content_length"] == "861"  # the input is left as it was
    assert (node.http_status, node.status, node.label) == (503, "fault", "GET https://h/p")
    assert [child.id for child in node.children] == ["b"]
    for topic in (
        "name is 7",
        "annotations",
        "metadata",
        "aws is",
        "fault is",
        "subsegments is one object",
        "cause is 200",
    ):
        assert any(topic in warning for warning in node.warnings), topic


def test_annotations_keep_scalars_and_drop_the_rest_with_a_warning() -> None:
    annotations = {"s": "x", "n": 3, "f": 1.5, "b": False, "none": None, "list": [1], "obj": {}}
    [node] = build_trace("t", [doc("a", annotations=annotations)]).roots
    assert node.annotations == {"s": "x", "n": 3, "f": 1.5, "b": False}
    assert len(node.warnings) == 3 and all("dropped" in warning for warning in node.warnings)


def test_cause_given_as_exception_id_is_looked_up_across_the_trace() -> None:
    exception = {
        "id": "e1",
        "type": "ValueError",
        "message": "boom",
        "stack": [{"path": "app.py", "line": 3, "label": "run"}],
        "truncated": 4,
    }
    child = doc("c", type="subsegment", parent_id="p", fault=True, cause={"exceptions": [exception]})
    parent = doc("p", fault=True, cause="e1")
    missing = doc("q", error=True, cause="e9")
    trace = build_trace("t", [parent, child, missing])
    found = by_name(trace, "n-p")[0].exceptions
    assert [(e.id, e.type, e.message, e.stack, e.truncated) for e in found] == [
        ("e1", "ValueError", "boom", ["app.py:3 in run"], 4)
    ]
    [unknown] = by_name(trace, "n-q")[0].exceptions
    assert unknown.id == "e9" and "e9" in unknown.message
    assert by_name(trace, "n-q")[0].warnings == ["cause names exception e9, which is not in this trace"]


def test_empty_cause_and_cause_fixtures() -> None:
    [node] = build_trace("t", [doc("a", cause={})]).roots
    assert (node.exceptions, node.warnings) == ([], [])
    segments = FIXTURES / "xray-real" / "segments"
    [by_id] = build_trace("", [(segments / "minCauseIsExceptionId.txt").read_text()]).roots
    assert [e.id for e in by_id.exceptions] == ["abcdefghijklmnop"] and by_id.status == "fault"
    [invalid] = build_trace("", [(segments / "minCauseIsInvalid.txt").read_text()]).roots
    assert invalid.exceptions == [] and any("cause is 200" in warning for warning in invalid.warnings)


def test_fields_the_model_does_not_read_are_kept_as_recorded() -> None:
    service = {"version": "1.4", "runtime": "python"}
    cause = {"working_directory": "/var/task", "paths": ["/var/task/app.py"], "exceptions": []}
    extra = {"resource_arn": "arn:aws:lambda:us-east-1:1:function:f", "user": "alice", "service": service}
    extra |= {"precursor_ids": ["p1"], "Unknown": {"k": 1}}
    [node] = build_trace("t", [doc("a", cause=cause, **extra)]).roots
    assert node.extra == {**extra, "cause": {"working_directory": "/var/task", "paths": ["/var/task/app.py"]}}
    [bare] = build_trace("t", [doc("b", cause={"exceptions": []})]).roots
    assert bare.extra == {}


def test_span_links_are_read_and_broken_ones_warned() -> None:
    [trace] = traces_from_batch(json.loads((TRACES / "iatk-lambda-traceWithLinks01.json").read_text()))
    [invocation] = by_name(trace, "Invocation")
    [link] = invocation.links
    assert link["trace_id"] == "1-654c0558-630340be09e985eb352a72e6" and link["id"] == "2acd99f6ce4d0822"
    assert "links" not in invocation.extra
    [node] = build_trace("t", [doc("a", links=[{"trace_id": "1-2-3"}, "junk"])]).roots
    assert node.links == [{"trace_id": "1-2-3"}] and "not objects" in node.warnings[0]
    [scalar] = build_trace("t", [doc("a", links="1-2-3")]).roots
    assert scalar.links == [] and "links is '1-2-3'" in scalar.warnings[0]


# ------------------------------------------------------------------------------------------ deep documents


def test_deep_document_text_parses_and_builds_without_raising_the_recursion_limit() -> None:
    text = deep_document(5000)
    with pytest.raises(RecursionError):
        json.loads(text)  # what parse_document has to survive
    limit = sys.getrecursionlimit()
    trace = build_trace("", [text])
    assert sys.getrecursionlimit() == limit
    assert (trace.node_count, trace.max_depth, trace.warnings) == (5000, 4999, [])
    assert [node.depth for node in trace.walk()] == list(range(5000))
    deepest = list(trace.walk())[-1]
    assert (deepest.name, deepest.parent.name if deepest.parent else None) == ("level5000", "level4999")


@pytest.mark.parametrize("broken", ['{"k": [1, 2', '{"k" 1}', '{"k": tru}'])
def test_a_deep_broken_document_is_left_out_with_a_warning(broken: str) -> None:
    trace = build_trace("t", [nested_json(broken, 3000)])
    assert trace.node_count == 0 and "left out" in trace.warnings[0]


def test_parse_document_takes_daemon_datagrams_and_rejects_non_objects() -> None:
    datagram = (SDK / "01_put_object.json").read_text()
    assert datagram.startswith('{"format":"json","version":1}\n')
    assert parse_document(datagram)["name"] == "put_object"
    for not_an_object in ("[]", '"text"', "3", '{"format":"json","version":1}\n[1]'):
        with pytest.raises(ValueError):
            parse_document(not_an_object)


def test_deep_parent_chain_across_documents() -> None:
    documents = [
        doc(f"{n:04d}", parent_id=f"{n - 1:04d}" if n else None, type="subsegment" if n else None)
        for n in range(5000)
    ]
    for document in documents:
        if document["parent_id"] is None:
            del document["parent_id"], document["type"]
    trace = build_trace("t", documents[::-1])
    assert (trace.node_count, trace.max_depth, trace.warnings) == (5000, 4999, [])


def test_documents_over_64_kb_are_read() -> None:
    big = doc("a", metadata={"default": {"blob": "x" * 200_000}})
    [node] = build_trace("t", [json.dumps(big)]).roots
    assert len(node.metadata["default"]["blob"]) == 200_000


def test_synthetic_lambda_trace_keeps_every_entity() -> None:
    documents = lambda_documents(2000, seed=7)
    trace = build_trace("", [json.dumps(document) for document in documents])
    assert trace.node_count == entity_count(documents) == 2000 and trace.warnings == []
    assert sum(node.kind == "inferred" for node in trace.walk()) == sum(
        bool(d.get("inferred")) for d in documents
    )


# ------------------------------------------------------------------------------------- batch output shapes


def test_traces_from_batch_takes_every_shape_of_batch_get_traces_output() -> None:
    segment = doc("a", trace_id="1-a")
    one = {"Id": "1-a", "Segments": [{"Id": "a", "Document": json.dumps(segment)}], "LimitExceeded": True}
    as_object = {"Id": "1-b", "Segments": [{"Id": "a", "Document": segment}]}
    bare = {"Id": "1-c", "Segments": [segment]}
    assert [t.id for t in traces_from_batch({"Traces": [one, as_object, bare]})] == ["1-a", "1-b", "1-c"]
    assert [t.id for t in traces_from_batch([{"Traces": [one]}, {"Traces": [bare]}])] == ["1-a", "1-c"]
    # Harnesses save runs as objects with a lowercase `traces` list (the codetalkio fixture does).
    assert [t.id for t in traces_from_batch([{"memorySize": 128, "traces": [one, bare]}])] == ["1-a", "1-c"]
    [trace] = traces_from_batch(one)
    assert (trace.limit_exceeded, trace.node_count) == (True, 1)
    assert traces_from_batch({"Traces": []}) == []
    [no_id] = traces_from_batch({"Segments": [segment]})
    assert no_id.id == "1-a"
    [not_a_list] = traces_from_batch({"Id": "1-d", "Segments": "nope"})
    assert not_a_list.node_count == 0 and "Segments is 'nope'" in not_a_list.warnings[0]


@pytest.mark.parametrize(
    "data",
    [
        {"TraceSummaries": []},
        42,
        "text",
        [1],
        {"Traces": "x"},
        [{"Id": "x"}],
        {"traces": [{"trace_id": "1-a", "roots": []}]},  # xrayctl's own JSON: a tree, not documents
    ],
)
def test_traces_from_batch_rejects_what_is_not_a_trace(data: Any) -> None:
    with pytest.raises(InputError) as raised:
        traces_from_batch(data)
    assert raised.value.fix


# ------------------------------------------------------------------------------------------------ property


def mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`valid` three times in four, else junk: ids must often be usable for cycles and duplicates to occur."""
    return st.integers(0, 3).flatmap(lambda n: valid if n else JUNK)


IDS = st.sampled_from(["a", "b", "c", "d", "e"])
JUNK = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=4)
    | st.lists(st.integers(), max_size=2)
)
TIMES = st.floats(min_value=0, max_value=10) | JUNK
FIELDS = {
    "id": mostly(IDS),
    "name": st.text(max_size=4) | JUNK,
    "parent_id": mostly(IDS),
    "type": st.just("subsegment") | JUNK,
    "inferred": st.booleans() | JUNK,
    "in_progress": st.booleans() | JUNK,
    "start_time": TIMES,
    "end_time": TIMES,
    "fault": st.booleans() | JUNK,
    "namespace": st.sampled_from(["aws", "remote"]) | JUNK,
    "http": st.fixed_dictionaries({"response": st.fixed_dictionaries({"status": JUNK})}) | JUNK,
    "aws": st.fixed_dictionaries({"operation": JUNK, "bucket_name": JUNK}) | JUNK,
    "sql": st.fixed_dictionaries({"url": JUNK}) | JUNK,
    "annotations": st.dictionaries(st.text(max_size=3), JUNK, max_size=3) | JUNK,
    "cause": IDS
    | JUNK
    | st.fixed_dictionaries(
        {
            "exceptions": st.lists(
                st.fixed_dictionaries({"id": IDS}, optional={"stack": JUNK, "truncated": JUNK}), max_size=2
            )
            | JUNK
        }
    ),
}
ENTITY = st.fixed_dictionaries({}, optional=FIELDS)
DOCUMENTS = st.recursive(
    ENTITY,
    lambda inner: st.tuples(ENTITY, st.lists(inner | JUNK, max_size=3) | inner).map(
        lambda pair: {**pair[0], "subsegments": pair[1]}
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents=st.lists(DOCUMENTS, max_size=6), as_text=st.lists(st.booleans(), min_size=6, max_size=6))
def test_arbitrary_documents_never_raise_and_every_entity_is_in_the_tree(
    documents: list[dict[str, Any]], as_text: list[bool]
) -> None:
    inputs = [
        json.dumps(document) if text else document for document, text in zip(documents, as_text, strict=False)
    ]
    trace = build_trace("t", inputs)
    walked = list(trace.walk())
    assert trace.node_count == len(walked) == len({id(node) for node in walked}) == entity_count(documents)
    given_ids = set()
    pending = list(documents)
    while pending:
        entity = pending.pop()
        if isinstance(entity.get("id"), str) and entity["id"]:
            given_ids.add(entity["id"])
        subsegments = entity.get("subsegments")
        pending.extend(
            s
            for s in (subsegments if isinstance(subsegments, list) else [subsegments])
            if isinstance(s, dict)
        )
    assert given_ids <= {node.id for node in walked}
    for node in walked:
        assert node.depth == (0 if node.parent is None else node.parent.depth + 1)
        assert (node in trace.roots) == (node.parent is None)
        assert node.parent is None or node in node.parent.children
        assert all(warning in " ".join(trace.warnings) for warning in node.warnings)
    assert trace.max_depth == max((node.depth for node in walked), default=0)


def test_load_batch_reads_a_saved_response_and_names_the_file_in_errors() -> None:
    text = (TRACES / "iatk-lambda-traceWithLinks01.json").read_text()
    [trace] = load_batch(text, source="saved.json")
    assert trace.id == "1-654c0557-5611b044040fc7224c4790b6" and trace.node_count == 5
    assert [t.id for t in load_batch(text, source="saved.json", only=[trace.id])] == [trace.id]
    with pytest.raises(TraceNotFound, match=r"saved\.json has no trace 1-00000000-000000000000000000000000"):
        load_batch(text, source="saved.json", only=[trace.id, "1-00000000-000000000000000000000000"])
    with pytest.raises(InputError, match=r"saved\.json is not JSON"):
        load_batch("{not json", source="saved.json")
    with pytest.raises(InputError, match=r"summaries\.json: "):
        load_batch(
            (
                FIXTURES / "xray-real" / "derived" / "doc-source__xray-api-gettingdata__block2.json"
            ).read_text(),
            source="summaries.json",
        )
    # Documents saved as objects rather than strings make the whole file as deep as the deepest trace.
    [deep] = load_batch('{"Traces": [{"Id": "1-d", "Segments": [' + deep_document(3000) + "]}]}", source="d")
    assert (deep.node_count, deep.max_depth) == (3000, 2999)
