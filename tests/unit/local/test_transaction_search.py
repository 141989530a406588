"""The local X-Ray in Transaction Search mode, through a real botocore client and the real AWS CLI, on the
documents `xrayctl --local invoke` stores for the demo function: the destination (PENDING, then ACTIVE; kept
with the store, old stores migrated), the indexing rule honoured when summaries are made, BatchGetTraces
finding nothing, trace retrievals with their states, pages, formats, graph and limits.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli
from tests.unit.local.test_xray_api import OK_TRACE, demo_documents, xray_client
from xrayctl.local.xray.api import XRayApiServer
from xrayctl.local.xray.destination import indexed_fraction
from xrayctl.local.xray.store import SCHEMA_VERSION, TraceStore
from xrayctl.local.xray.transaction_search import MAX_RETRIEVALS, TransactionSearch

FAILED_TRACE = "1-6b04c914-c05b7aa443a4ff42f3feb14e"
WHOLE = {"StartTime": 0, "EndTime": 2e9}


def trace_ids() -> list[str]:
    return sorted({doc["trace_id"] for doc in demo_documents()})


def put(client: Any, documents: list[dict[str, Any]]) -> None:
    answer = client.put_trace_segments(TraceSegmentDocuments=[json.dumps(doc) for doc in documents])
    assert answer["UnprocessedTraceSegments"] == []


def synthetic(count: int, offset: int = 0) -> list[dict[str, Any]]:
    """One-segment traces, each its own trace id."""
    return [
        {
            "id": f"{offset + n:016x}",
            "name": "svc",
            "trace_id": f"1-6b04c914-{offset + n:024x}",
            "start_time": 1795475700.0 + n,
            "end_time": 1795475700.5 + n,
        }
        for n in range(count)
    ]


def serve(store: TraceStore, **options: Any) -> XRayApiServer:
    return XRayApiServer(store, **{"pending": 0.0, "retrieval_time": 0.0, **options}).start()


@pytest.fixture
def api(store: TraceStore) -> Iterator[XRayApiServer]:
    server = serve(store)
    yield server
    server.stop()


@pytest.fixture
def searching(api: XRayApiServer) -> Any:
    """A client of an API switched to CloudWatchLogs (ACTIVE at once) before the demo traces arrived."""
    client = xray_client(api.url)
    client.update_trace_segment_destination(Destination="CloudWatchLogs")
    put(client, demo_documents())
    return client


def retrieve(
    client: Any, ids: list[str], trace_format: str = "XRAY", **window: float
) -> list[dict[str, Any]]:
    """Every page of a retrieval (COMPLETE at once here), followed by hand as botocore has no paginator."""
    token = client.start_trace_retrieval(TraceIds=ids, **{**WHOLE, **window})["RetrievalToken"]
    pages = [client.list_retrieved_traces(RetrievalToken=token, TraceFormat=trace_format)]
    while pages[-1].get("NextToken"):
        pages.append(
            client.list_retrieved_traces(
                RetrievalToken=token, TraceFormat=trace_format, NextToken=pages[-1]["NextToken"]
            )
        )
    assert {page["RetrievalStatus"] for page in pages} == {"COMPLETE"}
    return pages


def merged(pages: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    spans: dict[str, list[dict[str, str]]] = {}
    for page in pages:
        for trace in page["Traces"]:
            spans.setdefault(trace["Id"], []).extend(trace["Spans"])
    return spans


# ---------------------------------------------------------------------------------- the destination


def test_the_destination_is_pending_then_active_and_only_then_receives(store: TraceStore) -> None:
    api = serve(store, pending=0.5)
    try:
        client = xray_client(api.url)
        assert client.get_trace_segment_destination()["Destination"] == "XRay"
        changed = client.update_trace_segment_destination(Destination="CloudWatchLogs")
        assert (changed["Destination"], changed["Status"]) == ("CloudWatchLogs", "PENDING")
        put(client, synthetic(1))  # while PENDING, X-Ray still receives
        assert len(client.batch_get_traces(TraceIds=[synthetic(1)[0]["trace_id"]])["Traces"]) == 1
        time.sleep(0.6)
        now = client.get_trace_segment_destination()
        assert (now["Destination"], now["Status"]) == ("CloudWatchLogs", "ACTIVE")
        with pytest.raises(client.exceptions.InvalidRequestException, match="Destination must be one of"):
            client.update_trace_segment_destination(Destination="Elsewhere")
    finally:
        api.stop()


def test_with_transaction_search_on_batch_get_traces_finds_nothing(api: XRayApiServer) -> None:
    client = xray_client(api.url)
    (before,) = synthetic(1, offset=700)
    put(client, [before])  # X-Ray's, from before the switch: found until then
    assert len(client.batch_get_traces(TraceIds=[before["trace_id"]])["Traces"]) == 1
    client.update_trace_segment_destination(Destination="CloudWatchLogs")
    put(client, demo_documents())
    answer = client.batch_get_traces(TraceIds=[before["trace_id"], *trace_ids()[:4]])
    assert (answer["Traces"], answer["UnprocessedTraceIds"]) == ([], [])  # "cannot find traces", as in AWS


def test_the_mode_is_kept_with_the_store(tmp_path: Path) -> None:
    store = TraceStore(tmp_path / "traces.db")
    store.update_search_settings(
        lambda s: s.switched("CloudWatchLogs", time.time(), 0).with_percentage(0, 1.0)
    )
    store.close()
    again = TraceStore(tmp_path / "traces.db")
    try:
        settings = again.search_settings()
        assert (settings.destination, settings.percentage) == ("CloudWatchLogs", 0.0)
        assert settings.transaction_search(time.time())
    finally:
        again.close()


def test_a_store_from_before_transaction_search_is_migrated_and_keeps_its_traces(tmp_path: Path) -> None:
    path = tmp_path / "traces.db"
    store = TraceStore(path)
    store.put_documents([json.dumps(doc) for doc in demo_documents()])
    store.close()
    # Back to the previous schema (version 2): no destination or indexed column, no settings table. (Built
    # again rather than with DROP COLUMN, which SQLite before 3.35 does not have.)
    db = sqlite3.connect(path)
    db.executescript(
        """
        DROP TABLE settings;
        CREATE TABLE old (trace_id TEXT PRIMARY KEY, revision INTEGER NOT NULL, epoch INTEGER NOT NULL,
                          start_time REAL NOT NULL, end_time REAL, aggregate TEXT NOT NULL);
        INSERT INTO old SELECT trace_id, revision, epoch, start_time, end_time, aggregate FROM traces;
        DROP TABLE traces;
        ALTER TABLE old RENAME TO traces;
        PRAGMA user_version=2;
        """
    )
    db.close()
    migrated = TraceStore(path)
    try:
        assert migrated.search_settings().destination == "XRay"
        traces, missing = migrated.batch_get(trace_ids(), destination="XRay")
        assert len(traces) == 3 and missing == []
        assert len(migrated.summaries(0, 2e9)) == 3  # every trace from before is indexed
        version = migrated._db.execute("PRAGMA user_version").fetchone()[0]
        assert version == SCHEMA_VERSION
    finally:
        migrated.close()


# -------------------------------------------------------------------------------------- the indexing rule


def test_the_default_rule_is_one_percent_and_named_as_aws_names_it(api: XRayApiServer) -> None:
    (rule,) = xray_client(api.url).get_indexing_rules()["IndexingRules"]
    assert rule["Name"] == "Default"
    assert rule["Rule"]["Probabilistic"]["DesiredSamplingPercentage"] == 1.0
    assert rule["ModifiedAt"].year >= 2026  # botocore parsed it into a datetime


def test_with_zero_percent_indexing_no_summary_is_made(searching: Any) -> None:
    searching.update_indexing_rule(Name="Default", Rule={"Probabilistic": {"DesiredSamplingPercentage": 0}})
    put(searching, synthetic(20))
    assert searching.get_trace_summaries(**WHOLE)["TraceSummaries"] == []


def test_the_percentage_indexes_that_share_of_new_traces_and_none_before_it_changes(
    api: XRayApiServer,
) -> None:
    client = xray_client(api.url)
    put(client, synthetic(5, offset=10_000))  # stored in X-Ray: every one has a summary
    client.update_trace_segment_destination(Destination="CloudWatchLogs")
    updated = client.update_indexing_rule(
        Name="Default", Rule={"Probabilistic": {"DesiredSamplingPercentage": 30}}
    )["IndexingRule"]
    assert updated["Rule"]["Probabilistic"]["DesiredSamplingPercentage"] == 30
    documents = synthetic(400)
    put(client, documents)
    pages = client.get_paginator("get_trace_summaries").paginate(**WHOLE)
    summarized = {s["Id"] for page in pages for s in page["TraceSummaries"]}
    expected = {d["trace_id"] for d in documents if indexed_fraction(d["trace_id"]) < 0.30}
    assert summarized == expected | {d["trace_id"] for d in synthetic(5, offset=10_000)}
    assert 0.2 < len(expected) / len(documents) < 0.4


@pytest.mark.parametrize(
    ("name", "rule", "error"),
    [
        ("Other", {"Probabilistic": {"DesiredSamplingPercentage": 5}}, "ResourceNotFoundException"),
        ("Default", {"Probabilistic": {"DesiredSamplingPercentage": 101}}, "InvalidRequestException"),
        ("Default", {"Probabilistic": {"DesiredSamplingPercentage": -1}}, "InvalidRequestException"),
    ],
)
def test_an_indexing_rule_update_aws_would_refuse_is_refused(
    api: XRayApiServer, name: str, rule: dict[str, Any], error: str
) -> None:
    client = xray_client(api.url)
    with pytest.raises(getattr(client.exceptions, error)):
        client.update_indexing_rule(Name=name, Rule=rule)
    assert (
        client.get_indexing_rules()["IndexingRules"][0]["Rule"]["Probabilistic"]["DesiredSamplingPercentage"]
        == 1.0
    )


# ------------------------------------------------------------------------------------------- retrievals


def test_a_retrieval_returns_in_xray_format_what_batch_get_traces_would(
    tmp_path: Path, api: XRayApiServer
) -> None:
    documents = demo_documents()  # the Lambda segments have random ids: one set for both stores
    plain = TraceStore(tmp_path / "plain.db")  # the same documents in a store with Transaction Search off
    plain.put_documents([json.dumps(doc) for doc in documents])
    expected, _ = plain.batch_get(trace_ids())
    plain.close()
    client = xray_client(api.url)
    client.update_trace_segment_destination(Destination="CloudWatchLogs")
    put(client, documents)
    spans = merged(retrieve(client, trace_ids()))
    assert {t["Id"]: t["Segments"] for t in expected} == spans


def test_a_page_holds_at_most_five_traces(searching: Any) -> None:
    put(searching, synthetic(8))  # one span each: the span limit (100) is far
    pages = retrieve(searching, [d["trace_id"] for d in synthetic(8)])
    assert [len(page["Traces"]) for page in pages] == [5, 3]


def test_pages_hold_at_most_the_span_limit_and_every_span_once(store: TraceStore) -> None:
    api = serve(store, segments_per_page=3)
    try:
        client = xray_client(api.url)
        client.update_trace_segment_destination(Destination="CloudWatchLogs")
        put(client, demo_documents() + synthetic(8))
        ids = trace_ids() + [d["trace_id"] for d in synthetic(8)]
        pages = retrieve(client, ids)
        with pytest.raises(client.exceptions.InvalidRequestException, match="NextToken"):
            token = client.start_trace_retrieval(TraceIds=ids, **WHOLE)["RetrievalToken"]
            client.list_retrieved_traces(
                RetrievalToken=token, TraceFormat="OTEL", NextToken=pages[0]["NextToken"]
            )
    finally:
        api.stop()
    assert len(pages) > 3
    assert all(sum(len(t["Spans"]) for t in p["Traces"]) <= 3 for p in pages)
    spans = merged(pages)
    assert sorted(spans) == sorted(ids)
    assert all(len({s["Id"] for s in found}) == len(found) for found in spans.values())  # each span once


def test_a_retrieval_sees_only_the_spans_in_its_window_and_only_cloudwatch_traces(api: XRayApiServer) -> None:
    client = xray_client(api.url)
    before = synthetic(1, offset=500)
    put(client, before)  # X-Ray's: no retrieval finds it
    client.update_trace_segment_destination(Destination="CloudWatchLogs")
    # A trace whose second segment starts 100 s after the first (a queue's consumer, say).
    first, second = synthetic(2, offset=600)
    second = {**second, "trace_id": first["trace_id"], "start_time": first["start_time"] + 100}
    second["end_time"] = second["start_time"] + 1
    put(client, [first, second])
    trace_id, start = first["trace_id"], first["start_time"]
    assert merged(retrieve(client, [before[0]["trace_id"]])) == {}
    assert merged(retrieve(client, [trace_id], EndTime=start - 1)) == {}
    part = merged(retrieve(client, [trace_id], StartTime=start - 1, EndTime=start + 50))[trace_id]
    assert [span["Id"] for span in part] == [first["id"]]
    assert len(merged(retrieve(client, [trace_id]))[trace_id]) == 2


def test_otel_format_gives_a_span_per_segment_and_subsegment_in_otels_shape(searching: Any) -> None:
    xray_docs = merged(retrieve(searching, [FAILED_TRACE]))[FAILED_TRACE]
    nodes: dict[str, dict[str, Any]] = {}  # every node of the XRAY answer but the inferred segments
    pending = [json.loads(s["Document"]) for s in xray_docs]
    pending = [segment for segment in pending if not segment.get("inferred")]
    while pending:
        node = pending.pop()
        nodes[node["id"]] = node
        pending.extend(node.get("subsegments", []))
    spans = [
        json.loads(s["Document"]) for s in merged(retrieve(searching, [FAILED_TRACE], "OTEL"))[FAILED_TRACE]
    ]
    by_id = {span["spanId"]: span for span in spans}
    assert by_id.keys() == nodes.keys()
    assert {span["traceId"] for span in spans} == {FAILED_TRACE[2:10] + FAILED_TRACE[11:]}
    (lambda_segment,) = [s for s in spans if s["attributes"].get("aws.origin") == "AWS::Lambda"]
    assert "parentSpanId" not in lambda_segment and lambda_segment["kind"] == "SERVER"
    assert all(s.get("parentSpanId") in by_id for s in spans if s is not lambda_segment)
    s3_call = next(s for s in spans if s["name"] == "s3" and s["status"]["code"] == "ERROR")
    assert s3_call["kind"] == "CLIENT" and s3_call["attributes"]["rpc.system"] == "aws-api"
    assert s3_call["resource"]["attributes"]["cloud.platform"] == "aws_lambda"
    node = nodes[s3_call["spanId"]]
    assert s3_call["startTimeUnixNano"] == round(node["start_time"] * 1e6) * 1000
    assert s3_call["durationNano"] == s3_call["endTimeUnixNano"] - s3_call["startTimeUnixNano"]
    (event,) = s3_call["events"]
    assert event["name"] == "exception" and event["attributes"]["exception.type"] == "NoSuchBucket"
    ok_spans = merged(retrieve(searching, [OK_TRACE], "OTEL"))[OK_TRACE]
    annotated = next(
        span for span in (json.loads(s["Document"]) for s in ok_spans) if span["name"] == "put_object"
    )
    assert annotated["attributes"]["aws.xray.annotations"] == ["put_response"]
    assert annotated["attributes"]["put_response"] == 200


def test_the_retrieved_traces_graph_is_their_service_graph(searching: Any) -> None:
    token = searching.start_trace_retrieval(TraceIds=trace_ids(), **WHOLE)["RetrievalToken"]
    graph = searching.get_retrieved_traces_graph(RetrievalToken=token)
    assert graph["RetrievalStatus"] == "COMPLETE"
    services = {(s["Service"]["Name"], s["Service"]["Type"]) for s in graph["Services"]}
    assert services == {
        ("s3-demo", "client"),  # in front of the root, as in GetServiceGraph's and GetTraceGraph's answers
        ("s3-demo", "AWS::Lambda"),
        ("s3-demo", "AWS::Lambda::Function"),
        ("S3", "AWS::S3::Bucket"),
    }
    assert all(s["Links"] == [] for s in graph["Services"])


def test_retrievals_go_scheduled_running_complete_and_can_be_cancelled(store: TraceStore) -> None:
    clock = [0.0]
    search = TransactionSearch(store, retrieval_time=4.0, monotonic=lambda: clock[0])
    routes = search.routes()

    def call(path: str, **body: Any) -> dict[str, Any]:
        return routes[("POST", path)](body)

    def state(token: str) -> str:
        return str(call("/ListRetrievedTraces", RetrievalToken=token)["RetrievalStatus"])

    first = call("/StartTraceRetrieval", TraceIds=[OK_TRACE], **WHOLE)["RetrievalToken"]
    second = call("/StartTraceRetrieval", TraceIds=[OK_TRACE], **WHOLE)["RetrievalToken"]
    assert state(first) == "SCHEDULED"
    clock[0] = 1.0
    assert state(first) == "RUNNING"
    assert call("/GetRetrievedTracesGraph", RetrievalToken=first) == {
        "RetrievalStatus": "RUNNING",
        "Services": [],
    }
    call("/CancelTraceRetrieval", RetrievalToken=first)
    clock[0] = 4.0
    assert (state(first), state(second)) == ("CANCELLED", "COMPLETE")
    call("/CancelTraceRetrieval", RetrievalToken=second)  # finished: it stays as it was
    assert state(second) == "COMPLETE"


def test_a_retrieval_past_sixty_minutes_times_out_and_one_the_store_fails_is_failed(
    store: TraceStore,
) -> None:
    clock = [0.0]
    slow = TransactionSearch(store, retrieval_time=7200.0, monotonic=lambda: clock[0]).routes()
    token = slow[("POST", "/StartTraceRetrieval")]({"TraceIds": [OK_TRACE], **WHOLE})["RetrievalToken"]
    clock[0] = 3600.0
    assert slow[("POST", "/ListRetrievedTraces")]({"RetrievalToken": token})["RetrievalStatus"] == "TIMEOUT"
    broken = TransactionSearch(store, retrieval_time=0.0).routes()
    token = broken[("POST", "/StartTraceRetrieval")]({"TraceIds": [OK_TRACE], **WHOLE})["RetrievalToken"]
    store.close()  # every read of the store now fails
    assert broken[("POST", "/ListRetrievedTraces")]({"RetrievalToken": token})["RetrievalStatus"] == "FAILED"


def test_retrieval_limits_are_the_services(api: XRayApiServer, searching: Any) -> None:
    def raw(path: str, body: dict[str, Any]) -> tuple[int, str]:
        request = urllib.request.Request(api.url + path, data=json.dumps(body).encode(), method="POST")
        try:
            with urllib.request.urlopen(request) as answer:
                return answer.status, ""
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers["x-amzn-ErrorType"]

    # botocore refuses more than 100 ids before sending; the service refuses them too.
    ids = [f"1-6b04c914-{n:024x}" for n in range(101)]
    assert raw("/StartTraceRetrieval", {"TraceIds": ids, **WHOLE}) == (400, "InvalidRequestException")
    assert raw("/StartTraceRetrieval", {"TraceIds": ids[:100], **WHOLE})[0] == 200
    with pytest.raises(searching.exceptions.InvalidRequestException, match="EndTime"):
        searching.start_trace_retrieval(TraceIds=[OK_TRACE], StartTime=10, EndTime=5)
    for operation in ("list_retrieved_traces", "get_retrieved_traces_graph", "cancel_trace_retrieval"):
        with pytest.raises(searching.exceptions.ResourceNotFoundException):
            getattr(searching, operation)(RetrievalToken="never-issued")


def test_only_the_newest_retrievals_are_remembered(store: TraceStore) -> None:
    routes = TransactionSearch(store).routes()
    tokens = [
        routes[("POST", "/StartTraceRetrieval")]({"TraceIds": [OK_TRACE], **WHOLE})["RetrievalToken"]
        for _ in range(MAX_RETRIEVALS + 1)
    ]
    routes[("POST", "/ListRetrievedTraces")]({"RetrievalToken": tokens[-1]})
    with pytest.raises(Exception, match="No trace retrieval has this token") as caught:
        routes[("POST", "/ListRetrievedTraces")]({"RetrievalToken": tokens[0]})
    assert getattr(caught.value, "code", None) == "ResourceNotFoundException"


# --------------------------------------------------------------------------------------------- the AWS CLI


def test_the_aws_cli_drives_transaction_search(store: TraceStore) -> None:
    api = serve(store, pending=0.3)
    try:
        drive_with_the_aws_cli(api)
    finally:
        api.stop()


def drive_with_the_aws_cli(api: XRayApiServer) -> None:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_PAGER": ""}
    options = ["--endpoint-url", api.url, "--region", "us-east-1", "--output", "json"]

    def aws(*args: str) -> Any:
        run = subprocess.run(
            [sys.executable, "-m", "awscli", "xray", *args, *options],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout) if run.stdout.strip() else {}

    assert aws("update-trace-segment-destination", "--destination", "CloudWatchLogs")["Status"] == "PENDING"
    time.sleep(0.3)
    assert aws("get-trace-segment-destination") == {"Destination": "CloudWatchLogs", "Status": "ACTIVE"}
    rule = aws(
        "update-indexing-rule", "--name", "Default", "--rule", "Probabilistic={DesiredSamplingPercentage=0}"
    )
    assert rule["IndexingRule"]["Rule"]["Probabilistic"]["DesiredSamplingPercentage"] == 0
    assert aws("get-indexing-rules")["IndexingRules"][0]["Name"] == "Default"
    put(xray_client(api.url), demo_documents())
    assert aws("batch-get-traces", "--trace-ids", OK_TRACE)["Traces"] == []
    assert aws("get-trace-summaries", "--start-time", "0", "--end-time", "2000000000")["TraceSummaries"] == []
    token = aws(
        "start-trace-retrieval", "--trace-ids", OK_TRACE, "--start-time", "0", "--end-time", "2000000000"
    )["RetrievalToken"]
    for trace_format in ("XRAY", "OTEL"):
        listed = aws("list-retrieved-traces", "--retrieval-token", token, "--trace-format", trace_format)
        assert listed["RetrievalStatus"] == "COMPLETE" and [t["Id"] for t in listed["Traces"]] == [OK_TRACE]
    graph = aws("get-retrieved-traces-graph", "--retrieval-token", token)
    assert len(graph["Services"]) == 4  # the function's three, and the client in front of its root
    aws("cancel-trace-retrieval", "--retrieval-token", token)


def test_the_otel_format_reads_back_through_input_to_the_same_tree_but_the_inferred_nodes(
    tmp_path: Path, searching: Any
) -> None:
    token = searching.start_trace_retrieval(TraceIds=[OK_TRACE], **WHOLE)["RetrievalToken"]
    trees = {}
    for trace_format in ("XRAY", "OTEL"):
        answer = searching.list_retrieved_traces(RetrievalToken=token, TraceFormat=trace_format)
        answer.pop("ResponseMetadata")
        saved = tmp_path / f"{trace_format}.json"
        saved.write_text(json.dumps(answer))
        result = run_cli(["-o", "json", "show-trace", "--input", str(saved)])
        assert result.exit_code == 0, result.stderr
        (trace,) = result.json()["traces"]
        pending, shape = [(root, 0) for root in trace["roots"]], []
        while pending:
            node, depth = pending.pop()
            if node["kind"] != "inferred":  # X-Ray's drawing of a call, not a span
                shape.append((depth, node["id"], node["name"], node["start_time"], node["end_time"]))
            pending.extend((child, depth + 1) for child in node["children"])
        trees[trace_format] = sorted(shape)
    assert [node[:3] for node in trees["OTEL"]] == [node[:3] for node in trees["XRAY"]]
    assert len(trees["XRAY"]) == 8
    # Times to the microsecond: a span's nanoseconds hold what a document's float can say.
    for otel, xray in zip(trees["OTEL"], trees["XRAY"], strict=True):
        assert otel[3:] == pytest.approx(xray[3:], abs=2e-6)
