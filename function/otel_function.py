"""The OpenTelemetry twin of lambda_function.py: the same event, the same S3 round trip, the same result.

For the ADOT Lambda layer (`AWSOpenTelemetryDistroPython`, `AWS_LAMBDA_EXEC_WRAPPER=/opt/otel-instrument`):
the layer's wrapper instruments botocore before this module is imported, so every S3 call is a CLIENT span
(an `S3` subsegment in X-Ray), and the Lambda instrumentation opens the function's SERVER span under the
`Root=...;Parent=...` that Lambda passes in `_X_AMZN_TRACE_ID`. Here, as in lambda_function.py, the PutObject
sits in a span `put_object` and the GetObject in a decorated span `get_object`; their attributes
`put_response` / `get_response` are named in `aws.xray.annotations`, which makes X-Ray index them as
annotations (the awsxrayexporter's rule, which X-Ray's OTLP endpoint follows).

The event contract, the checks and the results are lambda_function.py's, word for word (that file stays as
the AWS X-Ray guide has it, and importing it would patch boto3 with the X-Ray SDK): see function/README.md.
What differs is only how a failure is recorded. An exception leaving a span is recorded on it as an
`exception` event with status ERROR, which X-Ray shows as a fault with its cause; a refused event gets a span
`parse_event` recorded the same way (OpenTelemetry has no client-error status for a span that is not an HTTP
call, so X-Ray shows it as a fault where the X-Ray SDK function marks an error).
"""

from __future__ import annotations

import logging
import os
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# 256 KiB: a text payload for a tracing demo, far inside Lambda's 6 MB synchronous payload limit, and small
# enough to hold twice in the smallest memory setting.
MAX_BODY_BYTES = 256 * 1024
MAX_KEY_BYTES = 1024  # S3's own limit on an object key, in UTF-8 bytes
# A 6 MB event of one-letter unknown fields would otherwise make a message three times its size: over Lambda's
# 6 MB response limit, and far over X-Ray's 64 KB segment limit for the cause that records it.
MAX_LISTED_FIELDS = 5
MAX_SHOWN_NAME = 64

_BUCKET_CHARS = re.compile(r"[a-z0-9][a-z0-9.-]*[a-z0-9]")
_IPV4_LIKE = re.compile(r"\d+\.\d+\.\d+\.\d+")
# Names S3 reserves for access points, Object Lambda, directory buckets and table buckets.
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)
ANNOTATIONS = "aws.xray.annotations"  # the attribute naming the attributes X-Ray indexes as annotations

# Created once per container: warm invocations reuse its connections. Short timeouts and a few standard
# retries, so that an unreachable S3 comes back as an error result well before the function's own timeout.
s3: S3Client = boto3.client(
    "s3",
    config=Config(connect_timeout=3, read_timeout=5, retries={"mode": "standard", "max_attempts": 3}),
)


@dataclass(frozen=True)
class Request:
    """A validated event: where to write, and the bytes to write."""

    bucket: str
    key: str
    body: bytes


class InvalidEvent(ValueError):
    """The event cannot be acted on; the message names every problem found, field by field."""


def lambda_handler(event: object, context: object) -> dict[str, Any]:
    started = time.time_ns()
    try:
        request = parse_event(event, os.environ.get("BUCKET_NAME"))
    except InvalidEvent as exc:
        _record_refusal(exc, started)
        return {"ok": False, "error": {"type": "InvalidEvent", "message": str(exc)}}

    put_status: int | None = None
    try:
        put_status = put_object_into_s3(request)
        get_status, data = get_object_from_s3(request.bucket, request.key)
    except ClientError as exc:
        log.warning("S3 %s failed: %s", exc.operation_name, exc)
        return _s3_failure(request, put_status, _client_error(exc))
    except BotoCoreError as exc:
        # No answer from S3 at all (unreachable, timed out, no credentials): botocore names the cause.
        log.warning("S3 request failed: %s", exc)
        error = {"type": "S3RequestFailed", "code": type(exc).__name__, "message": str(exc)}
        return _s3_failure(request, put_status, error)

    return {
        "ok": True,
        "bucket": request.bucket,
        "key": request.key,
        "put_status": put_status,
        "get_status": get_status,
        "bytes_written": len(request.body),
        "bytes_read": len(data),
        "round_trip_ok": data == request.body,
    }


def parse_event(event: object, default_bucket: str | None) -> Request:
    """Check the event against S3's rules and our body limit; raise InvalidEvent naming every problem."""
    if not isinstance(event, dict):
        raise InvalidEvent(f"the event must be a JSON object with the fields {', '.join(_CHECKS)}")
    values = dict(event)
    if "bucket_name" not in values and default_bucket:
        values["bucket_name"] = default_bucket

    # An unknown field is most likely a misspelt one: acting without it would write somewhere unintended.
    unknown = [name for name in values if name not in _CHECKS]
    problems = [f"{_shown(name)}: unknown field" for name in unknown[:MAX_LISTED_FIELDS]]
    if len(unknown) > MAX_LISTED_FIELDS:
        problems.append(f"{len(unknown) - MAX_LISTED_FIELDS} more unknown fields")
    for name, check in _CHECKS.items():
        value = values.get(name)
        if name not in values:
            problems.append(f"{name}: missing" + _MISSING_HINTS.get(name, ""))
        elif not isinstance(value, str):
            problems.append(f"{name}: must be a string, not {_json_type(value)}")
        elif problem := check(value):
            problems.append(f"{name}: {problem}")
    if problems:
        raise InvalidEvent("; ".join(problems))
    return Request(bucket=values["bucket_name"], key=values["bucket_key"], body=values["body"].encode())


def put_object_into_s3(request: Request) -> int:
    """PutObject in a span opened here; returns the HTTP status."""
    # start_as_current_span records an exception leaving the block and sets the span's status to ERROR.
    with tracer.start_as_current_span("put_object") as span:
        response = s3.put_object(
            Bucket=request.bucket,
            Key=request.key,
            Body=request.body,
            ContentType="text/plain; charset=utf-8",
        )
        status = response["ResponseMetadata"]["HTTPStatusCode"]
        _annotate(span, "put_response", status)
    return status


@tracer.start_as_current_span("get_object")
def get_object_from_s3(bucket: str, key: str) -> tuple[int, bytes]:
    """GetObject in a decorated span; returns the HTTP status and the object's bytes."""
    response = s3.get_object(Bucket=bucket, Key=key)
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    _annotate(trace.get_current_span(), "get_response", status)
    # The object may have been replaced since we wrote it: read no more than a body we could have written,
    # so that a large one cannot exhaust the function's memory (it still fails the round-trip check).
    with response["Body"] as stream:
        data = stream.read(MAX_BODY_BYTES + 1)
    return status, data


def _record_refusal(exc: InvalidEvent, started: int) -> None:
    """A `parse_event` span, from `started` (epoch ns) to now, with `exc` recorded and status ERROR."""
    # Only a refused event gets one: a successful trace keeps the same shape as the X-Ray SDK function's.
    span = tracer.start_span("parse_event", start_time=started)
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, f"InvalidEvent: {exc}"))
    span.end()


def _annotate(span: trace.Span, key: str, value: int) -> None:
    # Without a recording span (no tracer provider configured) set_attribute does nothing.
    span.set_attribute(key, value)
    span.set_attribute(ANNOTATIONS, [key])


def _bucket_name_problem(name: str) -> str | None:
    rules = "3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit"
    if not 3 <= len(name) <= 63 or not _BUCKET_CHARS.fullmatch(name):
        return f"not a valid S3 bucket name (must be {rules})"
    if ".." in name:
        return "not a valid S3 bucket name (must not contain two adjacent dots)"
    if _IPV4_LIKE.fullmatch(name):
        return "not a valid S3 bucket name (must not look like an IP address)"
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return "not a valid S3 bucket name (uses a prefix or suffix S3 reserves)"
    return None


def _key_problem(key: str) -> str | None:
    if not key:
        return "must not be empty"
    for position, char in enumerate(key):
        # Cc: C0 and C1 controls and DEL; Cs: lone surrogates, which have no UTF-8 encoding.
        kind = _FORBIDDEN_IN_KEY.get(unicodedata.category(char))
        if kind:
            return f"must not contain {kind} (U+{ord(char):04X} at position {position})"
    if (size := len(key.encode())) > MAX_KEY_BYTES:
        return f"must be at most {MAX_KEY_BYTES} bytes in UTF-8, not {size}"
    return None


def _body_problem(body: str) -> str | None:
    if not body:
        return "must not be empty"
    try:
        size = len(body.encode())
    except UnicodeEncodeError as exc:
        return f"must be valid Unicode text (unpaired surrogate at position {exc.start})"
    if size > MAX_BODY_BYTES:
        return f"must be at most {MAX_BODY_BYTES} bytes in UTF-8, not {size}"
    return None


_CHECKS: dict[str, Callable[[str], str | None]] = {
    "bucket_name": _bucket_name_problem,
    "bucket_key": _key_problem,
    "body": _body_problem,
}
_MISSING_HINTS = {"bucket_name": ", and the function has no BUCKET_NAME default"}
_FORBIDDEN_IN_KEY = {"Cc": "a control character", "Cs": "an unpaired surrogate"}


def _shown(name: object) -> str:
    text = str(name)
    return text if len(text) <= MAX_SHOWN_NAME else f"{text[:MAX_SHOWN_NAME]}... ({len(text)} characters)"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _client_error(exc: ClientError) -> dict[str, Any]:
    error = exc.response.get("Error", {})
    return {
        "type": "S3Error",
        "operation": exc.operation_name,
        "code": error.get("Code", "Unknown"),
        "status": exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
        "message": error.get("Message") or str(exc),
    }


def _s3_failure(request: Request, put_status: int | None, error: dict[str, Any]) -> dict[str, Any]:
    # put_status tells the caller whether the object was written before the failure.
    return {
        "ok": False,
        "bucket": request.bucket,
        "key": request.key,
        "put_status": put_status,
        "error": error,
    }
