"""Which function `invoke` calls: the one named, the one a SAM stack deploys, or the local stack's."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from xrayctl.aws.errors import translate_errors
from xrayctl.errors import UsageError

_FUNCTION_ARN = re.compile(
    r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9$_-]+)?"
)


def resolve_function(
    name: str | None, stack: str | None, *, local_function: str | None, cloudformation: Callable[[], Any]
) -> str:
    """The function to invoke: `name`, the function output of the SAM `stack` (read through the client that
    `cloudformation()` returns), or the local stack's function (`local_function`, with --local)."""
    if name and stack:
        raise UsageError("--function and --stack both name the function.", "Give one of them.")
    if stack and local_function:
        raise UsageError(
            "--stack reads a CloudFormation stack in AWS, and --local invokes the local function.",
            "Leave out --stack (or --local).",
        )
    if stack:
        return function_from_stack(cloudformation(), stack)
    if name or local_function:
        return str(name or local_function)
    raise UsageError("no function given.", "Pass --function NAME, set XRAYCTL_FUNCTION, or --stack STACK.")


def function_from_stack(client: Any, stack_name: str) -> str:
    """The function a (SAM) stack deploys, from its outputs: an output named like `FunctionName` first,
    else the one output whose value is a Lambda function ARN."""
    with translate_errors():
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = [output for stack in stacks for output in stack.get("Outputs", [])]
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
