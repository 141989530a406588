"""Readable labels, read from real segment documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import FIXTURES
from xrayctl.trace import labels
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
