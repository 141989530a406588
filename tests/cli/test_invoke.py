"""`invoke` against an endpoint that answers as AWS: the event it sends, its defaults filled in."""

from __future__ import annotations

import json

from tests.support.cli import run_cli
from tests.support.fakeaws import FakeAws
from xrayctl.local.httpserver import Request, Response


def _sent_events(fake_aws: FakeAws) -> list[dict[str, str]]:
    return [json.loads(r.body) for r in fake_aws.seen if r.path.endswith("/invocations")]


def test_the_event_is_complete_with_the_functions_bucket(fake_aws: FakeAws) -> None:
    result = run_cli(["invoke", "--function", "demo", "--no-show", "--endpoint-url", fake_aws.url])
    assert result.exit_code == 0, result.stderr
    # The AWS guide's handler reads event['bucket_name'], event['bucket_key'] and event['body'].
    assert _sent_events(fake_aws) == [
        {"bucket_name": "demo-bucket", "bucket_key": "hello.txt", "body": "Hello from xrayctl"}
    ]


def test_a_stacks_event_takes_the_stacks_bucket(fake_aws: FakeAws) -> None:
    result = run_cli(["invoke", "--stack", "demo", "--no-show", "--endpoint-url", fake_aws.url])
    assert result.exit_code == 0, result.stderr
    [event] = _sent_events(fake_aws)
    assert event["bucket_name"] == "the-stacks-bucket"
    assert not any(r.path.endswith("/configuration") for r in fake_aws.seen)  # the stack said it


def test_bucket_given_is_sent_without_reading_the_function(fake_aws: FakeAws) -> None:
    args = ["invoke", "--function", "demo", "--bucket", "mine", "--body", "hi", "--no-show"]
    result = run_cli([*args, "--endpoint-url", fake_aws.url])
    assert result.exit_code == 0, result.stderr
    assert _sent_events(fake_aws) == [{"bucket_name": "mine", "bucket_key": "hello.txt", "body": "hi"}]
    assert not any(r.path.endswith("/configuration") for r in fake_aws.seen)


def test_a_function_without_a_default_bucket_is_a_usage_error_before_it_runs(fake_aws: FakeAws) -> None:
    def no_variables(request: Request) -> Response:
        if request.path.endswith("/configuration"):
            return Response.json(200, {"FunctionName": "demo"})
        return Response(200, b"{}", {"Content-Type": "application/json"})

    fake_aws.respond = no_variables
    result = run_cli(["invoke", "--function", "demo", "--no-show", "--endpoint-url", fake_aws.url])
    assert result.exit_code == 2
    assert "has no BUCKET_NAME variable" in result.stderr and "--bucket" in result.stderr
    assert _sent_events(fake_aws) == []


def test_a_configuration_that_cannot_be_read_leaves_the_bucket_to_the_function(fake_aws: FakeAws) -> None:
    def denied(request: Request) -> Response:
        if request.path.endswith("/configuration"):
            return Response.aws_error(403, "AccessDeniedException", "not allowed")
        return Response(200, b"{}", {"Content-Type": "application/json"})

    fake_aws.respond = denied
    result = run_cli(["invoke", "--function", "demo", "--no-show", "--endpoint-url", fake_aws.url])
    assert result.exit_code == 0, result.stderr
    assert _sent_events(fake_aws) == [{"bucket_key": "hello.txt", "body": "Hello from xrayctl"}]
    assert "lambda:GetFunctionConfiguration" in result.stderr and "--bucket" in result.stderr
