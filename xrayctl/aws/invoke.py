"""Invoke the Lambda function under a trace id we choose, so its trace can be fetched right after.

The id goes out as `X-Amzn-Trace-Id: Root=<id>;Sampled=1` on the Invoke request. botocore has no per-call
headers, so a handler on the client's `before-call.lambda.Invoke` event adds it, reading the value from a
context variable that `invoke` sets for the length of one call: other calls, and other threads using the same
client, are untouched. Lambda may record the invocation under another root (a function with tracing off keeps
no trace; a proxy may rewrite it); when its answer names one, that root wins and the result says so.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from xrayctl.aws.errors import translate_errors
from xrayctl.errors import InputError, InvalidTraceId
from xrayctl.trace.ids import new_trace_id, normalize_trace_id, parse_trace_header

_TRACE_HEADER: ContextVar[str | None] = ContextVar("xrayctl_trace_header", default=None)
_HANDLER_ID = "xrayctl-trace-header"


@dataclass(frozen=True)
class InvocationResult:
    function_name: str
    status_code: int
    function_error: str | None  # "Unhandled" / "Handled" when the function failed, as X-Amz-Function-Error
    payload: bytes
    log_tail: str | None  # the last 4 KB of the invocation's log, when asked for
    trace_id: str  # the trace the invocation is recorded under
    request_id: str | None
    executed_version: str | None
    warnings: list[str] = field(default_factory=list)
    duration_ms: float = 0.0  # measured here: request sent to response read
    # From the log tail's REPORT line, when there is one: the handler's run and, on a cold start only, the
    # function's initialisation (seconds). Lambda says which invocation was cold, not the order of the calls.
    report: Report | None = None

    @property
    def cold_start(self) -> bool | None:
        """Whether Lambda initialised the function for this invocation (None: no REPORT line to say)."""
        return None if self.report is None else self.report.init_duration is not None


@dataclass(frozen=True)
class Report:
    """What an invocation's REPORT line says, in seconds."""

    duration: float | None  # the handler's run (`Duration`)
    init_duration: float | None  # the function's initialisation (`Init Duration`), on a cold start only


# Lambda's REPORT line: `REPORT RequestId: <id>` then tab-separated `Name: value unit` fields.
_REPORT_LINE = re.compile(r"^REPORT RequestId: (\S+)(.*)$", re.MULTILINE)
_REPORT_FIELD = re.compile(r"(?:^|\t)\s*([A-Za-z][A-Za-z ]*?): ([0-9]+(?:\.[0-9]+)?) ms")


def read_report(log_tail: str | None, request_id: str | None) -> Report | None:
    """The REPORT line of the invocation `request_id` in `log_tail` (the last one when the id is unknown)."""
    if not log_tail:
        return None
    lines = [m for m in _REPORT_LINE.finditer(log_tail) if request_id is None or m.group(1) == request_id]
    if not lines:
        return None
    fields = {name: float(value) / 1000 for name, value in _REPORT_FIELD.findall(lines[-1].group(2))}
    return Report(duration=fields.get("Duration"), init_duration=fields.get("Init Duration"))


def payload_text(payload: bytes | str) -> str:
    """The payload as text: Lambda payloads are UTF-8 JSON; undecodable bytes show as U+FFFD."""
    return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else payload


def parse_payload(text: str) -> tuple[bool, Any]:
    """(True, value) when `text` is JSON, else (False, None); deep nesting counts as not JSON."""
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError):
        return False, None


def build_event(bucket: str | None, key: str | None, body: str | None) -> dict[str, str]:
    """The function's event; a field left None is left out, so the function applies its own default."""
    fields = {"bucket_name": bucket, "bucket_key": key, "body": body}
    return {name: value for name, value in fields.items() if value is not None}


def encode_event(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode("utf-8")


def load_payload(text: str) -> bytes:
    """The Invoke payload from `--payload`: inline JSON, `@path` for a file's, `@-` for standard input's, at
    most `PAYLOAD_LIMIT` bytes (Lambda's); InputError if it cannot be read, is larger, or is not JSON. A file
    in UTF-16 or UTF-32 is sent as UTF-8, which is what Lambda reads."""
    from xrayctl.text import inputs

    fix = "Send a smaller event: Lambda takes at most 6 MB in a synchronous invocation."
    if text.startswith("@"):
        path = text[1:]
        source = "standard input" if path == "-" else path
        what = f"--payload @{path}"
        data = inputs.read_limited(path, inputs.PAYLOAD_LIMIT, what=what, fix=fix)
    else:
        source, what = "--payload", "--payload"
        data = text.encode("utf-8", errors="surrogateescape")
        inputs.check_size(data, inputs.PAYLOAD_LIMIT, what=what, fix=fix)
    decoded = inputs.json_text(data, what=what)
    try:
        json.loads(decoded)
    except ValueError as exc:
        raise InputError(f"The payload in {source} is not JSON: {exc}.", "Give a JSON document.") from exc
    except RecursionError:
        raise InputError(
            f"The payload in {source} nests too deeply to check.", "Give a JSON document less deep."
        ) from None
    utf8 = decoded.encode("utf-8")
    return data if utf8 == data else utf8


def invoke(
    client: Any,
    function_name: str,
    payload: bytes,
    *,
    trace_id: str | None = None,
    log_tail: bool = True,
) -> InvocationResult:
    """Invoke synchronously under `trace_id` (a new one by default) and read the whole answer."""
    sent_id = trace_id or new_trace_id()
    client.meta.events.register_first("before-call.lambda.Invoke", _add_trace_header, unique_id=_HANDLER_ID)
    token = _TRACE_HEADER.set(f"Root={sent_id};Sampled=1")
    started = time.perf_counter()
    try:
        with translate_errors():
            response = client.invoke(
                FunctionName=function_name, Payload=payload, LogType="Tail" if log_tail else "None"
            )
            body = response["Payload"].read()
    finally:
        _TRACE_HEADER.reset(token)
    duration_ms = (time.perf_counter() - started) * 1000
    warnings: list[str] = []
    metadata = response.get("ResponseMetadata", {})
    recorded_id = _recorded_trace(metadata.get("HTTPHeaders", {}), sent_id, warnings)
    tail = _decode_log(response.get("LogResult"), warnings)
    return InvocationResult(
        function_name=function_name,
        status_code=response.get("StatusCode", 0),
        function_error=response.get("FunctionError"),
        payload=body,
        log_tail=tail,
        trace_id=recorded_id,
        request_id=metadata.get("RequestId"),
        executed_version=response.get("ExecutedVersion"),
        warnings=warnings,
        duration_ms=duration_ms,
        report=read_report(tail, metadata.get("RequestId")),
    )


def _add_trace_header(params: dict[str, Any], **kwargs: Any) -> None:
    header = _TRACE_HEADER.get()
    if header is not None:
        params["headers"]["X-Amzn-Trace-Id"] = header


def _recorded_trace(headers: dict[str, str], sent_id: str, warnings: list[str]) -> str:
    """The trace id Lambda says it used, when its answer carries one; else the one we sent."""
    returned = headers.get("x-amzn-trace-id")
    if not returned:
        return sent_id
    # Field names are case-insensitive, and Lambda has been seen answering `root=...;sampled=0`.
    fields = {key.lower(): value for key, value in parse_trace_header(returned).items()}
    if fields.get("sampled") == "0":
        warnings.append("Lambda did not sample this invocation: X-Ray will have no trace of it.")
    root = fields.get("root")
    if not root:
        return sent_id
    try:
        recorded = normalize_trace_id(root)
    except InvalidTraceId:
        warnings.append(f"Lambda answered with an unreadable trace header {returned!r}; using {sent_id}.")
        return sent_id
    if recorded != sent_id:
        warnings.append(f"Lambda recorded the invocation under trace {recorded}, not {sent_id} as sent.")
    return recorded


def _decode_log(log_result: str | None, warnings: list[str]) -> str | None:
    if log_result is None:
        return None
    try:
        return base64.b64decode(log_result, validate=True).decode("utf-8", errors="replace")
    except binascii.Error:
        warnings.append("Lambda's log tail (X-Amz-Log-Result) is not base64: left out.")
        return None
