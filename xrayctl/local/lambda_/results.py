"""What one invocation's outcome becomes for the caller: the error document, the log, the log tail header.

Lambda answers a failed invocation (an error the function raised, a timeout, a crashed runtime) with an error
document as the payload and `X-Amz-Function-Error`, and gives the log as CloudWatch shows it: START, the
function's output, END and REPORT (durations, memory, Init Duration on a cold start), of which `Tail` returns
the last 4 KB.
"""

from __future__ import annotations

import base64
import json
import math
import re
from datetime import datetime, timezone

from xrayctl.local.lambda_.runtime import Outcome
from xrayctl.local.lambda_.segments import FunctionFailure

_LOG_TAIL_BYTES = 4096
_BARE_CR = re.compile(r"\r(?!\n)")


def failure(outcome: Outcome, request_id: str, timeout: float) -> FunctionFailure | None:
    if outcome.kind == "response":
        return None
    if outcome.kind == "timeout":
        return FunctionFailure(
            "Sandbox.Timedout", f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds"
        )
    if outcome.kind == "exit":
        status = outcome.exit_status or "signal: killed"
        return FunctionFailure(
            "Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited with error: {status}"
        )
    error_type, message = _error_fields(outcome.body)
    return FunctionFailure(error_type, message, outcome.xray_cause, in_init=outcome.kind == "init_error")


def _error_fields(body: bytes) -> tuple[str, str]:
    """errorType and errorMessage of the error document the runtime posted (untrusted: checked)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        return "Runtime.Unknown", body.decode("utf-8", "replace")
    error_type, message = document.get("errorType"), document.get("errorMessage")
    return (
        error_type if isinstance(error_type, str) and error_type else "Runtime.Unknown",
        message if isinstance(message, str) else "",
    )


def error_document(failure: FunctionFailure) -> bytes:
    return json.dumps({"errorMessage": failure.message, "errorType": failure.error_type}).encode()


def log_text(
    request_id: str,
    outcome: Outcome,
    failure: FunctionFailure | None,
    *,
    timeout: float,
    memory_mb: int,
    xray: tuple[str, str] | None,
) -> str:
    """The invocation's log as CloudWatch shows it: START, what the function wrote, END, REPORT, and the XRAY
    line (`xray` is the trace id and the function segment's id, for a sampled invocation)."""
    lines = [f"START RequestId: {request_id} Version: $LATEST\n"]
    if outcome.log:
        # awslambdaric writing to stdout joins the lines of one error with a bare CR, so that CloudWatch keeps
        # them as one event; CloudWatch shows them as lines, and so does this log.
        output = _BARE_CR.sub("\n", outcome.log)
        lines.append(output if output.endswith("\n") else output + "\n")
    if outcome.kind == "timeout":
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        lines.append(f"{stamp} {request_id} Task timed out after {timeout:.2f} seconds\n")
    elif outcome.kind == "exit" and failure is not None:
        lines.append(f"{failure.message}\n{failure.error_type}\n")
    lines.append(f"END RequestId: {request_id}\n")
    duration = (outcome.invocation[1] - outcome.invocation[0]) * 1000 if outcome.invocation else 0.0
    report = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration:.2f} ms",
        f"Billed Duration: {max(1, math.ceil(duration))} ms",
        f"Memory Size: {memory_mb} MB",
    ]
    if outcome.max_memory_mb is not None:
        report.append(f"Max Memory Used: {outcome.max_memory_mb} MB")
    if outcome.init is not None:
        report.append(f"Init Duration: {(outcome.init[1] - outcome.init[0]) * 1000:.2f} ms")
    if outcome.kind == "timeout":
        report.append("Status: timeout")
    lines.append("\t".join(report) + "\t\n")
    if xray is not None:
        lines.append(f"XRAY TraceId: {xray[0]}\tSegmentId: {xray[1]}\tSampled: true\n")
    return "".join(lines)


def log_result(log: str) -> str:
    """X-Amz-Log-Result: the last 4 KB of the log, base64, cut on a character boundary."""
    data = log.encode()[-_LOG_TAIL_BYTES:]
    start = 0
    while start < len(data) and data[start] & 0xC0 == 0x80:  # skip a split character's continuation bytes
        start += 1
    return base64.b64encode(data[start:]).decode("ascii")
