"""Every failure a user can cause with the AWS side, end to end through the real CLI and its error boundary:
one line on stderr, nothing on stdout, no traceback, the documented exit code.

A loopback server answers as X-Ray and Lambda do (the error code in `x-amzn-ErrorType`, as botocore reads it);
botocore's own retries run for real, cut to two attempts with AWS_MAX_ATTEMPTS, which xrayctl honours.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import CliResult, run_cli
from tests.support.fakeaws import FakeAws
from xrayctl.errors import ExitCode, XrayctlError
from xrayctl.local.httpserver import Request, Response
from xrayctl.trace.ids import new_trace_id

TRACE_ID = "1-654c0557-5611b044040fc7224c4790b6"  # from 2023: far past X-Ray's retention


def run(args: list[str], fake_aws: FakeAws | None = None, **env: str | None) -> CliResult:
    endpoint = ["--endpoint-url", fake_aws.url] if fake_aws is not None else []
    base: dict[str, str | None] = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "2"}
    return run_cli([*args, *endpoint], env={**base, **env})


def one_line(result: CliResult, code: ExitCode) -> str:
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("xrayctl: ")
    return line


SHOW = ["show-trace", TRACE_ID, "--no-wait"]
LIST = ["list-annotations", "--since", "1h"]
INVOKE = ["invoke", "--function", "xray-demo", "--bucket", "demo-bucket", "--no-show"]


def test_no_credentials_is_exit_4_saying_how_to_configure_them(fake_aws: FakeAws) -> None:
    line = one_line(run(SHOW, fake_aws, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None), ExitCode.CONFIG)
    assert "No usable AWS credentials" in line and "aws configure" in line


@pytest.mark.parametrize(
    ("args", "env"),
    [([*SHOW, "--profile", "nope"], {}), (SHOW, {"AWS_PROFILE": "nope"})],
    ids=["option", "env"],
)
def test_an_unknown_profile_is_exit_4_naming_it_from_option_or_env(
    args: list[str], env: dict[str, str]
) -> None:
    result = run(args, **env)
    line = one_line(result, ExitCode.CONFIG)
    assert "(nope)" in line and "list-profiles" in line


@pytest.mark.parametrize(
    ("args", "action"),
    [(SHOW, "xray:BatchGetTraces"), (LIST, "xray:GetTraceSummaries"), (INVOKE, "lambda:InvokeFunction")],
)
def test_access_denied_names_the_iam_action(fake_aws: FakeAws, args: list[str], action: str) -> None:
    fake_aws.respond = lambda request: Response.aws_error(
        403, "AccessDeniedException", "User: bob is not authorized"
    )
    line = one_line(run(args, fake_aws), ExitCode.ACCESS_DENIED)
    assert f"Allow {action} for this identity" in line and "bob is not authorized" in line


def test_expired_token_says_to_refresh(fake_aws: FakeAws) -> None:
    message = "The security token included in the request is expired"
    fake_aws.respond = lambda request: Response.aws_error(403, "ExpiredTokenException", message)
    line = one_line(run(SHOW, fake_aws), ExitCode.ACCESS_DENIED)
    # The service's sentence and the fix are two sentences, not one run-on line.
    assert f"(ExpiredTokenException): {message}. The credentials are expired or invalid: refresh" in line


@pytest.mark.parametrize(
    ("args", "code", "status", "operation", "advice"),
    [
        (SHOW, "ThrottledException", 429, "BatchGetTraces", "ask for fewer trace ids at a time."),
        (LIST, "ThrottlingException", 400, "GetTraceSummaries", "ask for a shorter time window."),
    ],
)
def test_throttled_after_the_retries(
    fake_aws: FakeAws, args: list[str], code: str, status: int, operation: str, advice: str
) -> None:
    calls: list[str] = []

    def throttle(request: Request) -> Response:
        calls.append(request.path)
        return Response.aws_error(status, code, "Rate exceeded")

    fake_aws.respond = throttle
    line = one_line(run(args, fake_aws), ExitCode.THROTTLED)
    assert f"AWS throttled {operation} ({code}) after 2 attempts. Wait a minute and run it again, " in line
    assert line.endswith(advice)
    # Two attempts of the throttled operation (AWS_MAX_ATTEMPTS=2); show-trace's summary call, made alongside
    # BatchGetTraces, is throttled too and bounded the same way.
    path = {"BatchGetTraces": "/Traces", "GetTraceSummaries": "/TraceSummaries"}[operation]
    assert calls.count(path) == 2
    assert len(calls) <= 4


def test_a_throttled_invoke_is_told_about_lambda_concurrency_not_time_windows(fake_aws: FakeAws) -> None:
    fake_aws.respond = lambda request: Response.aws_error(429, "TooManyRequestsException", "Rate Exceeded.")
    line = one_line(run(INVOKE, fake_aws), ExitCode.THROTTLED)
    assert "AWS throttled Invoke (TooManyRequestsException) after 1 attempt." in line
    assert "Lambda is limiting this function's invocations" in line and "try again later" in line
    assert "time window" not in line and "trace ids" not in line


def test_an_endpoint_on_this_machine_that_does_not_answer_mentions_the_local_stack() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    line = one_line(run(["--endpoint-url", f"http://127.0.0.1:{port}", *SHOW]), ExitCode.UNREACHABLE)
    assert f"Could not connect to http://127.0.0.1:{port}/Traces." in line
    assert "for --local, the local stack" in line and "--region" not in line


def test_trace_not_found_after_waiting_gives_the_reasons(fake_aws: FakeAws) -> None:
    fresh = new_trace_id()
    line = one_line(run(["show-trace", fresh, "--timeout", "0"], fake_aws), ExitCode.NOT_FOUND)
    assert f"Trace {fresh} not found after waiting 0 s. X-Ray may still be ingesting it" in line
    assert "sampled" in line and "--region" in line


def test_a_trace_past_retention_is_not_waited_for(fake_aws: FakeAws) -> None:
    line = one_line(run(["show-trace", TRACE_ID, "--timeout", "2"], fake_aws), ExitCode.NOT_FOUND)
    assert f"Trace {TRACE_ID} not found. X-Ray keeps traces 30 days and {TRACE_ID} is older" in line


def test_trace_not_found_with_transaction_search_on(fake_aws: FakeAws) -> None:
    fake_aws.destination = "CloudWatchLogs"
    recent = new_trace_id()
    line = one_line(run(["show-trace", recent, "--timeout", "0"], fake_aws), ExitCode.NOT_FOUND)
    assert (
        "Transaction Search is on" in line and "a trace retrieval (StartTraceRetrieval) found no span" in line
    )
    assert [r.path for r in fake_aws.seen].count("/StartTraceRetrieval") == 1


def test_an_id_past_retention_is_not_retrieved_with_transaction_search_on(fake_aws: FakeAws) -> None:
    fake_aws.destination = "CloudWatchLogs"
    line = one_line(run(["show-trace", TRACE_ID, "--timeout", "0"], fake_aws), ExitCode.NOT_FOUND)
    assert f"Trace {TRACE_ID} not found. X-Ray keeps traces 30 days and {TRACE_ID} is older" in line
    assert "/StartTraceRetrieval" not in [r.path for r in fake_aws.seen]


def test_a_filter_x_ray_cannot_read(fake_aws: FakeAws) -> None:
    seen: list[dict[str, object]] = []

    def refuse(request: Request) -> Response:
        seen.append(request.json())
        return Response.aws_error(400, "InvalidRequestException", "Invalid filter expression: ((")

    fake_aws.respond = refuse
    line = one_line(run([*LIST, "--filter", "(("], fake_aws), ExitCode.USAGE)
    assert "Invalid filter expression: ((. Check the --filter expression" in line
    assert seen[0]["FilterExpression"] == "(("


@pytest.mark.parametrize(
    ("message", "fix", "said"),
    [
        ("Access denied", "Allow it.", "Access denied. Allow it."),
        ("Trace not found.", "Wait.", "Trace not found. Wait."),
        ("Is it there?", "Look.", "Is it there? Look."),
        ("No fix", None, "No fix"),
    ],
)
def test_message_and_fix_are_two_sentences(message: str, fix: str | None, said: str) -> None:
    assert str(XrayctlError(message, fix)) == said


# ------------------------------------------------------------------- bad settings, caught as clients are made


@pytest.mark.parametrize(
    ("command", "env", "said"),
    [
        (
            [*SHOW, "--region", "us east 1"],
            {},
            "'us east 1' is not an AWS region name. Give a region such as",
        ),
        (INVOKE, {"AWS_REGION": "us_east_1!"}, "'us_east_1!' is not an AWS region name."),
        (
            SHOW,
            {"AWS_MAX_ATTEMPTS": "abc"},
            "AWS_MAX_ATTEMPTS (or max_attempts in the profile) is not a whole",
        ),
        (
            INVOKE,
            {"AWS_MAX_ATTEMPTS": "abc"},
            "AWS_MAX_ATTEMPTS (or max_attempts in the profile) is not a whole",
        ),
        (LIST, {"AWS_MAX_ATTEMPTS": "0"}, '"max_attempts": 0 must be an integer greater than or equal to 1'),
        (SHOW, {"AWS_RETRY_MODE": "bogus"}, 'Invalid value provided to "mode": "bogus"'),
        (INVOKE, {"AWS_RETRY_MODE": "bogus"}, 'Invalid value provided to "mode": "bogus"'),
        (SHOW, {"AWS_DEFAULTS_MODE": "bogus"}, "invalid defaults mode: bogus"),
        (
            SHOW,
            {"AWS_ACCOUNT_ID_ENDPOINT_MODE": "bogus"},
            "'bogus' for 'account_id_endpoint_mode' is invalid",
        ),
        (SHOW, {"AWS_METADATA_SERVICE_TIMEOUT": "abc"}, "A setting of the AWS configuration is not valid"),
    ],
)
def test_a_bad_aws_setting_is_a_config_error(
    fake_aws: FakeAws, command: list[str], env: dict[str, str], said: str
) -> None:
    line = one_line(run(command, fake_aws, **env), ExitCode.CONFIG)
    assert said in line
    assert "This is a bug" not in line


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--endpoint-url", "notaurl"], {}), ([], {"AWS_ENDPOINT_URL_XRAY": "notaurl"})],
    ids=["option", "env"],
)
def test_an_endpoint_that_is_not_a_url_is_a_config_error(args: list[str], env: dict[str, str]) -> None:
    line = one_line(run([*SHOW, *args], **env), ExitCode.CONFIG)
    assert "'notaurl' is not an endpoint URL. Give a whole URL, such as https://" in line


def test_an_unreadable_config_file_is_a_config_error(fake_aws: FakeAws, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("[default\nregion = us-east-1\n")
    line = one_line(run(SHOW, fake_aws, AWS_CONFIG_FILE=str(config)), ExitCode.CONFIG)
    assert f"Unable to parse config file: {config}" in line and "~/.aws/config" in line


def test_a_5xx_page_that_is_not_aws_stays_out_of_the_line(fake_aws: FakeAws) -> None:
    # What a plain web server (python -m http.server) answers an API call with: a whole HTML page.
    page = b"<!DOCTYPE HTML>\n<html lang='en'>\n<head><title>Error response</title></head>\n<body>501</body>"
    fake_aws.respond = lambda request: Response(501, page, {"Content-Type": "text/html"})
    line = one_line(run(LIST, fake_aws), ExitCode.UNREACHABLE)
    assert "HTTP 501" in line and "no AWS error in the answer" in line
    assert "<" not in line and "DOCTYPE" not in line


def test_a_payload_file_that_does_not_exist_is_a_usage_error() -> None:
    line = one_line(
        run(["invoke", "--function", "f", "--payload", "@/nonexistent/event.json"]), ExitCode.USAGE
    )
    assert "--payload @/nonexistent/event.json" in line and "no such file" in line
