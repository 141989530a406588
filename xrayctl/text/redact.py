"""Credentials kept out of what xrayctl writes: `redact` for --debug logs and error lines."""

from __future__ import annotations

import re

# What botocore's DEBUG log holds that would let a reader of a pasted log act as the user: the session token
# (a request header, and a line of the canonical request), the request signature (replayable for minutes),
# and the keys and tokens that credential calls send and receive (STS XML, SSO JSON) for a profile's role.
_SECRET_KEYS = (
    r"secret[_-]?access[_-]?key|session[_-]?token|security[_-]?token|access[_-]?token|refresh[_-]?token"
    r"|client[_-]?secret|web[_-]?identity[_-]?token|saml[_-]?assertion|signature"
)
_SECRET_PATTERNS = (
    # 'Key': b'value', "key":"value", key=value, key:value, and botocore.auth's "Signature:\n<hex>".
    re.compile(rf"""((?:{_SECRET_KEYS})['"]?\s*[:=]\s*(?:b?['"])?)[^'"\s&,;<>{{}}]+""", re.IGNORECASE),
    re.compile(rf"(<(?:{_SECRET_KEYS})>)[^<]*", re.IGNORECASE),  # <SessionToken>value</SessionToken>
)
REDACTED = "<redacted>"


def redact(text: str) -> str:
    """`text` with every credential secret, session token and request signature replaced by <redacted>."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(rf"\1{REDACTED}", text)
    return text
