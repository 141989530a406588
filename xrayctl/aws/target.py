"""Which function `invoke` calls (the one named, the one a SAM stack deploys, or the local stack's), and the
bucket its event defaults to.

The function's event is `{"bucket_name", "bucket_key", "body"}` (the AWS X-Ray guide's own contract, which a
handler reads as `event['bucket_name']`), and `invoke` sends all three. The bucket, when `--bucket` does not
name one, is the function's own default, its `BUCKET_NAME` variable: the local stack's bucket, a SAM stack's
`BucketName` output, or else the function's configuration (`lambda:GetFunctionConfiguration`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from xrayctl.aws.errors import translate_errors
from xrayctl.errors import ConfigError, Throttled, Unreachable, UsageError, XrayctlError

_FUNCTION_ARN = re.compile(
    r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9$_-]+)?"
)
BUCKET_VARIABLE = "BUCKET_NAME"
_GIVE_BUCKET = "Give the bucket with --bucket NAME (or the whole event with --payload)."


@dataclass(frozen=True)
class Target:
    """The function to invoke, and the bucket its event defaults to (None: not asked for, or not known, and
    then `warnings` says why)."""

    function_name: str
    bucket: str | None = None
    warnings: tuple[str, ...] = ()


def resolve_target(
    name: str | None,
    stack: str | None,
    *,
    local: tuple[str, str] | None,
    cloudformation: Callable[[], Any],
    lambda_client: Callable[[], Any],
    need_bucket: bool,
    output: str = "FunctionName",
) -> Target:
    """The function to invoke: `name`, the function output of the SAM `stack` (read through the client that
    `cloudformation()` returns; the output named `output` first), or with --local the local stack's
    (`local`: its function and bucket). With `need_bucket`, the bucket the event defaults to as well (see
    the module docstring)."""
    check_choice(name, stack, local=local is not None)
    if local is not None:
        local_function, local_bucket = local
        return Target(name or local_function, local_bucket)
    if stack:
        outputs = _stack_outputs(cloudformation(), stack)
        function = _function_output(outputs, stack, output)
        bucket = _bucket_output(outputs) if need_bucket else None
        if need_bucket and bucket is None:
            return function_bucket(lambda_client(), function)
        return Target(function, bucket)
    if name:
        return function_bucket(lambda_client(), name) if need_bucket else Target(name)
    raise UsageError("no function given.", "Pass --function NAME, set XRAYCTL_FUNCTION, or --stack STACK.")


# The outputs of xrayctl's template that name the function of each SDK (`--sdk`).
_SDK_OUTPUTS = {
    "xray": ("FunctionName",),
    "otel": ("OtelFunctionName",),
    "both": ("FunctionName", "OtelFunctionName"),
}


def resolve_targets(
    sdk: str | None,
    name: str | None,
    stack: str | None,
    *,
    local: tuple[str, str] | None,
    cloudformation: Callable[[], Any],
    lambda_client: Callable[[], Any],
    need_bucket: bool,
) -> list[Target]:
    """The functions to invoke: one, or with `sdk` "both" the X-Ray SDK function and its OpenTelemetry twin
    (from the stack's two outputs, or the local stack's twin), each with its default bucket."""
    from xrayctl.local.options import otel_twin_name

    if sdk == "both" and local is None and not stack:
        raise UsageError(
            "--sdk both invokes the two functions of xrayctl's stack.", "Give --stack STACK, or use --local."
        )
    resolve = functools.partial(
        resolve_target,
        name,
        stack,
        local=local,
        cloudformation=cloudformation,
        lambda_client=lambda_client,
        need_bucket=need_bucket,
    )
    if stack and local is None:
        return [resolve(output=key) for key in _SDK_OUTPUTS[sdk or "xray"]]
    first = resolve()
    if sdk != "both":
        return [first]
    return [first, Target(otel_twin_name(first.function_name), first.bucket)]


def check_choice(name: str | None, stack: str | None, *, local: bool) -> None:
    """Refuse options that name the function twice, or a stack with the local stack, before anything runs."""
    if name and stack:
        raise UsageError("--function and --stack both name the function.", "Give one of them.")
    if stack and local:
        raise UsageError(
            "--stack reads a CloudFormation stack in AWS, and --local invokes the local function.",
            "Leave out --stack (or --local).",
        )


def function_bucket(client: Any, function_name: str) -> Target:
    """The function with its default bucket: its BUCKET_NAME variable, from its configuration.

    A configuration that cannot be read (lambda:GetFunctionConfiguration denied, an endpoint without that
    operation) leaves the bucket unknown, with a warning: the event then goes without `bucket_name`, and a
    function that has a default (xrayctl's does) still works, as it did before the bucket was filled in."""
    try:
        with translate_errors():
            configuration = client.get_function_configuration(FunctionName=function_name)
    except (ConfigError, Unreachable, Throttled):
        raise  # Invoke, next, would fail the same way: say it once
    except XrayctlError as failure:
        warning = (
            f"The event has no bucket_name: the function's {BUCKET_VARIABLE} could not be read with "
            f"lambda:GetFunctionConfiguration ({failure.message.rstrip('.')}), so the function's own default "
            f"applies. {_GIVE_BUCKET}"
        )
        return Target(function_name, None, (warning,))
    variables = (configuration.get("Environment") or {}).get("Variables") or {}
    bucket = variables.get(BUCKET_VARIABLE)
    if not bucket:
        raise UsageError(
            f"Function {function_name!r} has no {BUCKET_VARIABLE} variable: the event has no bucket to "
            "default to.",
            _GIVE_BUCKET,
        )
    return Target(function_name, str(bucket))


def function_from_stack(client: Any, stack_name: str, output: str = "FunctionName") -> str:
    """The function a (SAM) stack deploys, from its outputs: the output named `output` (xrayctl's template
    has FunctionName and OtelFunctionName), else one named like `FunctionName`, else the one output whose
    value is a Lambda function ARN."""
    return _function_output(_stack_outputs(client, stack_name), stack_name, output)


def _stack_outputs(client: Any, stack_name: str) -> list[dict[str, Any]]:
    with translate_errors():
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    return [output for stack in stacks for output in stack.get("Outputs", [])]


def _function_output(outputs: Sequence[dict[str, Any]], stack_name: str, output: str) -> str:
    exact = [o for o in outputs if o["OutputKey"] == output]
    if exact:
        return str(exact[0]["OutputValue"])
    named = [o for o in outputs if "function" in o["OutputKey"].lower() and "name" in o["OutputKey"].lower()]
    arns = [o for o in outputs if _FUNCTION_ARN.fullmatch(o.get("OutputValue", ""))]
    for candidates in (named, arns):
        if len(candidates) == 1:
            return str(candidates[0]["OutputValue"])
        if len(candidates) > 1:
            keys = ", ".join(o["OutputKey"] for o in candidates)
            raise UsageError(
                f"Stack {stack_name!r} has several function outputs ({keys}).", "Pass --function NAME."
            )
    raise UsageError(
        f"Stack {stack_name!r} has no output naming a Lambda function.",
        "Pass --function NAME, or give the template an output such as `FunctionName: !Ref Function`.",
    )


def _bucket_output(outputs: Sequence[dict[str, Any]]) -> str | None:
    """The stack's one output named like `BucketName` (function/template.yaml has it), if there is one."""
    named = [
        o
        for o in outputs
        if "bucket" in o["OutputKey"].lower() and "name" in o["OutputKey"].lower() and o.get("OutputValue")
    ]
    return str(named[0]["OutputValue"]) if len(named) == 1 else None
