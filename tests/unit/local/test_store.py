"""The local trace store on real documents: validation, stitching, inferred segments, summaries, reopening."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import FIXTURES
from xrayctl.local.xray.stitch import walk
from xrayctl.local.xray.store import StoreError, StoreVersionError, TraceStore


def lambda_documents() -> list[dict[str, Any]]:
    """What awslambdaric invocations sent over UDP (one per trace), plus the AWS::Lambda::Function segment
    the Lambda service records itself, whose Invocation subsegment is the parent of the function's ones."""
    documents: list[dict[str, Any]] = json.loads(
        (FIXTURES / "sdk-captured/udp_documents_awslambdaric.json").read_text()
    )
    invocations: dict[str, tuple[str, float, float]] = {}
    for doc in documents:
        if doc["name"] in ("put_object", "get_object"):
            start, end = invocations.get(doc["trace_id"], ("", doc["start_time"], doc["end_time"]))[1:]
            invocations[doc["trace_id"]] = (
                doc["parent_id"],
                min(start, doc["start_time"]),
                max(end, doc["end_time"]),
            )
    for trace_id, (invocation_id, start, end) in invocations.items():
        documents.append(
            {
                "id": "f" + invocation_id[1:],
                "name": "s3-demo",
                "origin": "AWS::Lambda::Function",
                "trace_id": trace_id,
                "start_time": start - 0.002,
                "end_time": end + 0.002,
                "aws": {"account_id": "123456789012"},
                "subsegments": [
                    {"id": invocation_id, "name": "Invocation", "start_time": start - 0.001, "end_time": end}
                ],
            }
        )
    return documents


def segments_of(trace: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(segment["Document"]) for segment in trace["Segments"]]


def node_index(segments: list[dict[str, Any]]) -> dict[str, tuple[dict[str, Any], str | None]]:
    """node id -> (node, id of the node it is nested in)."""
    index: dict[str, tuple[dict[str, Any], str | None]] = {}
    for segment in segments:
        index[segment["id"]] = (segment, None)
        for node in walk(segment):
            for child in node.get("subsegments", []):
                index[child["id"]] = (child, node["id"])
    return index


@pytest.fixture
def store(tmp_path: Path) -> Any:
    trace_store = TraceStore(tmp_path / "traces.db")
    yield trace_store
    trace_store.close()


def test_lambda_trace_is_stitched_under_invocation_with_inferred_s3(store: TraceStore) -> None:
    documents = lambda_documents()
    assert store.put_documents([json.dumps(doc) for doc in documents]) == []
    trace_id = "1-6b04c914-ea7beef5edbcb95e43b8d27c"
    traces, unprocessed = store.batch_get([trace_id])
    assert unprocessed == []
    segments = segments_of(traces[0])
    index = node_index(segments)
    put_object = next(doc for doc in documents if doc["trace_id"] == trace_id and doc["name"] == "put_object")
    assert index[put_object["id"]][1] == put_object["parent_id"]  # nested inside Invocation
    assert index[put_object["parent_id"]][0]["name"] == "Invocation"
    s3_call = next(doc for doc in documents if doc.get("parent_id") == put_object["id"])
    assert index[s3_call["id"]][1] == put_object["id"]
    inferred = [segment for segment in segments if segment.get("inferred")]
    assert {(s["name"], s["origin"]) for s in inferred} == {("S3", "AWS::S3::Bucket")}
    put_inferred = next(s for s in inferred if s["parent_id"] == s3_call["id"])
    assert put_inferred["aws"]["operation"] == "PutObject" and put_inferred["trace_id"] == trace_id
    assert (put_inferred["start_time"], put_inferred["end_time"]) == (
        s3_call["start_time"],
        s3_call["end_time"],
    )
    # One function segment and two inferred S3 segments: nothing else left at the top.
    assert sorted(s["name"] for s in segments) == ["S3", "S3", "s3-demo"]
    # Deterministic ids: a second read names the inferred segments the same.
    assert segments_of(store.batch_get([trace_id])[0][0]) == segments


def test_summaries_carry_annotations_flags_and_the_entry_point(store: TraceStore) -> None:
    store.put_documents([json.dumps(doc) for doc in lambda_documents()])
    summaries = {s["Id"]: s for s in store.summaries(0, 2e9)}
    assert len(summaries) == 3
    ok = summaries["1-6b04c914-ea7beef5edbcb95e43b8d27c"]
    function = {
        "Name": "s3-demo",
        "Names": ["s3-demo"],
        "AccountId": "123456789012",
        "Type": "AWS::Lambda::Function",
    }
    assert ok["Annotations"]["put_response"] == [
        {"AnnotationValue": {"NumberValue": 200.0}, "ServiceIds": [function]}
    ]
    assert ok["EntryPoint"] == function
    assert {"Name": "S3", "Names": ["S3"], "Type": "AWS::S3::Bucket"} in ok["ServiceIds"]
    assert (ok["HasFault"], ok["HasError"], ok["IsPartial"]) == (False, False, False)
    failed = summaries["1-6b04c914-c05b7aa443a4ff42f3feb14e"]  # PutObject into a missing bucket
    assert failed["HasFault"] and failed["HasError"] and failed["Annotations"] == {}
    assert [s["StartTime"] for s in store.summaries(0, 2e9)] == sorted(
        (s["StartTime"] for s in summaries.values()), reverse=True
    )


def test_parent_arriving_later_and_in_progress_replaced(store: TraceStore) -> None:
    documents = lambda_documents()
    trace_id = "1-6b04c914-91775299041e3fbda0c19501"
    function = next(doc for doc in documents if doc["trace_id"] == trace_id and "origin" in doc)
    children = [doc for doc in documents if doc["trace_id"] == trace_id and "origin" not in doc]
    open_function = {**function, "in_progress": True}
    del open_function["end_time"]
    store.put_documents([json.dumps(open_function)])
    first = store.summary(trace_id)
    assert first is not None and first["IsPartial"]
    store.put_documents([json.dumps(doc) for doc in children])
    store.put_documents([json.dumps(function)])
    last = store.summary(trace_id)
    assert last is not None and not last["IsPartial"] and last["Revision"] > first["Revision"]
    segments = segments_of(store.batch_get([trace_id])[0][0])
    top = [s for s in segments if not s.get("inferred")]
    assert len(top) == 1 and "in_progress" not in top[0] and top[0]["end_time"] == function["end_time"]
    assert len(list(walk(top[0]))) == 2 + len(children)  # the segment, Invocation, and every child


@pytest.mark.parametrize("together", [False, True], ids=["in two batches", "in one batch"])
def test_an_in_progress_version_arriving_after_the_complete_one_does_not_replace_it(
    store: TraceStore, together: bool
) -> None:
    # The real in-progress document of X-Ray's tests, and its complete version: UDP delivered them reversed.
    opened = json.loads((FIXTURES / "xray-real" / "segments" / "minInProgress.txt").read_text())
    done = {key: value for key, value in opened.items() if key != "in_progress"}
    done["end_time"] = opened["start_time"] + 2.5
    batches = [[done, opened]] if together else [[done], [opened]]
    for batch in batches:
        assert store.put_documents([json.dumps(document) for document in batch]) == []  # acknowledged
    summary = store.summary(opened["trace_id"])
    assert summary is not None and not summary["IsPartial"] and summary["Duration"] == pytest.approx(2.5)
    [segment] = segments_of(store.batch_get([opened["trace_id"]])[0][0])
    assert segment["end_time"] == done["end_time"] and "in_progress" not in segment


def test_a_replaced_version_leaves_nothing_in_the_summary(store: TraceStore) -> None:
    # The service summarizes each document's latest version: what an in-progress version said and the
    # complete one no longer says (an annotation value, a fault, an earlier start) must not stay.
    trace_id = "1-6b04c914-000000000000000000000005"
    base = {"id": "00000000000000a1", "name": "api", "trace_id": trace_id}
    started = {
        **base,
        "start_time": 10.0,
        "in_progress": True,
        "fault": True,
        "annotations": {"stage": "open"},
    }
    done = {**base, "start_time": 11.0, "end_time": 12.5, "annotations": {"stage": "done"}}
    store.put_documents([json.dumps(started)])
    store.put_documents([json.dumps(done)])
    summary = store.summary(trace_id)
    assert summary is not None
    assert summary["Annotations"]["stage"] == [
        {"AnnotationValue": {"StringValue": "done"}, "ServiceIds": [{"Name": "api", "Names": ["api"]}]}
    ]
    assert (summary["HasFault"], summary["IsPartial"]) == (False, False)
    assert (summary["StartTime"], summary["Duration"], summary["ResponseTime"]) == (11.0, 1.5, 1.5)
    assert summary["Revision"] == 2
    # Both versions in one batch: the later one counts.
    other = {**base, "trace_id": "1-6b04c914-000000000000000000000006"}
    store.put_documents([json.dumps({**started, **other}), json.dumps({**done, **other})])
    assert store.summary(other["trace_id"]) == {**summary, "Id": other["trace_id"], "Revision": 1}


def test_a_function_error_has_its_fault_root_cause(store: TraceStore) -> None:
    # What Lambda records for an unhandled exception: the Function segment faults with the cause, Invocation
    # faults naming that exception by id; the function's own subsegment under Invocation is fine.
    trace_id = "1-6b04c914-000000000000000000000007"
    service = {"id": "00000000000000a1", "name": "fn", "origin": "AWS::Lambda", "trace_id": trace_id}
    exception = {"id": "00000000000000e1", "type": "KeyError", "message": "'bucket_name'"}
    function = {
        "id": "00000000000000a2",
        "name": "fn",
        "origin": "AWS::Lambda::Function",
        "trace_id": trace_id,
        "parent_id": service["id"],
        "aws": {"account_id": "123456789012"},
        "fault": True,
        "cause": {"exceptions": [exception]},
        "subsegments": [
            {"id": "00000000000000a3", "name": "Initialization", "start_time": 1.0, "end_time": 1.5},
            {"id": "00000000000000a4", "name": "Invocation", "fault": True, "cause": exception["id"]},
        ],
    }
    handler = {
        "id": "00000000000000a5",
        "name": "work",
        "type": "subsegment",
        "parent_id": "00000000000000a4",
    }
    times = {"start_time": 1.0, "end_time": 2.0}
    store.put_documents([json.dumps({**times, **doc}) for doc in (service, function, handler)])
    summary = store.summary(trace_id)
    assert summary is not None and summary["ErrorRootCauses"] == []
    no_exceptions: list[Any] = []
    assert summary["FaultRootCauses"] == [
        {
            "Services": [
                {
                    "Name": "fn",
                    "Names": ["fn"],
                    "Type": "AWS::Lambda",
                    "EntityPath": [{"Name": "fn", "Exceptions": no_exceptions, "Remote": False}],
                    "Inferred": False,
                },
                {
                    "Name": "fn",
                    "Names": ["fn"],
                    "AccountId": "123456789012",
                    "Type": "AWS::Lambda::Function",
                    "EntityPath": [
                        {
                            "Name": "fn",
                            "Exceptions": [{"Name": "KeyError", "Message": "'bucket_name'"}],
                            "Remote": False,
                        },
                        {
                            "Name": "Invocation",
                            "Exceptions": [{"Name": "KeyError", "Message": "'bucket_name'"}],
                            "Remote": False,
                        },
                    ],
                    "Inferred": False,
                },
            ],
            "ClientImpacting": False,  # the AWS::Lambda segment, what the caller saw, has no fault
        }
    ]


def test_a_failed_aws_call_is_the_root_cause_down_to_the_inferred_service(store: TraceStore) -> None:
    store.put_documents([json.dumps(doc) for doc in lambda_documents()])
    summary = store.summary("1-6b04c914-c05b7aa443a4ff42f3feb14e")  # PutObject into a missing bucket
    assert summary is not None
    for field in ("FaultRootCauses", "ErrorRootCauses"):  # the SDK marks the 404 as both
        (cause,) = summary[field]
        function, bucket = cause["Services"]
        assert [e["Name"] for e in function["EntityPath"]] == ["s3-demo", "Invocation", "put_object", "s3"]
        assert function["EntityPath"][-1]["Remote"] and function["EntityPath"][-1]["Exceptions"] == [
            {
                "Name": "NoSuchBucket",
                "Message": "An error occurred (NoSuchBucket) when calling the PutObject operation: "
                "The specified bucket does not exist",
            }
        ]
        assert (bucket["Name"], bucket["Type"], bucket["Inferred"]) == ("S3", "AWS::S3::Bucket", True)
    ok = store.summary("1-6b04c914-ea7beef5edbcb95e43b8d27c")
    assert ok is not None and ok["FaultRootCauses"] == ok["ErrorRootCauses"] == []


def test_root_causes_survive_segments_that_call_each_other(store: TraceStore) -> None:
    trace_id = "1-6b04c914-000000000000000000000008"
    a = {"id": "00000000000000b1", "name": "a", "parent_id": "00000000000000b4", "fault": True}
    b = {"id": "00000000000000b2", "name": "b", "parent_id": "00000000000000b3", "fault": True}
    a["subsegments"] = [{"id": "00000000000000b3", "name": "call-b", "fault": True}]
    b["subsegments"] = [{"id": "00000000000000b4", "name": "call-a", "fault": True}]
    times = {"trace_id": trace_id, "start_time": 1.0, "end_time": 2.0}
    store.put_documents([json.dumps({**times, **doc}) for doc in (a, b)])
    summary = store.summary(trace_id)
    assert summary is not None and summary["HasFault"] and summary["FaultRootCauses"] == []


def test_the_event_window_holds_every_trace_active_in_it(store: TraceStore) -> None:
    spans = {"before": (10.0, 20.0), "into": (20.0, 105.0), "inside": (110.0, 120.0), "across": (50.0, 250.0)}
    spans |= {"out of": (150.0, 300.0), "after": (210.0, 220.0)}
    for number, (name, (start, end)) in enumerate(spans.items()):
        trace_id = f"1-00000064-{number:024x}"
        document = {"id": f"{number + 1:016x}", "name": name, "trace_id": trace_id, "start_time": start}
        store.put_documents([json.dumps({**document, "end_time": end})])

    def names(summaries: list[dict[str, Any]]) -> list[str]:
        return [s["ServiceIds"][0]["Name"] for s in summaries]

    # Newest first; "across" started before the window and ended after it. The longest trace ("across") widens
    # the part of the index that is read, not what is returned: "before" ended before the window.
    assert names(store.summaries(100.0, 200.0)) == ["out of", "inside", "across", "into"]
    assert names(store.summaries(100.0, 200.0, time_range_type="Service")) == ["inside", "into"]


def test_an_unusable_store_is_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=f"{tmp_path}.* could not open: unable to open database file"):
        TraceStore(tmp_path)  # a directory, not a database


def test_a_full_disk_is_a_clear_error_and_keeps_what_was_acknowledged(tmp_path: Path) -> None:
    # A file size limit makes the disk "full" for one child process, for real, without a special mount.
    script = textwrap.dedent(
        f"""
        import json, resource, signal
        from pathlib import Path
        from xrayctl.local.xray.store import StoreError, TraceStore
        store = TraceStore(Path({str(tmp_path / "traces.db")!r}))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so that writing past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))
        stored = 0
        try:
            for i in range(10_000):
                doc = {{"id": f"{{i:016x}}", "name": "x", "trace_id": f"1-6b04c914-{{i:024x}}",
                        "start_time": 1.0, "annotations": {{"big": "x" * 2000}}}}
                store.put_documents([json.dumps(doc)])
                stored += 1
        except StoreError as exc:
            print(json.dumps({{"stored": stored, "error": str(exc)}}))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    outcome = json.loads(result.stdout)
    # SQLite says "disk I/O error" for EFBIG, "database or disk is full" for ENOSPC.
    assert f"{tmp_path / 'traces.db'} could not store segment documents: " in outcome["error"]
    assert "writable directory on a disk with free space" in outcome["error"]
    reopened = TraceStore(tmp_path / "traces.db")
    try:
        assert reopened.stats()["traces"] == outcome["stored"] > 0
    finally:
        reopened.close()


def test_orphans_and_cycles_stay_as_their_own_documents(store: TraceStore) -> None:
    trace_id = "1-6b04c914-000000000000000000000001"
    base = {"trace_id": trace_id, "type": "subsegment", "start_time": 1.0, "end_time": 2.0}
    documents = [
        {**base, "id": "1000000000000001", "name": "orphan", "parent_id": "9999999999999999"},
        {**base, "id": "2000000000000002", "name": "a", "parent_id": "3000000000000003"},
        {**base, "id": "3000000000000003", "name": "b", "parent_id": "2000000000000002"},
    ]
    store.put_documents([json.dumps(doc) for doc in documents])
    segments = segments_of(store.batch_get([trace_id])[0][0])
    found = {node["name"] for segment in segments for node in walk(segment)}
    assert found == {"orphan", "a", "b"}
    orphan = next(s for s in segments if s["name"] == "orphan")
    assert orphan["parent_id"] == "9999999999999999" and orphan["type"] == "subsegment"


def test_5000_level_chain_of_independent_subsegments(store: TraceStore) -> None:
    trace_id = "1-6b04c914-000000000000000000000002"
    documents = [
        json.dumps(
            {"id": f"{0:016x}", "name": "root", "trace_id": trace_id, "start_time": 1.0, "end_time": 2.0}
        )
    ]
    documents += [
        json.dumps(
            {
                "id": f"{i:016x}",
                "name": f"level{i}",
                "trace_id": trace_id,
                "type": "subsegment",
                "parent_id": f"{i - 1:016x}",
                "start_time": 1.0,
                "end_time": 2.0,
            }
        )
        for i in range(1, 5000)
    ]
    for offset in range(0, len(documents), 50):
        assert store.put_documents(documents[offset : offset + 50]) == []
    trace = store.batch_get([trace_id])[0][0]
    assert len(trace["Segments"]) == 1
    document = trace["Segments"][0]["Document"]
    assert document.count('"subsegments":[') == 4999
    assert document.endswith('"name":"level4999","start_time":1.0,"end_time":2.0}' + "]}" * 4999)


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ("not json", "InvalidSegment"),
        ("[1, 2]", "InvalidSegment"),
        (
            json.dumps(
                {"id": "abc", "name": "x", "trace_id": "1-6b04c914-000000000000000000000003", "start_time": 1}
            ),
            "InvalidSegment",
        ),
        (
            json.dumps({"id": "0000000000000001", "name": "x", "trace_id": "1-xyz", "start_time": 1}),
            "InvalidTraceId",
        ),
        (
            json.dumps(
                {"id": "0000000000000001", "trace_id": "1-6b04c914-000000000000000000000003", "start_time": 1}
            ),
            "InvalidSegment",
        ),
        (
            json.dumps(
                {"id": "0000000000000001", "name": "x", "trace_id": "1-6b04c914-000000000000000000000003"}
            ),
            "InvalidSegment",
        ),
        ("[" * 100_000 + "]" * 100_000, "DocumentTooLarge"),
        ('{"a":' * 2000 + "1" + "}" * 2000, "InvalidSegment"),
    ],
)
def test_bad_documents_are_reported_and_good_ones_kept(store: TraceStore, document: str, code: str) -> None:
    good = {
        "id": "00000000000000aa",
        "name": "ok",
        "trace_id": "1-6b04c914-000000000000000000000004",
        "start_time": 1.0,
    }
    unprocessed = store.put_documents([document, json.dumps(good)])
    assert [entry["ErrorCode"] for entry in unprocessed] == [code]
    assert unprocessed[0]["Message"]
    assert store.stats() == {"traces": 1, "documents": 1}


def test_real_step_functions_trace_gets_the_inferred_segments_x_ray_made(store: TraceStore) -> None:
    trace = json.loads((FIXTURES / "xray-real/traces/iatk-stepfunctions-trace01.json").read_text())
    sent = [segment for segment in trace["Segments"] if not segment.get("inferred")]
    # Compact, as the SDKs send them: one stitched segment is 65,440 bytes so, just under the 64 KB limit.
    assert store.put_documents([json.dumps(segment, separators=(",", ":")) for segment in sent]) == []
    ours = [s for s in segments_of(store.batch_get([trace["Id"]])[0][0]) if s.get("inferred")]
    theirs = [s for s in trace["Segments"] if s.get("inferred")]

    def shape(segment: dict[str, Any]) -> tuple[Any, ...]:
        return (
            segment["name"],
            segment["origin"],
            segment["parent_id"],
            segment["start_time"],
            segment["http"],
        )

    assert sorted(map(shape, ours)) == sorted(map(shape, theirs))
    summary = store.summary(trace["Id"])
    assert summary is not None and summary["IsPartial"]  # the trace has in_progress subsegments


def test_real_dynamodb_and_sns_calls_get_inferred_segments(store: TraceStore) -> None:
    data = json.loads(
        (FIXTURES / "xray-real/derived/doc-source__xray-api-gettingdata__block3.json").read_text()
    )
    documents = [json.loads(s["Document"]) for t in data["Traces"] for s in t["Segments"]]
    store.put_documents([json.dumps(d) for d in documents if not d.get("inferred")])
    trace_id = data["Traces"][0]["Id"]
    ours = {s["name"]: s for s in segments_of(store.batch_get([trace_id])[0][0]) if s.get("inferred")}
    theirs = {d["name"]: d for d in documents if d.get("inferred")}
    # No inferred Lambda: the function it called sent its own segment with that parent_id.
    assert ours.keys() == theirs.keys() == {"DynamoDB", "SNS"}
    for name, real in theirs.items():
        assert (ours[name]["origin"], ours[name]["parent_id"]) == (real["origin"], real["parent_id"])
    assert ours["DynamoDB"]["aws"]["resource_names"] == ["scorekeep-user"]


def test_acknowledged_documents_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "traces.db"
    first = TraceStore(path)
    documents = lambda_documents()
    first.put_documents([json.dumps(doc) for doc in documents])
    expected = first.batch_get(sorted({doc["trace_id"] for doc in documents}))
    first.close()
    second = TraceStore(path)
    try:
        assert second.stats() == {"traces": 3, "documents": len(documents)}
        assert second.batch_get(sorted({doc["trace_id"] for doc in documents})) == expected
    finally:
        second.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "traces.db"
    TraceStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=99")
    with pytest.raises(StoreVersionError, match="schema version 99"):
        TraceStore(path)


def test_two_stores_on_one_file_both_write(tmp_path: Path) -> None:
    path = tmp_path / "traces.db"
    one, two = TraceStore(path), TraceStore(path)
    try:
        for i, store in enumerate((one, two, one, two)):
            doc = {
                "id": f"{i:016x}",
                "name": "x",
                "trace_id": f"1-6b04c914-{i:024x}",
                "start_time": 1.0,
                "end_time": 2.0,
            }
            assert store.put_documents([json.dumps(doc)]) == []
        assert one.stats() == two.stats() == {"traces": 4, "documents": 4}
        one.reset()
        assert two.stats() == {"traces": 0, "documents": 0}
    finally:
        one.close()
        two.close()


def test_a_trace_read_again_shows_every_later_write_from_this_or_another_connection(
    store: TraceStore, tmp_path: Path
) -> None:
    # Reads of a trace are cached (a client pages through a large one); no write may leave a stale answer,
    # not even one that brings the trace back to the revision that was read.
    trace_id = "1-6b04c914-000000000000000000000007"
    segment = {"id": "00000000000000b1", "name": "api", "trace_id": trace_id, "start_time": 1.0}
    child = {"id": "00000000000000b2", "name": "work", "start_time": 1.1, "end_time": 1.2}

    def names() -> list[str]:
        traces, _ = store.batch_get([trace_id])
        return sorted(node["name"] for s in segments_of(traces[0]) for node in walk(s))

    store.put_documents([json.dumps({**segment, "in_progress": True})])
    assert names() == ["api"]
    store.reset()
    store.put_documents([json.dumps({**segment, "end_time": 2.0, "name": "again"})])  # revision 1 again
    assert names() == ["again"]
    other = TraceStore(store.path)  # another process's connection: a second `local serve`, `local reset`
    try:
        other.reset()
        other.put_documents([json.dumps({**segment, "end_time": 2.0, "name": "other"})])
        assert names() == ["other"]
    finally:
        other.close()
    store.put_documents([json.dumps({**segment, "end_time": 2.0, "subsegments": [child]})])
    assert names() == ["api", "work"]


def _annotated(trace_id: str, value: int, *, fault: bool = False) -> str:
    return json.dumps(
        {
            "id": "a" * 16,
            "trace_id": trace_id,
            "name": "svc",
            "start_time": 1_700_000_000.0,
            "end_time": 1_700_000_001.0,
            "annotations": {"v": value},
            "fault": fault,
        }
    )


def _values(store: TraceStore) -> list[Any]:
    page = store.summaries_page(1_699_999_000, 1_700_001_000)
    return [s["Annotations"]["v"][0]["AnnotationValue"]["NumberValue"] for s in page.summaries]


def test_summaries_read_again_follow_every_change_to_the_trace(tmp_path: Path) -> None:
    """Summaries are remembered between pages; a new version of the trace, a reset and a write by another
    process (another connection on the file, as `local reset` or a second serve) are all seen."""
    trace_id = "1-6553f100-000000000000000000000001"
    store = TraceStore(tmp_path / "traces.sqlite3")
    other = TraceStore(tmp_path / "traces.sqlite3")
    try:
        store.put_documents([_annotated(trace_id, 1, fault=True)])
        assert _values(store) == _values(store) == [1.0]
        faulted = store.summaries_page(1_699_999_000, 1_700_001_000).summaries[0]
        assert faulted["HasFault"] and faulted["FaultRootCauses"]
        other.reset()
        other.put_documents([_annotated(trace_id, 3)])  # revision 1 again, written by another connection
        assert _values(store) == [3.0]
        assert store.summaries_page(1_699_999_000, 1_700_001_000).summaries[0]["FaultRootCauses"] == []
        store.put_documents([_annotated(trace_id, 2)])  # a new version of the same document
        assert _values(store) == [2.0]
    finally:
        other.close()
        store.close()


def test_a_filter_sees_the_same_summaries_read_again(store: TraceStore) -> None:
    store.put_documents([_annotated(f"1-6553f100-{n:024x}", n) for n in range(1, 8)])
    for _ in range(2):  # the second time from what the first remembered
        page = store.summaries_page(1_699_999_000, 1_700_001_000, filter_expression="annotation.v > 4")
        assert sorted(s["Annotations"]["v"][0]["AnnotationValue"]["NumberValue"] for s in page.summaries) == [
            5.0,
            6.0,
            7.0,
        ]


def test_two_openers_of_a_new_store_both_get_it(tmp_path: Path) -> None:
    """Two processes starting at once (two `--local` commands) race to create the store and switch it to WAL;
    SQLite tells the loser "database is locked" without waiting. Threads race the same way, and faster, so
    many rounds show what one round would show a few times in a hundred."""
    failures: list[BaseException] = []
    for round_ in range(200):
        path = tmp_path / f"traces-{round_}.db"
        start = threading.Barrier(2)

        def open_store(path: Path = path, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                TraceStore(path).close()
            except StoreError as exc:  # every failure is reported, not just the first
                failures.append(exc)

        threads = [threading.Thread(target=open_store) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []


def test_a_trace_is_summarized_once_and_its_summary_kept_with_it(tmp_path: Path) -> None:
    """The service summarizes a trace as it ingests it, not at every read: the store keeps each finished
    summary (root causes and all) with the trace's revision, and a store opened later, with nothing in
    memory, sends it as kept; a new document makes the trace summarized again."""
    path = tmp_path / "traces.db"
    store = TraceStore(path)
    try:
        store.put_documents([json.dumps(doc) for doc in lambda_documents()])
        first = store.summaries(0, 2e9)
        assert any(summary["FaultRootCauses"] for summary in first)
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        kept = dict(db.execute("SELECT trace_id, body FROM summaries").fetchall())
    assert {trace_id: json.loads(body) for trace_id, body in kept.items()} == {s["Id"]: s for s in first}

    store = TraceStore(path)
    try:
        assert store.summaries(0, 2e9) == first
        trace_id = first[0]["Id"]
        store.put_documents([_annotated(trace_id, 7)])  # a new document: a new revision, a new summary
        (changed,) = [s for s in store.summaries(0, 2e9) if s["Id"] == trace_id]
        assert changed["Annotations"]["v"][0]["AnnotationValue"] == {"NumberValue": 7.0}
        assert changed["Revision"] == first[0]["Revision"] + 1
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        ((body,),) = db.execute("SELECT body FROM summaries WHERE trace_id = ?", (trace_id,)).fetchall()
    assert json.loads(body) == changed


def test_a_reset_forgets_the_kept_summaries(store: TraceStore) -> None:
    store.put_documents([_annotated("1-6553f100-000000000000000000000001", 1)])
    assert len(store.summaries(1_699_999_000, 1_700_001_000)) == 1
    store.reset()
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT count(*) FROM summaries").fetchone() == (0,)
