"""X-Ray trace ids: accept what users paste (X-Ray or W3C form), read the epoch in them, make new ones.

An X-Ray id is `1-<8 hex: epoch seconds when the trace started>-<24 hex random>`. OpenTelemetry and W3C
`traceparent` carry the same 128 bits as 32 hex digits; X-Ray stores those as `1-<first 8>-<last 24>`.
"""

from __future__ import annotations

import re
import time

from xrayctl.errors import InvalidTraceId

_XRAY_ID = re.compile(r"1-([0-9a-f]{8})-([0-9a-f]{24})")
_W3C_ID = re.compile(r"[0-9a-f]{32}")

ACCEPTED_FORMS = "an X-Ray id like 1-5759e988-bd862e3fe1be46a994272793 or a W3C id of 32 hex digits"


def normalize_trace_id(text: str) -> str:
    """Return `text` as a lower-case X-Ray trace id, or raise `InvalidTraceId` naming it."""
    candidate = text.strip().lower()
    if _XRAY_ID.fullmatch(candidate):
        return candidate
    if _W3C_ID.fullmatch(candidate):
        return f"1-{candidate[:8]}-{candidate[8:]}"
    raise InvalidTraceId(f"{text!r} is not a trace id.", f"Give {ACCEPTED_FORMS}.")


def trace_epoch(trace_id: str) -> int:
    """Epoch seconds at which the trace started, as encoded in its id."""
    match = _XRAY_ID.fullmatch(trace_id)
    if match is None:
        raise InvalidTraceId(f"{trace_id!r} is not a trace id.", f"Give {ACCEPTED_FORMS}.")
    return int(match.group(1), 16)


def new_trace_id(now: float | None = None) -> str:
    """A fresh X-Ray trace id that starts at `now` (epoch seconds; default: the current time)."""
    import secrets  # here, not at the top: only `invoke` makes ids, and every command imports this module

    epoch = int(time.time() if now is None else now)
    return f"1-{epoch:08x}-{secrets.token_hex(12)}"


def parse_trace_header(value: str) -> dict[str, str]:
    """Split an `X-Amzn-Trace-Id` value (`Root=...;Parent=...;Sampled=1`) into its fields.

    Keys keep their case; a field without `=` maps to an empty string so that nothing in the header is lost.
    """
    fields: dict[str, str] = {}
    for part in value.split(";"):
        key, _, field_value = part.partition("=")
        if key.strip():
            fields[key.strip()] = field_value.strip()
    return fields
