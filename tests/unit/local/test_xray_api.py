"""The local X-Ray API through a real botocore client and the real AWS CLI, on real documents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.paths import FIXTURES
from xrayctl.aws.reader import XRayReader
from xrayctl.local.lambda_.segments import InvocationRecord, lambda_segments
from xrayctl.local.xray.api import XRayApiServer
from xrayctl.local.xray.store import TraceStore

OK_TRACE = "1-6b04c914-ea7beef5edbcb95e43b8d27c"


def lambda_documents() -> list[dict[str, Any]]:
    """awslambdaric's UDP documents plus the AWS::Lambda::Function segment holding their Invocation parent."""
    documents: list[dict[str, Any]] = json.loads(
        (FIXTURES / "sdk-captured/udp_documents_awslambdaric.json").read_text()
    )
    for doc in [d for d in documents if d["name"] in ("put_object",)]:
        documents.append(
            {
                "id": "f" + doc["parent_id"][1:],
                "name": "s3-demo",
                "origin": "AWS::Lambda::Function",
                "trace_id": doc["trace_id"],
                "start_time": doc["start_time"] - 0.002,
                "end_time": doc["end_time"] + 0.05,
                "subsegments": [
                    {
                        "id": doc["parent_id"],
                        "name": "Invocation",
                        "start_time": doc["start_time"] - 0.001,
                        "end_time": doc["end_time"] + 0.04,
                    }
                ],
            }
        )
    return documents


def demo_documents() -> list[dict[str, Any]]:
    """awslambdaric's UDP documents plus the AWS::Lambda and AWS::Lambda::Function segments the local Lambda
    service records around them: the documents `xrayctl --local invoke` stores for the demo function."""
    documents: list[dict[str, Any]] = json.loads(
        (FIXTURES / "sdk-captured/udp_documents_awslambdaric.json").read_text()
    )
    for put_object in [d for d in documents if d["name"] == "put_object"]:
        trace = [d for d in documents if d["trace_id"] == put_object["trace_id"]]
        first, last = min(d["start_time"] for d in trace), max(d["end_time"] for d in trace)
        record = InvocationRecord(
            trace_id=put_object["trace_id"],
            caller_parent_id=None,
            function_name="s3-demo",
            region="us-east-1",
            request_id="74ba6aea-2855-490a-a20d-d6dd1c39916c",
            service_segment_id="a" + put_object["parent_id"][1:],
            function_segment_id="f" + put_object["parent_id"][1:],
            invocation_id=put_object["parent_id"],
            received=first - 0.01,
            responded=last + 0.01,
            init=None,
            invocation=(first - 0.002, last + 0.002),
            overhead_end=last + 0.005,
        )
        documents.extend(json.loads(text) for text in lambda_segments(record))
    return documents


@pytest.fixture
def server(tmp_path: Path) -> Iterator[XRayApiServer]:
    store = TraceStore(tmp_path / "traces.db")
    api = XRayApiServer(store, page_size=2).start()
    yield api
    api.stop()
    store.close()


def xray_client(url: str) -> Any:
    return boto3.client(
        "xray",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def client(server: XRayApiServer) -> Any:
    xray = xray_client(server.url)
    result = xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(doc) for doc in lambda_documents()])
    assert result["UnprocessedTraceSegments"] == []
    return xray


def test_batch_get_traces_returns_stitched_segments(client: Any) -> None:
    result = client.batch_get_traces(TraceIds=[OK_TRACE, "1-6b04c914-000000000000000000000000"])
    assert result["UnprocessedTraceIds"] == ["1-6b04c914-000000000000000000000000"]
    (trace,) = result["Traces"]
    assert trace["Id"] == OK_TRACE and trace["LimitExceeded"] is False and trace["Duration"] > 0
    documents = {segment["Id"]: json.loads(segment["Document"]) for segment in trace["Segments"]}
    function = next(d for d in documents.values() if d.get("origin") == "AWS::Lambda::Function")
    invocation = function["subsegments"][0]
    put_object = next(s for s in invocation["subsegments"] if s["name"] == "put_object")
    s3_call = put_object["subsegments"][0]
    assert s3_call["aws"]["operation"] == "PutObject"
    inferred = [d for d in documents.values() if d.get("inferred")]
    assert s3_call["id"] in {d["parent_id"] for d in inferred}
    assert {d["origin"] for d in inferred} == {"AWS::S3::Bucket"}


def test_batch_get_traces_pages_split_traces_that_a_reader_merges_back(tmp_path: Path) -> None:
    store = TraceStore(tmp_path / "traces.db")
    store.put_documents([json.dumps(doc) for doc in lambda_documents()])
    trace_ids = sorted({doc["trace_id"] for doc in lambda_documents()})
    whole, _ = store.batch_get(trace_ids)
    api = XRayApiServer(store, segments_per_page=2).start()
    try:
        client = xray_client(api.url)
        pages = list(client.get_paginator("batch_get_traces").paginate(TraceIds=trace_ids))
        merged = XRayReader(client).get_traces(trace_ids).traces
        with pytest.raises(client.exceptions.InvalidRequestException, match="NextToken"):
            client.batch_get_traces(TraceIds=trace_ids, NextToken="bogus")
    finally:
        api.stop()
        store.close()
    assert len(pages) > 1 and all(len(t["Segments"]) <= 2 for p in pages for t in p["Traces"])
    assert all(p["UnprocessedTraceIds"] == [] for p in pages)
    assert {t["Id"]: sorted(s["Id"] for s in t["Segments"]) for t in whole} == {
        trace_id: sorted(s["Id"] for s in trace["Segments"]) for trace_id, trace in merged.items()
    }


def test_summaries_page_through_every_trace_exactly_once(client: Any) -> None:
    pages = list(client.get_paginator("get_trace_summaries").paginate(StartTime=0, EndTime=2e9))
    assert len(pages) == 2 and "NextToken" in pages[0]  # page size 2, three traces
    ids = [summary["Id"] for page in pages for summary in page["TraceSummaries"]]
    assert sorted(ids) == sorted({doc["trace_id"] for doc in lambda_documents()})
    starts = [summary["StartTime"] for page in pages for summary in page["TraceSummaries"]]
    assert starts == sorted(starts, reverse=True)  # botocore parsed them into datetimes; newest first
    # ApproximateTime is how far back each page reached: its oldest trace, then the window's start.
    assert [page["ApproximateTime"] for page in pages] == [
        pages[0]["TraceSummaries"][-1]["StartTime"],
        datetime.fromtimestamp(0, timezone.utc),
    ]


def test_summary_fields_and_revision(client: Any) -> None:
    pages = client.get_paginator("get_trace_summaries").paginate(StartTime=0, EndTime=2e9)
    summaries = {s["Id"]: s for page in pages for s in page["TraceSummaries"]}
    ok = summaries[OK_TRACE]
    assert ok["Annotations"]["put_response"][0]["AnnotationValue"] == {"NumberValue": 200.0}
    assert ok["Annotations"]["get_response"][0]["ServiceIds"][0]["Name"] == "s3-demo"
    assert ok["EntryPoint"]["Type"] == "AWS::Lambda::Function"
    assert ok["ResponseTime"] > 0 and ok["Duration"] >= ok["ResponseTime"] and not ok["IsPartial"]
    failed = summaries["1-6b04c914-c05b7aa443a4ff42f3feb14e"]
    assert failed["HasFault"] and failed["HasError"] and not failed["HasThrottle"]
    (cause,) = failed["FaultRootCauses"]
    assert [(s["Name"], s["Inferred"]) for s in cause["Services"]] == [("s3-demo", False), ("S3", True)]
    assert cause["Services"][0]["EntityPath"][-1]["Exceptions"][0]["Name"] == "NoSuchBucket"
    late = {
        "id": "00000000000000ee",
        "name": "late",
        "trace_id": OK_TRACE,
        "start_time": 1795475733.0,
        "in_progress": True,
    }
    client.put_trace_segments(TraceSegmentDocuments=[json.dumps(late)])
    again = client.get_trace_summaries(StartTime=0, EndTime=2e9, FilterExpression="partial")["TraceSummaries"]
    assert [s["Id"] for s in again] == [OK_TRACE] and again[0]["Revision"] > ok["Revision"]


def test_filter_expression_selects_and_bad_ones_are_invalid_requests(client: Any) -> None:
    faulty = client.get_trace_summaries(StartTime=0, EndTime=2e9, FilterExpression="fault")["TraceSummaries"]
    assert [s["Id"] for s in faulty] == ["1-6b04c914-c05b7aa443a4ff42f3feb14e"]
    with pytest.raises(client.exceptions.InvalidRequestException, match="position 17, found 'x'"):
        client.get_trace_summaries(StartTime=0, EndTime=2e9, FilterExpression="annotation.a = 1 x")


def test_more_than_five_ids_is_an_invalid_request(client: Any) -> None:
    with pytest.raises(client.exceptions.InvalidRequestException, match="at most 5"):
        client.batch_get_traces(TraceIds=[f"1-6b04c914-{n:024x}" for n in range(6)])


def test_bad_documents_are_unprocessed_and_good_ones_kept(client: Any) -> None:
    good = {
        "id": "00000000000000ab",
        "name": "good",
        "trace_id": "1-6b04c914-0000000000000000000000ab",
        "start_time": 1.0,
    }
    result = client.put_trace_segments(
        TraceSegmentDocuments=["{oops", json.dumps({**good, "id": "zz"}), json.dumps(good)]
    )
    assert [(u["Id"], u["ErrorCode"]) for u in result["UnprocessedTraceSegments"]] == [
        ("", "InvalidSegment"),
        ("zz", "InvalidSegment"),
    ]
    assert len(client.batch_get_traces(TraceIds=[good["trace_id"]])["Traces"]) == 1


def test_graphs_destination_health_and_unknown_paths(server: XRayApiServer, client: Any) -> None:
    destination = client.get_trace_segment_destination()
    assert (destination["Destination"], destination["Status"]) == ("XRay", "ACTIVE")
    services = client.get_service_graph(StartTime=0, EndTime=2e9)["Services"]
    by_type = {(s["Name"], s.get("Type")): s for s in services}
    roots = [s for s in services if s.get("Root")]
    assert [s["Name"] for s in roots] == ["s3-demo"] and by_type[("s3-demo", "client")]["State"] == "unknown"
    graph = client.get_trace_graph(TraceIds=[OK_TRACE])["Services"]
    assert {s["Name"] for s in graph} == {"s3-demo", "S3"} and len(graph) == 3  # the client, named after it
    with urllib.request.urlopen(server.url + "/health") as response:
        assert json.load(response)["traces"] == 3
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(urllib.request.Request(server.url + "/Nope", data=b"{}", method="POST"))
    assert (
        caught.value.code == 404 and caught.value.headers["x-amzn-ErrorType"] == "UnknownOperationException"
    )


def test_the_aws_cli_reads_it(server: XRayApiServer, client: Any) -> None:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_PAGER": ""}
    options = ["--endpoint-url", server.url, "--region", "us-east-1", "--output", "json"]

    def aws(*args: str) -> Any:
        run = subprocess.run(
            [sys.executable, "-m", "awscli", "xray", *args, *options],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout)

    assert [t["Id"] for t in aws("batch-get-traces", "--trace-ids", OK_TRACE)["Traces"]] == [OK_TRACE]
    summaries = aws("get-trace-summaries", "--start-time", "0", "--end-time", "2000000000")
    assert len(summaries["TraceSummaries"]) == 3  # the CLI follows NextToken itself
    causes = [c for s in summaries["TraceSummaries"] for c in s["FaultRootCauses"]]
    assert [s["EntityPath"][-1]["Name"] for c in causes for s in c["Services"]] == ["s3", "S3"]
    services = aws("get-service-graph", "--start-time", "0", "--end-time", "2000000000")["Services"]
    graph = by_type(services)
    (edge,) = graph["AWS::Lambda::Function"]["Edges"]
    assert callees(graph["AWS::Lambda::Function"], services) == ["S3 AWS::S3::Bucket"]
    assert (
        edge["SummaryStatistics"]["TotalCount"] == graph["AWS::S3::Bucket"]["SummaryStatistics"]["TotalCount"]
    )


def by_type(services: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Services by Type, after checking every edge names a service of the graph and every id is unique."""
    references = [service["ReferenceId"] for service in services]
    assert len(set(references)) == len(references)
    assert {edge["ReferenceId"] for s in services for edge in s["Edges"]} <= set(references)
    return {service["Type"]: service for service in services}


def callees(service: dict[str, Any], services: list[dict[str, Any]]) -> list[str]:
    """`Name Type` of each service `service` has an edge to."""
    names = {s["ReferenceId"]: f"{s['Name']} {s.get('Type', '')}".strip() for s in services}
    return [names[edge["ReferenceId"]] for edge in service["Edges"]]


def test_service_graph_has_lambda_to_function_to_bucket_edges_with_statistics(server: XRayApiServer) -> None:
    documents = demo_documents()
    client = xray_client(server.url)
    result = client.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in documents])
    assert result["UnprocessedTraceSegments"] == []
    services = client.get_service_graph(StartTime=0, EndTime=2e9)["Services"]
    graph = by_type(services)
    assert graph.keys() == {"AWS::Lambda", "AWS::Lambda::Function", "AWS::S3::Bucket", "client"}
    lambda_, function, bucket = graph["AWS::Lambda"], graph["AWS::Lambda::Function"], graph["AWS::S3::Bucket"]
    # As in the real service's answer, only a root says Root, and a service only inferred is `unknown`.
    assert [s.get("Root") for s in (lambda_, function, bucket)] == [True, None, None]
    assert [s["State"] for s in (lambda_, function, bucket)] == ["active", "active", "unknown"]
    # The client in front of the root: named after it, no statistics of its own, one edge with the root's.
    client_node = graph["client"]
    assert client_node["Name"] == lambda_["Name"] and "SummaryStatistics" not in client_node
    assert callees(client_node, services) == ["s3-demo AWS::Lambda"]
    assert client_node["Edges"][0]["SummaryStatistics"] == lambda_["SummaryStatistics"]
    assert callees(lambda_, services) == ["s3-demo AWS::Lambda::Function"]
    assert callees(function, services) == ["S3 AWS::S3::Bucket"] and bucket["Edges"] == []

    # Every S3 call the SDK recorded is one request on the function -> bucket edge, by its own status.
    calls = [d for d in documents if d["name"] == "s3"]
    (to_bucket,) = function["Edges"]
    stats = to_bucket["SummaryStatistics"]
    faults = sum(1 for call in calls if call.get("fault"))
    assert faults and stats["FaultStatistics"] == {"OtherCount": faults, "TotalCount": faults}
    assert (stats["TotalCount"], stats["OkCount"]) == (len(calls), len(calls) - faults)
    assert stats["ErrorStatistics"] == {"ThrottleCount": 0, "OtherCount": 0, "TotalCount": 0}
    assert stats["TotalResponseTime"] == pytest.approx(sum(c["end_time"] - c["start_time"] for c in calls))
    assert to_bucket["StartTime"].timestamp() == pytest.approx(min(c["start_time"] for c in calls))
    assert sum(entry["Count"] for entry in to_bucket["ResponseTimeHistogram"]) == len(calls)
    assert to_bucket["Aliases"] == [] and bucket["SummaryStatistics"] == stats
    traces = len({d["trace_id"] for d in documents})
    (to_function,) = lambda_["Edges"]
    assert to_function["SummaryStatistics"]["OkCount"] == traces == lambda_["SummaryStatistics"]["TotalCount"]

    # A trace graph counts the requests of its traces only; ids with no trace are skipped.
    one = client.get_trace_graph(TraceIds=[OK_TRACE, "1-6b04c914-000000000000000000000000"])["Services"]
    (edge,) = by_type(one)["AWS::Lambda::Function"]["Edges"]
    in_trace = [c for c in calls if c["trace_id"] == OK_TRACE]
    assert (edge["SummaryStatistics"]["TotalCount"], edge["SummaryStatistics"]["OkCount"]) == (
        len(in_trace),
    ) * 2


def test_a_segment_called_from_a_subsegment_is_an_edge_and_open_requests_are_not_counted(
    server: XRayApiServer,
) -> None:
    trace_id = "1-6b04c914-0000000000000000000000ed"

    def call(number: int) -> dict[str, Any]:
        return {"id": f"{number:016x}", "name": "GET", "namespace": "remote", "start_time": 10.0 + number}

    front = {
        "id": "00000000000000f0",
        "name": "front",
        "origin": "AWS::EC2::Instance",
        "trace_id": trace_id,
        "start_time": 10.0,
        "end_time": 20.0,
        "subsegments": [{**call(n), "end_time": 11.0 + n} for n in (1, 2)] + [call(3)],
    }
    backends = [  # instrumented, so X-Ray infers nothing for the calls: their own segments are the callees
        {"id": "00000000000000b1", "parent_id": f"{1:016x}", "start_time": 11.0, "end_time": 11.5},
        {"id": "00000000000000b2", "parent_id": f"{2:016x}", "start_time": 12.0, "end_time": 12.25},
        {"id": "00000000000000b3", "parent_id": f"{3:016x}", "start_time": 13.0, "in_progress": True},
    ]
    backends[1]["throttle"] = backends[1]["error"] = True
    documents = [front] + [{**b, "name": "api", "trace_id": trace_id} for b in backends]
    client = xray_client(server.url)
    client.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in documents])
    services = client.get_trace_graph(TraceIds=[trace_id])["Services"]
    client_node, front_service, api = sorted(services, key=lambda s: (s["Name"] != "front", "Root" in s))
    assert client_node["Type"] == "client" and callees(client_node, services) == ["front AWS::EC2::Instance"]
    assert (front_service["Name"], front_service["Root"], callees(front_service, services)) == (
        "front",
        True,
        ["api"],
    )
    assert (api.get("Root"), api["Edges"]) == (None, [])
    (edge,) = front_service["Edges"]
    assert (
        edge["SummaryStatistics"]
        == api["SummaryStatistics"]
        == {
            "OkCount": 1,
            "ErrorStatistics": {"ThrottleCount": 1, "OtherCount": 0, "TotalCount": 1},
            "FaultStatistics": {"OtherCount": 0, "TotalCount": 0},
            "TotalCount": 2,
            "TotalResponseTime": 0.75,
        }
    )
    assert [e["Count"] for e in edge["ResponseTimeHistogram"]] == [1, 1]


def test_graph_pages_hold_every_service_once_under_ids_that_do_not_change(tmp_path: Path) -> None:
    store = TraceStore(tmp_path / "traces.db")
    api = XRayApiServer(store, graph_page_size=1).start()
    try:
        client = xray_client(api.url)
        # The newest trace, read first in a window, is of a service no other trace has.
        newest = {
            "id": "00000000000000aa",
            "name": "newest",
            "origin": "AWS::EC2::Instance",
            "end_time": 1.9e9,
        }
        newest.update(trace_id="1-6b04c914-0000000000000000000000aa", start_time=1.9e9 - 1)
        documents = [*demo_documents(), newest]
        client.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in documents])
        paginator = client.get_paginator("get_service_graph")  # botocore's own paging, on our NextTokens
        pages = [page["Services"] for page in paginator.paginate(StartTime=0, EndTime=2e9)]
        services = [service for page in pages for service in page]
        assert [len(page) for page in pages] == [1] * 6  # four services, and a client for each root
        ids = {(s["Name"], s["Type"]): s["ReferenceId"] for s in services}
        assert len(ids) == len(set(ids.values())) == 6
        del ids[("newest", "AWS::EC2::Instance")], ids[("newest", "client")]
        # Another question about other traces names the same services the same way.
        traced = client.get_paginator("get_trace_graph").paginate(TraceIds=[OK_TRACE])
        again = {(s["Name"], s["Type"]): s["ReferenceId"] for page in traced for s in page["Services"]}
        assert again == ids
    finally:
        api.stop()
        store.close()
