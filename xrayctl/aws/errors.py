"""What botocore's failures mean to a user: each botocore exception becomes an `xrayctl.errors` type with a
sentence that says how to fix it (`translate`, `translate_errors`).

The fix depends on what was called: against the local stack (`advising_local`, which `backend.connect` sets
for the length of a local block) there is no region, profile or stack to check, and saying so would send the
user the wrong way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from xrayctl.errors import AccessDenied, ConfigError, Throttled, Unreachable, UsageError, XrayctlError

# The IAM action behind each operation xrayctl calls: what an AccessDenied tells the user to grant.
IAM_ACTIONS = {
    "BatchGetTraces": "xray:BatchGetTraces",
    "GetTraceSummaries": "xray:GetTraceSummaries",
    "GetTraceSegmentDestination": "xray:GetTraceSegmentDestination",
    "GetServiceGraph": "xray:GetServiceGraph",
    "GetTraceGraph": "xray:GetTraceGraph",
    # Transaction Search: reading traces from CloudWatch Logs, and how many of them are indexed.
    "StartTraceRetrieval": "xray:StartTraceRetrieval",
    "ListRetrievedTraces": "xray:ListRetrievedTraces",
    "CancelTraceRetrieval": "xray:CancelTraceRetrieval",
    "GetIndexingRules": "xray:GetIndexingRules",
    "Invoke": "lambda:InvokeFunction",
    "GetFunctionConfiguration": "lambda:GetFunctionConfiguration",
    "DescribeStacks": "cloudformation:DescribeStacks",
}
_DENIED_CODES = {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "AuthorizationError"}
_REJECTED_CREDENTIAL_CODES = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "AuthFailure",
}
_THROTTLE_CODES = {
    "ThrottledException",
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
}
_BAD_REQUEST_CODES = {
    "InvalidRequestException",
    "InvalidParameterValueException",
    "InvalidRequestContentException",
    "ValidationException",
    "ValidationError",
}
# What to do about throttling depends on what was throttled: X-Ray's read quotas are per account and region,
# Lambda's limit is the function's (or the account's) concurrency.
_THROTTLE_FIXES = {
    "BatchGetTraces": "Wait a minute and run it again, or ask for fewer trace ids at a time.",
    "GetTraceSummaries": "Wait a minute and run it again, or ask for a shorter time window.",
    "StartTraceRetrieval": "Wait a minute and run it again, or ask for fewer trace ids at a time.",
    "ListRetrievedTraces": "Wait a minute and run it again, or give it a longer --timeout.",
    "Invoke": (
        "Lambda is limiting this function's invocations (its concurrency or invocation rate): try again "
        "later, or raise the function's reserved concurrency or the account's concurrency quota."
    ),
}
CONFIG_FIX = "Check the AWS_* environment variables and the profile's settings in ~/.aws/config."
_CREDENTIALS_FIX = (
    "Configure credentials: run `aws configure` (or `aws sso login`), set AWS_PROFILE or pass --profile, "
    "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
)


class ResourceNotFound(UsageError):
    """A name the user gave (a function, a stack) does not exist where we looked."""


_LOCAL: ContextVar[bool] = ContextVar("xrayctl_local_target", default=False)


@contextmanager
def advising_local() -> Iterator[None]:
    """For the length of the block, failures are those of the local stack, and their fixes say so."""
    token = _LOCAL.set(True)
    try:
        yield
    finally:
        _LOCAL.reset(token)


def elsewhere() -> str:
    """Where a trace that is not found may have been recorded instead, for a not-found message."""
    if _LOCAL.get():
        return "or it was recorded in another local store (XRAYCTL_HOME) or before a `xrayctl local reset`"
    return "or it was recorded in another region or account (check --region and --profile)"


def translate(exc: BaseException, *, local: bool | None = None) -> XrayctlError | None:
    """The xrayctl error that says what `exc` means and how to fix it; None if it is not an AWS failure.
    `local`: whether the local stack was called (default: whether inside `advising_local`)."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.ClientError):
        return _translate_client_error(exc, _LOCAL.get() if local is None else local)
    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError)):
        return ConfigError(f"No usable AWS credentials: {exc}.", _CREDENTIALS_FIX)
    if isinstance(exc, (bx.CredentialRetrievalError, bx.TokenRetrievalError, bx.SSOError)):
        return ConfigError(
            f"AWS credentials could not be loaded: {exc}",
            "Refresh them (`aws sso login` for SSO profiles) or check the profile's settings.",
        )
    if isinstance(exc, bx.InvalidRegionError):
        return ConfigError(
            f"{exc.kwargs.get('region_name')!r} is not an AWS region name.",
            "Give a region such as us-east-1 with --region, AWS_REGION or the profile's region.",
        )
    if isinstance(exc, bx.ParamValidationError):
        # botocore checks a request against the service model before sending it: a value the user gave
        # (an empty name, a wrong type) that AWS would refuse.
        report = "; ".join(line.strip() for line in str(exc.kwargs.get("report", exc)).splitlines())
        return UsageError(
            f"AWS would refuse the request: {report}", "Check the values given on the command line."
        )
    if isinstance(exc, _config_error_types(bx)):
        return ConfigError(f"The AWS configuration is not valid: {exc}", CONFIG_FIX)
    if isinstance(exc, bx.NoRegionError):
        return ConfigError("No AWS region is set.", "Pass --region or set AWS_REGION.")
    if isinstance(exc, bx.ProfileNotFound):
        return ConfigError(
            f"{exc}.", "Check the name (--profile or AWS_PROFILE) with `aws configure list-profiles`."
        )
    if isinstance(exc, (bx.ConnectionError, bx.HTTPClientError)):
        return _translate_connection_error(exc)
    return None


def _config_error_types(bx: Any) -> tuple[type[Exception], ...]:
    """botocore's errors for a setting it cannot use (env var, profile, or an option), as it reads them."""
    return (
        bx.InvalidConfigError,  # and InfiniteLoopConfigError: a profile whose source_profile loops
        bx.ConfigParseError,
        bx.InvalidRetryConfigurationError,  # AWS_RETRY_MODE, AWS_MAX_ATTEMPTS below 1
        bx.InvalidDefaultsMode,
        bx.InvalidSTSRegionalEndpointsConfigError,
        bx.InvalidChecksumConfigError,
        bx.InvalidEndpointConfigurationError,
        bx.InvalidEndpointDiscoveryConfigurationError,
        bx.InvalidIMDSEndpointError,
        bx.InvalidIMDSEndpointModeError,
        bx.InvalidProxiesConfigError,
        bx.UnknownSignatureVersionError,
        bx.UnknownRegionError,
        bx.UnknownFIPSEndpointError,
        bx.EndpointResolutionError,  # FIPS or dual-stack asked where no such endpoint exists
    )


@contextmanager
def translate_errors() -> Iterator[None]:
    """Raise botocore failures inside the block as xrayctl errors, the original chained for --debug."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        translated = translate(exc)
        if translated is None:
            raise
        raise translated from exc


def _translate_client_error(exc: Any, local: bool) -> XrayctlError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    message = str(error.get("Message") or exc)
    operation = str(exc.operation_name)
    action = IAM_ACTIONS.get(operation, f"the permission for {operation}")
    if code in _DENIED_CODES:
        return AccessDenied(
            f"Access denied to {operation}: {message}",
            f"Allow {action} for this identity (check with `aws sts get-caller-identity`).",
        )
    if code in _REJECTED_CREDENTIAL_CODES:
        return AccessDenied(
            f"AWS rejected the credentials for {operation} ({code}): {message}",
            "The credentials are expired or invalid: refresh them (`aws sso login`, `aws configure`) "
            "or pick another --profile.",
        )
    metadata = exc.response.get("ResponseMetadata", {})
    attempts = metadata.get("RetryAttempts", 0) + 1
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    status = metadata.get("HTTPStatusCode")
    # Without an AWS error code (a load balancer's or a proxy's page), botocore's code is the status itself.
    bare = code == str(status)
    if code in _THROTTLE_CODES or status == 429:
        return Throttled(
            f"AWS throttled {operation} ({f'HTTP {status}' if bare else code}) after {tries}.",
            _THROTTLE_FIXES.get(operation, "Wait a minute and run it again."),
        )
    # A 5xx that outlived the retries is the endpoint failing, as a timeout is. Not for Invoke: Lambda's 5xx
    # codes (ENILimitReachedException, KMSAccessDeniedException, ...) name the function's own problem.
    if isinstance(status, int) and status >= 500 and operation != "Invoke":
        # A bare status comes with a page (a proxy's HTML) rather than a message: it is left out of the line.
        said = f"{_status_phrase(status)}, no AWS error in the answer" if bare else message
        return Unreachable(
            f"{operation} failed at the endpoint ({f'HTTP {status}' if bare else f'{code}, HTTP {status}'}) "
            f"after {tries}: {said}",
            "The service, or a proxy on the way, is failing: try again in a minute, and check any "
            "--endpoint-url / AWS_ENDPOINT_URL if it lasts.",
        )
    if bare and status == 408:  # a proxy's or a load balancer's timeout, as a read timeout is
        return Unreachable(
            f"{operation} timed out on the way (HTTP 408 Request Timeout, no AWS error in the answer).",
            "Try again; if it lasts, check the network and any HTTPS_PROXY or --endpoint-url.",
        )
    if bare and isinstance(status, int) and 400 <= status < 500:
        # AWS names every 4xx it sends. A bare one (and its HTML, kept out of the line) comes from a proxy,
        # a firewall or a gateway on the way, or from a server that is not the AWS API at all: a setting of
        # this machine to fix, not a permission.
        heard = f"HTTP {status} {_status_phrase(status)}, no AWS error in the answer"
        if status in (401, 403, 407):
            return ConfigError(
                f"{operation} was refused before it reached AWS ({heard}): a proxy, firewall or gateway "
                "on the way said no.",
                "Check HTTPS_PROXY and NO_PROXY (a proxy that asks for credentials, HTTP 407, takes them "
                "as http://user:password@host:port) and any --endpoint-url / AWS_ENDPOINT_URL.",
            )
        return ConfigError(
            f"The endpoint answered {operation} with {heard}: it is not the AWS API, or a proxy on the way "
            "answered for it.",
            "Check --endpoint-url, AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>, and HTTPS_PROXY.",
        )
    if code == "ResourceNotFoundException" and operation == "Invoke":
        if local:
            return ResourceNotFound(
                f"No such function in the local stack: {message}",
                "The local stack runs one function: leave out --function (and XRAYCTL_FUNCTION) to invoke "
                "it, or give --code and --handler to run another.",
            )
        return ResourceNotFound(
            f"No such Lambda function: {message}",
            "Check the function name or ARN and the region (--region), or take it from --stack.",
        )
    if code in _BAD_REQUEST_CODES:
        return UsageError(f"{operation} refused the request: {message}", _bad_request_fix(operation))
    return XrayctlError(f"{operation} failed ({code}): {message}", None)


def _status_phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "(no standard name)"


def _bad_request_fix(operation: str) -> str:
    if operation == "GetTraceSummaries":
        return "Check the --filter expression and the time window."
    if operation == "DescribeStacks":
        return "Check the stack name and the region (--region)."
    return "Check the values given on the command line."


def _translate_connection_error(exc: Any) -> Unreachable:
    from botocore import exceptions as bx

    endpoint = exc.kwargs.get("endpoint_url") or exc.kwargs.get("proxy_url") or "the AWS endpoint"
    if isinstance(exc, (bx.ConnectTimeoutError, bx.ReadTimeoutError)):
        what = f"Timed out talking to {endpoint}."
    elif isinstance(exc, bx.ConnectionClosedError):
        what = f"{endpoint} closed the connection."
    else:
        what = f"Could not connect to {endpoint}."
    if _is_loopback(endpoint):
        # Only a server on this machine can be the local stack; for AWS the advice would mislead.
        fix = (
            "Check that the server on this machine is running (for --local, the local stack: "
            "`xrayctl local serve`) and any --endpoint-url / AWS_ENDPOINT_URL."
        )
    else:
        fix = "Check the network, the region (--region) and any --endpoint-url / AWS_ENDPOINT_URL."
    refused = isinstance(exc, (bx.EndpointConnectionError, bx.SSLError, bx.ProxyConnectionError))
    return Unreachable(what, fix, refused=refused)


def _is_loopback(url: str) -> bool:
    import ipaddress
    from urllib.parse import urlsplit

    try:
        host = urlsplit(url).hostname
        return host == "localhost" or (host is not None and ipaddress.ip_address(host).is_loopback)
    except ValueError:  # not a URL, or a host name
        return False
