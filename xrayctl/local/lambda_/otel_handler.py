"""The handler a sandbox runs under the ADOT layer's wrapper (`_HANDLER`), standing in for its `otel_wrapper`.

Importing it instruments the Lambda handler named in `ORIG_HANDLER` (opentelemetry-instrumentation-aws-lambda:
one SERVER span per invocation, flushed before the result goes back, so Lambda's freeze loses nothing), then
imports that handler: the runtime client gets the instrumented function as `lambda_handler`. The span's
parent is the X-Ray trace header Lambda passes in `_X_AMZN_TRACE_ID` (`Root=...;Parent=<Invocation>`),
read through the configured propagators as the layer's wrapper reads it: a trace header in an API Gateway
event's headers is replaced by Lambda's own, which is the one the function's spans must nest under.
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import Any

from opentelemetry.context import Context
from opentelemetry.instrumentation.aws_lambda import AwsLambdaInstrumentor
from opentelemetry.propagate import get_global_textmap
from opentelemetry.trace import get_current_span

_TRACE_HEADER = "X-Amzn-Trace-Id"


def lambda_context(event: Any) -> Context:
    """The parent context of an invocation: the event's HTTP headers, with Lambda's trace header in them."""
    headers = event.get("headers") if isinstance(event, dict) else None
    carrier = (
        {k: v for k, v in headers.items() if k.lower() != _TRACE_HEADER.lower()}
        if isinstance(headers, dict)
        else {}
    )
    lambda_header = os.environ.get("_X_AMZN_TRACE_ID")
    if lambda_header:
        carrier[_TRACE_HEADER] = lambda_header
    context = get_global_textmap().extract(carrier)
    return context if get_current_span(context).get_span_context().is_valid else Context()


def _original_handler() -> Any:
    path = os.environ.get("ORIG_HANDLER", "")
    module, _, name = path.rpartition(".")
    if not module:
        raise ImportError(f"ORIG_HANDLER {path!r} is not MODULE.FUNCTION")
    return getattr(import_module(module.replace("/", ".")), name)


AwsLambdaInstrumentor().instrument(event_context_extractor=lambda_context)
lambda_handler = _original_handler()
