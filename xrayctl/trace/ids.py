"""X-Ray trace ids: accept what users paste, read the epoch in them, make new ones.

An X-Ray id is `1-<8 hex: epoch seconds when the trace started>-<24 hex random>`. OpenTelemetry and W3C
`traceparent` carry the same 128 bits as 32 hex digits; X-Ray stores those as `1-<first 8>-<last 24>`.
Users paste ids from wherever they found them: a console, a log line's `X-Amzn-Trace-Id` header
(`Root=1-...;Parent=...;Sampled=1`), a W3C `traceparent` (`00-<32 hex>-<16 hex>-01`). Each is read here,
in `normalize_trace_id`, the one place every command takes a trace id through.
"""

from __future__ import annotations

import re
import time

from xrayctl.errors import InvalidTraceId

_XRAY_ID = re.compile(r"1-([0-9a-f]{8})-([0-9a-f]{24})")
_W3C_ID = re.compile(r"[0-9a-f]{32}")
# version-traceid-parentid-flags (W3C Trace Context): a later version may append fields; ff is invalid.
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}(-.*)?")
_HEADER_NAME = re.compile(r"(x-amzn-trace-id|traceparent)\s*:\s*")

ACCEPTED_FORMS = (
    "an X-Ray id like 1-5759e988-bd862e3fe1be46a994272793, a W3C id of 32 hex digits, an X-Amzn-Trace-Id "
    "header (Root=1-...;Parent=...;Sampled=1) or a W3C traceparent (00-<32 hex>-<16 hex>-01)"
)


def normalize_trace_id(text: str) -> str:
    """Return `text` as a lower-case X-Ray trace id, or raise `InvalidTraceId` naming it.

    Takes an X-Ray id, a W3C id of 32 hex digits, an `X-Amzn-Trace-Id` value (its `Root`), or a W3C
    `traceparent` value (its trace id), each also with its header name in front (`traceparent: 00-...`)."""
    candidate = text.strip().lower()
    named = _HEADER_NAME.match(candidate)
    if named:
        candidate = candidate[named.end() :]
    found = _trace_id_in(candidate)
    if found is None:
        raise InvalidTraceId(f"{text!r} is not a trace id.", f"Give {ACCEPTED_FORMS}.")
    return found


def _trace_id_in(candidate: str) -> str | None:
    if _XRAY_ID.fullmatch(candidate):
        return candidate
    if _W3C_ID.fullmatch(candidate):
        return _from_w3c(candidate)
    parent = _TRACEPARENT.fullmatch(candidate)
    if parent:
        version, trace_id, more = parent.groups()
        if version == "ff" or (version == "00" and more):
            return None
        return _from_w3c(trace_id)
    if "=" in candidate:
        root = {key.strip(): value for key, value in parse_trace_header(candidate).items()}.get("root")
        if root is not None and _XRAY_ID.fullmatch(root):
            return root
    return None


def _from_w3c(hex_id: str) -> str | None:
    if not hex_id.strip("0"):
        return None  # all zeros: W3C's invalid trace id
    return f"1-{hex_id[:8]}-{hex_id[8:]}"


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
