"""The AWS X-Ray guide's own handler, unchanged, run by `xrayctl --local invoke --code DIR --handler M.F`.

The handler is the Python example of the Lambda developer guide's "Instrumenting Python code in AWS Lambda"
(docs.aws.amazon.com/lambda/latest/dg/python-tracing.html), as printed there: it reads `event['bucket_name']`,
`event['bucket_key']` and `event['body']`, so it fails with a KeyError on any event that lacks one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import json_nodes
from tests.support.serve import Serve, run

pytestmark = pytest.mark.e2e

GUIDE_HANDLER = """\
import boto3
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core import patch

patch(['boto3'])

s3_client = boto3.client('s3')

def lambda_handler(event, context):
    bucket_name = event['bucket_name']
    bucket_key = event['bucket_key']
    body = event['body']

    put_object_into_s3(bucket_name, bucket_key, body)
    get_object_from_s3(bucket_name, bucket_key)

# Define subsegments manually
def put_object_into_s3(bucket_name, bucket_key, body):
    try:
        xray_recorder.begin_subsegment('put_object')
        response = s3_client.put_object(Bucket=bucket_name, Key=bucket_key, Body=body)
        status_code = response['ResponseMetadata']['HTTPStatusCode']
        xray_recorder.current_subsegment().put_annotation('put_response', status_code)
    finally:
        xray_recorder.end_subsegment()

# Use decorators to automatically set the subsegments
@xray_recorder.capture('get_object')
def get_object_from_s3(bucket_name, bucket_key):
    response = s3_client.get_object(Bucket=bucket_name, Key=bucket_key)
    status_code = response['ResponseMetadata']['HTTPStatusCode']
    xray_recorder.current_subsegment().put_annotation('get_response', status_code)
"""


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    code = tmp_path_factory.mktemp("guide-code")
    (code / "lambda_function.py").write_text(GUIDE_HANDLER)
    server = Serve(tmp_path_factory.mktemp("guide-home"), "--code", str(code))
    server.code = code  # type: ignore[attr-defined]
    yield server
    server.stop()


def _invoke(home: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = run(home, "--local", "invoke", "-o", "json", *args)
    return result.returncode, json.loads(result.stdout), result.stderr


def test_the_guides_handler_runs_on_the_event_xrayctl_sends(serve: Serve) -> None:
    code, data, stderr = _invoke(serve.home)
    assert code == 0, stderr
    [invocation] = data["invocations"]
    assert invocation["function_error"] is None and invocation["payload_json"] is None  # it returns None
    [trace] = data["traces"]
    annotations = {node["name"]: node["annotations"] for node in json_nodes(trace["roots"])}
    assert annotations["put_object"] == {"put_response": 200}
    assert annotations["get_object"] == {"get_response": 200}


def test_its_failed_s3_calls_show_their_stack_frames_with_full_paths(serve: Serve) -> None:
    # No such bucket: the ClientError goes through the SDK's subsegments, which keep only each frame's file
    # name, and out of the handler, whose cause (on Lambda's function segment) lists the files in full.
    code, data, stderr = _invoke(serve.home, "--bucket", "no-such-bucket-for-xrayctl")
    assert code == 8, stderr
    [trace] = data["traces"]
    nodes = list(json_nodes(trace["roots"]))
    [call] = [node for node in nodes if node["name"] == "s3" and node["exceptions"]]
    frames = call["exceptions"][0]["stack"]
    handler_file = str(serve.code / "lambda_function.py")  # type: ignore[attr-defined]
    assert any(frame.startswith(f"{handler_file}:") for frame in frames), frames
    assert any("/botocore/client.py:" in frame for frame in frames), frames
