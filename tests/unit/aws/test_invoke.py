"""Invoking under a trace id we choose, checked on the wire: a real HTTP server on 127.0.0.1 answers as
Lambda's Invoke API does and records the headers botocore sent (Stubber cannot see headers)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.support.paths import ROOT
from xrayctl.aws.errors import ResourceNotFound
from xrayctl.aws.invoke import build_event, encode_event, invoke, load_payload
from xrayctl.aws.target import function_from_stack
from xrayctl.errors import InputError, UsageError
from xrayctl.local.httpserver import LoopbackHTTPServer, Request, Response
from xrayctl.trace.ids import normalize_trace_id, parse_trace_header

TEMPLATE = ROOT / "function" / "template.yaml"
LOG = (
    "START RequestId: 8f5a Version: $LATEST\nEND RequestId: 8f5a\nREPORT RequestId: 8f5a\tDuration: 2.1 ms\n"
)


class FakeLambda:
    """Answers POST /2015-03-31/functions/{name}/invocations like Lambda, recording each request."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.answer_trace: Callable[[str | None], str | None] = lambda sent: sent
        self.http = LoopbackHTTPServer(self._handle).start()

    def _handle(self, request: Request) -> Response:
        self.requests.append(request)
        name = request.path.split("/")[3]
        if name != "xray-demo":
            return Response.aws_error(
                404,
                "ResourceNotFoundException",
                f"Function not found: arn:aws:lambda:us-east-1:123456789012:function:{name}",
            )
        headers = {k.lower(): v for k, v in request.headers.items()}
        event = json.loads(request.body)
        failed = "fail" in event
        body = {"errorMessage": "asked to fail", "errorType": "Exception"} if failed else {"echo": event}
        response_headers = {
            "x-amzn-RequestId": "8f5a2b9c-0000-4000-8000-000000000001",
            "X-Amz-Executed-Version": "$LATEST",
        }
        trace = self.answer_trace(headers.get("x-amzn-trace-id"))
        if trace is not None:
            response_headers["X-Amzn-Trace-Id"] = trace
        if failed:
            response_headers["X-Amz-Function-Error"] = "Unhandled"
        if headers.get("x-amz-log-type") == "Tail":
            response_headers["X-Amz-Log-Result"] = base64.b64encode(LOG.encode()).decode()
        return Response.json(200, body, response_headers)


@pytest.fixture(scope="module")
def lambda_server() -> Iterator[FakeLambda]:
    server = FakeLambda()  # one for the module: stopping a server takes half a second
    yield server
    server.http.stop()


@pytest.fixture
def fake_lambda(lambda_server: FakeLambda) -> FakeLambda:
    lambda_server.requests.clear()
    lambda_server.answer_trace = lambda sent: sent
    return lambda_server


def lambda_client(url: str) -> Any:
    return boto3.client(
        "lambda", region_name="us-east-1", endpoint_url=url, aws_access_key_id="x", aws_secret_access_key="x"
    )


def sent_header(request: Request) -> str | None:
    return {k.lower(): v for k, v in request.headers.items()}.get("x-amzn-trace-id")


TRACE_ID = "1-6b04c914-ea7beef5edbcb95e43b8d27c"


def test_the_trace_id_we_choose_goes_out_with_the_invoke(fake_lambda: FakeLambda) -> None:
    client = lambda_client(fake_lambda.http.url)
    payload = encode_event(build_event("demo-bucket", "hello.txt", "hi"))
    result = invoke(client, "xray-demo", payload, trace_id=TRACE_ID)
    (request,) = fake_lambda.requests
    assert sent_header(request) == f"Root={TRACE_ID};Sampled=1"
    assert request.body == payload
    assert result.trace_id == TRACE_ID and result.warnings == []
    assert json.loads(result.payload) == {
        "echo": {"bucket_name": "demo-bucket", "bucket_key": "hello.txt", "body": "hi"}
    }
    assert (result.status_code, result.function_error, result.executed_version) == (200, None, "$LATEST")
    assert result.request_id == "8f5a2b9c-0000-4000-8000-000000000001"
    assert result.log_tail == LOG
    assert result.duration_ms > 0


def test_a_new_trace_id_by_default(fake_lambda: FakeLambda) -> None:
    client = lambda_client(fake_lambda.http.url)
    first = invoke(client, "xray-demo", b"{}")
    second = invoke(client, "xray-demo", b"{}")
    assert first.trace_id != second.trace_id
    assert [parse_trace_header(sent_header(r) or "")["Root"] for r in fake_lambda.requests] == [
        first.trace_id,
        second.trace_id,
    ]
    assert normalize_trace_id(first.trace_id) == first.trace_id


def test_the_header_is_scoped_to_our_call(fake_lambda: FakeLambda) -> None:
    client = lambda_client(fake_lambda.http.url)
    invoke(client, "xray-demo", b"{}", trace_id=TRACE_ID)
    client.invoke(FunctionName="xray-demo", Payload=b"{}")  # someone else's call on the same client
    assert [sent_header(r) for r in fake_lambda.requests] == [f"Root={TRACE_ID};Sampled=1", None]


def test_the_root_lambda_answers_with_wins_and_is_reported(fake_lambda: FakeLambda) -> None:
    other = "1-6b04c915-00000000000000000000abcd"
    fake_lambda.answer_trace = lambda sent: f"Root={other};Parent=53995c3f42cd8ad8;Sampled=1"
    result = invoke(lambda_client(fake_lambda.http.url), "xray-demo", b"{}", trace_id=TRACE_ID)
    assert result.trace_id == other
    assert result.warnings == [f"Lambda recorded the invocation under trace {other}, not {TRACE_ID} as sent."]


def test_the_same_root_with_a_parent_is_no_news(fake_lambda: FakeLambda) -> None:
    fake_lambda.answer_trace = lambda sent: f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=1"
    result = invoke(lambda_client(fake_lambda.http.url), "xray-demo", b"{}", trace_id=TRACE_ID)
    assert (result.trace_id, result.warnings) == (TRACE_ID, [])


@pytest.mark.parametrize(
    "header", [f"Root={TRACE_ID};Sampled=0", f"root={TRACE_ID};sampled=0;lineage=a87bd80c:0"]
)
def test_unsampled_answer_is_a_warning(fake_lambda: FakeLambda, header: str) -> None:
    fake_lambda.answer_trace = lambda sent: header
    result = invoke(lambda_client(fake_lambda.http.url), "xray-demo", b"{}", trace_id=TRACE_ID)
    assert result.warnings == ["Lambda did not sample this invocation: X-Ray will have no trace of it."]


def test_a_lower_case_root_is_read_too(fake_lambda: FakeLambda) -> None:
    other = "1-6b04c915-00000000000000000000abcd"
    fake_lambda.answer_trace = lambda sent: f"root={other};parent=53995c3f42cd8ad8;sampled=1"
    result = invoke(lambda_client(fake_lambda.http.url), "xray-demo", b"{}", trace_id=TRACE_ID)
    assert result.trace_id == other


def test_function_error_is_returned_not_raised(fake_lambda: FakeLambda) -> None:
    result = invoke(lambda_client(fake_lambda.http.url), "xray-demo", b'{"fail": true}', log_tail=False)
    assert result.function_error == "Unhandled"
    assert json.loads(result.payload)["errorMessage"] == "asked to fail"
    assert result.log_tail is None
    assert {k.lower(): v for k, v in fake_lambda.requests[0].headers.items()}.get("x-amz-log-type") == "None"


def test_unknown_function_is_named(fake_lambda: FakeLambda) -> None:
    with pytest.raises(ResourceNotFound, match="function:nope") as caught:
        invoke(lambda_client(fake_lambda.http.url), "nope", b"{}")
    assert "--region" in (caught.value.fix or "")


def test_event_leaves_out_what_is_not_given() -> None:
    assert build_event(None, "k.txt", None) == {"bucket_key": "k.txt"}
    assert json.loads(encode_event(build_event("b", "k", "x\u00e9"))) == {
        "bucket_name": "b",
        "bucket_key": "k",
        "body": "x\u00e9",
    }


def test_payload_inline_or_from_a_file(tmp_path: Path) -> None:
    assert load_payload('{"bucket_key": "a.txt"}') == b'{"bucket_key": "a.txt"}'
    path = tmp_path / "event.json"
    path.write_bytes(b'[1, {"k": "v"}]\n')
    assert load_payload(f"@{path}") == b'[1, {"k": "v"}]\n'  # sent as written


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{bucket_key: 1}", "is not JSON"),
        (b'{"body": "caf\xe9"}', "is not UTF-8, UTF-16 or UTF-32 text"),  # Latin-1
        ("\ufeff{}".encode("utf-16-le") + b"\x00", "is not UTF-8, UTF-16 or UTF-32 text"),  # a byte short
        (b"[" * 100_000 + b"]" * 100_000, "nests too deeply"),
    ],
)
def test_bad_payload_files_are_input_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "event.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as caught:
        load_payload(f"@{path}")
    assert str(path) in caught.value.message


def test_a_missing_payload_file_is_named_as_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--payload @.*no such file") as caught:
        load_payload(f"@{tmp_path / 'nope.json'}")
    assert "nope.json" in caught.value.message


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be"])
def test_a_payload_file_in_any_json_encoding_is_sent_as_utf8(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "event.json"
    path.write_bytes('{"body": "café ☕"}'.encode(encoding))
    assert load_payload(f"@{path}") == '{"body": "café ☕"}'.encode()


def test_a_payload_past_lambdas_6_mb_is_refused_having_read_no_more(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    with path.open("wb") as sparse:
        sparse.truncate(6 * 1024 * 1024 + 1)  # a 6 MB + 1 byte file that takes no disk
    with pytest.raises(InputError, match="larger than 6 MB"):
        load_payload(f"@{path}")
    with pytest.raises(InputError, match="larger than 6 MB"):
        load_payload(" " * (6 * 1024 * 1024) + "{}")


def test_bad_inline_payload() -> None:
    with pytest.raises(InputError, match="--payload is not JSON"):
        load_payload("{'single': 'quotes'}")


# ------------------------------------------------------------------------------------------ from a stack


def cfn_with_outputs(outputs: list[dict[str, str]]) -> tuple[Any, Stubber]:
    client = boto3.client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(client)
    stack = {
        "StackName": "xray-demo",
        "CreationTime": "2026-11-23T10:00:00Z",
        "StackStatus": "CREATE_COMPLETE",
        "Outputs": outputs,
    }
    stubber.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "xray-demo"})
    stubber.activate()
    return client, stubber


def test_the_templates_function_name_output_is_used() -> None:
    template = TEMPLATE.read_text()
    keys = [key for key in ("FunctionName", "FunctionArn", "BucketName") if f"\n  {key}:" in template]
    assert keys == ["FunctionName", "FunctionArn", "BucketName"]  # the outputs our SAM template declares
    values = {
        "FunctionName": "xray-demo-Function-1A2B3C",
        "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:xray-demo-Function-1A2B3C",
        "BucketName": "xray-demo-bucket-1a2b3c",
    }
    client, _ = cfn_with_outputs([{"OutputKey": k, "OutputValue": values[k]} for k in keys])
    assert function_from_stack(client, "xray-demo") == "xray-demo-Function-1A2B3C"


def test_a_function_arn_output_is_used_when_none_is_named() -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:sam-app-HelloWorldFunction-abc"
    client, _ = cfn_with_outputs(
        [
            {
                "OutputKey": "HelloWorldApi",
                "OutputValue": "https://abc.execute-api.us-east-1.amazonaws.com/Prod/",
            },
            {"OutputKey": "HelloWorldFunction", "OutputValue": arn},
            {
                "OutputKey": "HelloWorldFunctionIamRole",
                "OutputValue": "arn:aws:iam::123456789012:role/sam-app-Role",
            },
        ]
    )
    assert function_from_stack(client, "xray-demo") == arn


def test_a_stack_without_a_function_output_says_what_to_do() -> None:
    client, _ = cfn_with_outputs([{"OutputKey": "BucketName", "OutputValue": "b"}])
    with pytest.raises(UsageError, match="no output naming a Lambda function") as caught:
        function_from_stack(client, "xray-demo")
    assert "--function" in (caught.value.fix or "")


def test_several_function_outputs_are_ambiguous() -> None:
    client, _ = cfn_with_outputs(
        [
            {"OutputKey": "ReaderFunctionName", "OutputValue": "r"},
            {"OutputKey": "WriterFunctionName", "OutputValue": "w"},
        ]
    )
    with pytest.raises(UsageError, match="ReaderFunctionName, WriterFunctionName"):
        function_from_stack(client, "xray-demo")


def test_a_missing_stack_is_a_usage_error() -> None:
    client = boto3.client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "describe_stacks", "ValidationError", "Stack with id nope does not exist", 400
        )
        with pytest.raises(UsageError, match="Stack with id nope does not exist") as caught:
            function_from_stack(client, "nope")
    assert "stack name" in (caught.value.fix or "")
