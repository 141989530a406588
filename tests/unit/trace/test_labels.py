"""Status, HTTP status, readable labels and exceptions, read from real segment documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import FIXTURES
from xrayctl.trace import fields, labels
from xrayctl.trace.build import build_trace, traces_from_batch
from xrayctl.trace.model import Node, Trace

SEGMENTS = FIXTURES / "xray-real" / "segments"
DERIVED = FIXTURES / "xray-real" / "derived"


def from_file(path: Path) -> Trace:
    data = json.loads(path.read_text())
    if "Traces" in data:
        [trace] = traces_from_batch(data)
        return trace
    return build_trace("", [data])


def labelled(trace: Trace) -> list[tuple[str, str]]:
    return [(node.name, node.label) for node in trace.walk()]


def test_aws_calls_are_labelled_service_operation_resource() -> None:
    ddb = labelled(from_file(SEGMENTS / "ddbSample.txt"))
    assert ("dynamodb", "DynamoDB DescribeTable xray_sample_table") in ddb
    assert ("dynamodb", "DynamoDB PutItem does_not_exist") in ddb
    scorekeep = labelled(from_file(DERIVED / "doc-source__xray-api-gettingdata__block3.json"))
    topic = "arn:aws:sns:us-west-2:123456789012:awseb-e-ruag3jyweb-stack-NotificationTopic-6B829NT9V5O9"
    assert ("Lambda", "Lambda Invoke random-name") in scorekeep
    assert ("SNS", f"SNS Publish {topic}") in scorekeep
    assert ("DynamoDB", "DynamoDB UpdateItem scorekeep-user") in scorekeep


def test_inferred_segments_take_the_service_from_their_origin() -> None:
    [events] = from_file(DERIVED / "internal__pkg__xray__segment_test__doc3.json").roots
    assert (events.kind, events.origin, events.label) == ("inferred", "AWS::Events", "Events PutEvents")
    bucket = Node(id="i", name="my-bucket", kind="inferred", origin="AWS::S3::Bucket")
    bucket.aws = {"operation": "GetObject", "bucket_name": "my-bucket", "key": "a/b.txt"}
    assert labels.label(bucket) == "S3 GetObject my-bucket/a/b.txt"


@pytest.mark.parametrize(
    ("aws", "expected"),
    [
        ({"operation": "SendMessage", "queue_url": "https://sqs/q"}, "SQS SendMessage https://sqs/q"),
        ({"operation": "BatchGetItem", "table_names": ["a", "b"]}, "DynamoDB BatchGetItem a,b"),
        ({"operation": "ListBuckets"}, "S3 ListBuckets"),
        ({"operation": "GetObject", "bucket_name": "b"}, "S3 GetObject b"),
        ({}, "S3"),
    ],
)
def test_aws_label_resource_fields(aws: dict[str, Any], expected: str) -> None:
    name = {"SQS": "sqs", "DynamoDB": "dynamodb"}.get(expected.split()[0], "s3")
    node = Node(id="x", name=name, kind="subsegment", namespace="aws")
    node.aws = aws
    assert labels.label(node) == expected


def test_http_sql_origin_and_name_labels() -> None:
    [remote] = from_file(SEGMENTS / "indepSubsegment.txt").roots
    assert remote.label == "POST https://api.example.com/health"
    [server] = from_file(SEGMENTS / "serverSample.txt").roots
    assert server.label == "GET http://localhost:8000/"
    [sql] = from_file(SEGMENTS / "indepSubsegmentWithSql.txt").roots
    assert sql.label == (
        "SQL jdbc:postgresql://aawijb5u25wdoy.cpamxznpdoq8.us-west-2.rds.amazonaws.com:5432/ebdb?myInterceptor=foo"
        ": SELECT  *  FROM  customers  WHERE  customer_id=?;"
    )
    no_query = Node(id="q", name="db", kind="subsegment", sql={"database_type": "PostgreSQL"})
    assert labels.label(no_query) == "SQL PostgreSQL"
    [lambda_service, *_] = from_file(DERIVED / "internal__pkg__xray__segment_test__doc2.json").walk()
    assert (lambda_service.name, lambda_service.label) == ("my-function", "AWS::Lambda")
    [other] = from_file(SEGMENTS / "minOtherFields.txt").roots  # a subsegment: origin is not its label
    assert other.label == "OtherTopLevelFields"


@pytest.mark.parametrize(
    ("document", "code", "expected"),
    [
        ({}, 200, "ok"),
        ({}, None, "ok"),
        ({"error": True}, None, "error"),
        ({}, 404, "error"),
        ({"throttle": True}, None, "throttle"),
        ({}, 429, "throttle"),
        ({"fault": True}, 200, "fault"),
        ({}, 502, "fault"),
        ({"error": True, "throttle": True}, 500, "fault"),
        ({"error": True, "throttle": True}, None, "throttle"),
        ({"fault": False, "error": "true"}, None, "error"),
    ],
)
def test_status_is_the_worst_mark(document: dict[str, Any], code: int | None, expected: str) -> None:
    warnings: list[str] = []
    assert fields.status(document, code, warnings.append) == expected
    assert warnings == []


def test_status_of_real_documents_and_odd_flags() -> None:
    [throttled] = from_file(SEGMENTS / "minOtherFields.txt").roots
    assert throttled.status == "throttle"
    warnings: list[str] = []
    assert fields.status({"fault": 1, "error": "maybe"}, None, warnings.append) == "ok"
    assert warnings == [
        "fault is 1, not true or false: taken as false",
        "error is 'maybe', not true or false: taken as false",
    ]


@pytest.mark.parametrize(
    ("http", "expected"),
    [
        ({"response": {"status": 200}}, 200),
        ({"response": {"status": "503"}}, 503),
        ({"response": {"status": 404.0}}, 404),
        ({"response": {"status": True}}, None),
        ({"response": {"status": "OK"}}, None),
        ({"response": "200"}, None),
        ({}, None),
    ],
)
def test_http_status(http: dict[str, Any], expected: int | None) -> None:
    assert fields.http_status(http) == expected


def test_exceptions_with_stacks_from_a_real_go_document() -> None:
    [segment] = from_file(SEGMENTS / "ddbSample.txt").roots
    [exception] = segment.exceptions
    assert exception.id == "3e9e11e3ab3fba60" and exception.type == "dynamodb.ResourceNotFoundException"
    assert exception.message == "ResourceNotFoundException: Requested resource not found"
    assert exception.stack[-2:] == ["runtime/proc.go:203 in main", "runtime/asm_amd64.s:1373 in goexit"]
    assert exception.remote is True  # the error came back from DynamoDB


def test_exceptions_tolerate_partial_frames_and_wrong_types() -> None:
    warnings: list[str] = []
    cause = {
        "exceptions": [
            {
                "message": "m",
                "stack": [{"path": "a.py"}, {"line": 3, "label": "f"}, "raw frame"],
                "truncated": "2",
            },
            {"message": 5, "remote": "yes", "stack": {"path": "b.py"}, "truncated": 1.5},
            "just text",
        ]
    }
    found, ident = fields.exceptions(cause, warnings.append)
    assert ident is None
    assert [(e.message, e.stack, e.truncated, e.remote) for e in found] == [
        ("m", ["a.py", "?:3 in f", "raw frame"], 2, False),
        ("5", ["b.py"], 0, False),
        ("just text", [], 0, False),
    ]
    assert len(warnings) == 3
    assert fields.exceptions("0123456789abcdef", warnings.append) == ([], "0123456789abcdef")
    assert fields.exceptions({"working_directory": "/x"}, warnings.append) == ([], None)


def test_unexpected_values_are_described_without_recursing_into_them() -> None:
    deep: Any = []
    for _ in range(50_000):
        deep = [deep]
    assert fields.describe(deep) == "an array"
    assert fields.describe({"a": deep}) == "an object"
    assert fields.describe("x" * 100).endswith("…") and len(fields.describe("x" * 100)) == 40
    assert (
        fields.text(["a", "b"]) == "a,b" and fields.text(True) == "true" and fields.text(deep) == "an array"
    )
    [node] = build_trace(
        "t", [{"id": "a", "name": "n", "start_time": 1.0, "end_time": 2.0, "annotations": {"k": deep}}]
    ).roots
    assert node.annotations == {} and node.warnings == [
        "annotation 'k' is an array, not a string, number or boolean: dropped"
    ]
