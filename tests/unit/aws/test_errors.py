"""What each botocore failure tells the user: botocore's Stubber raises the service error codes as the same
ClientError a real response would, and xrayctl.aws.errors translates them."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore import exceptions as bx
from botocore.stub import Stubber

from xrayctl.aws.errors import ResourceNotFound, translate, translate_errors
from xrayctl.errors import (
    AccessDenied,
    ExitCode,
    Throttled,
    Unreachable,
    UsageError,
    XrayctlError,
)

TRACE_ID = "1-59602603-23fc5b688855d396af79b496"


Call = tuple[str, str, dict[str, Any]]


def _stubbed_error(call: Call, code: str, status: int, message: str) -> XrayctlError:
    service, method, params = call
    client: Any = boto3.client(  # type: ignore[call-overload]
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        stubber.add_client_error(
            method, service_error_code=code, service_message=message, http_status_code=status
        )
        with pytest.raises(XrayctlError) as caught, translate_errors():
            getattr(client, method)(**params)
    assert isinstance(caught.value.__cause__, bx.ClientError)
    return caught.value


XRAY_BATCH: Call = ("xray", "batch_get_traces", {"TraceIds": [TRACE_ID]})
XRAY_SUMMARIES: Call = ("xray", "get_trace_summaries", {"StartTime": 0, "EndTime": 60})
LAMBDA_INVOKE: Call = ("lambda", "invoke", {"FunctionName": "fn"})
CFN_DESCRIBE: Call = ("cloudformation", "describe_stacks", {"StackName": "app"})


@pytest.mark.parametrize(
    ("call", "code", "action"),
    [
        (XRAY_BATCH, "AccessDeniedException", "xray:BatchGetTraces"),
        (XRAY_SUMMARIES, "AccessDeniedException", "xray:GetTraceSummaries"),
        (LAMBDA_INVOKE, "AccessDeniedException", "lambda:InvokeFunction"),
        (CFN_DESCRIBE, "AccessDenied", "cloudformation:DescribeStacks"),
    ],
)
def test_access_denied_names_the_missing_action(call: Call, code: str, action: str) -> None:
    error = _stubbed_error(call, code, 403, "not authorized")
    assert isinstance(error, AccessDenied)
    assert f"Allow {action}" in (error.fix or "")
    assert "not authorized" in error.message


@pytest.mark.parametrize(
    "code", ["UnrecognizedClientException", "ExpiredTokenException", "InvalidSignatureException"]
)
def test_rejected_credentials_say_to_refresh_them(code: str) -> None:
    error = _stubbed_error(XRAY_BATCH, code, 403, "The security token is invalid")
    assert isinstance(error, AccessDenied)
    assert code in error.message and "refresh" in (error.fix or "")


@pytest.mark.parametrize(
    ("call", "code", "status"),
    [
        (XRAY_BATCH, "ThrottledException", 429),
        (XRAY_SUMMARIES, "ThrottlingException", 400),
        (LAMBDA_INVOKE, "TooManyRequestsException", 429),
    ],
)
def test_every_throttling_code_is_throttled_with_a_fix_for_what_was_throttled(
    call: Call, code: str, status: int
) -> None:
    error = _stubbed_error(call, code, status, "Rate exceeded")
    assert isinstance(error, Throttled)
    assert code in error.message
    if call is LAMBDA_INVOKE:
        assert "concurrency" in (error.fix or "") and "time window" not in (error.fix or "")
    else:
        assert "Wait a minute" in (error.fix or "")


def test_missing_function_names_it() -> None:
    message = "Function not found: arn:aws:lambda:us-east-1:123456789012:function:fn"
    error = _stubbed_error(LAMBDA_INVOKE, "ResourceNotFoundException", 404, message)
    assert isinstance(error, ResourceNotFound) and isinstance(error, UsageError)
    assert "function:fn" in error.message and "--region" in (error.fix or "")


def test_bad_filter_expression_carries_the_service_message() -> None:
    message = "Invalid filter expression: unexpected token 'AND' at 12"
    error = _stubbed_error(XRAY_SUMMARIES, "InvalidRequestException", 400, message)
    assert isinstance(error, UsageError) and error.exit_code == ExitCode.USAGE
    assert message in error.message and "--filter" in (error.fix or "")


def test_other_service_errors_keep_code_and_message() -> None:
    error = _stubbed_error(XRAY_BATCH, "SomeNewException", 400, "not like that")
    assert type(error) is XrayctlError
    assert "SomeNewException" in error.message and "not like that" in error.message


def test_a_5xx_after_the_retries_is_the_endpoint_failing_but_not_for_invoke() -> None:
    error = _stubbed_error(XRAY_BATCH, "ServiceUnavailable", 503, "try later")
    assert type(error) is Unreachable
    assert all(part in error.message for part in ("ServiceUnavailable", "HTTP 503", "try later"))
    # Lambda's 502s name the function's own problem (its VPC, its KMS key): no "try again later".
    invoke = _stubbed_error(LAMBDA_INVOKE, "ENILimitReachedException", 502, "no ENI")
    assert type(invoke) is XrayctlError and "ENILimitReachedException" in invoke.message


def test_connection_closed_is_unreachable() -> None:
    error = translate(bx.ConnectionClosedError(endpoint_url="https://xray.us-east-1.amazonaws.com/Traces"))
    assert isinstance(error, Unreachable)
    assert "xray.us-east-1.amazonaws.com" in error.message and "closed" in error.message
    assert error.fix == "Check the network, the region (--region) and any --endpoint-url / AWS_ENDPOINT_URL."


def test_a_timeout_talking_to_aws_does_not_mention_the_local_stack() -> None:
    error = translate(bx.ConnectTimeoutError(endpoint_url="https://lambda.eu-west-1.amazonaws.com/x"))
    assert isinstance(error, Unreachable) and "Timed out" in error.message
    assert "local" not in (error.fix or "") and "--region" in (error.fix or "")


def test_non_aws_errors_are_left_alone() -> None:
    assert translate(ValueError("x")) is None


def test_a_request_botocore_refuses_to_send_is_a_usage_error() -> None:
    client: Any = boto3.client(
        "lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with pytest.raises(UsageError) as caught, translate_errors():
        client.invoke(FunctionName="")
    assert caught.value.message == (
        "AWS would refuse the request: "
        "Invalid length for parameter FunctionName, value: 0, valid min length: 1"
    )
    assert isinstance(caught.value.__cause__, bx.ParamValidationError)
