"""The one line a failure becomes inside `browse`: the same sentence (and fix) the CLI prints on stderr,
escaped and with secrets redacted, as `rich.text.Text`."""

from __future__ import annotations

import sys

from rich.text import Text

from xrayctl.errors import XrayctlError
from xrayctl.render.format import EXCEPTION_STYLE
from xrayctl.text.redact import redact
from xrayctl.text.sanitize import clean

MAX_LINE = 1000


def failure_text(exc: BaseException) -> str:
    """What a failure says: an xrayctl error's message and fix; a botocore failure translated as the CLI's
    boundary translates it; anything else named as a bug."""
    if not isinstance(exc, XrayctlError) and "botocore" in sys.modules:
        from xrayctl.aws.errors import translate

        exc = translate(exc) or exc
    if isinstance(exc, XrayctlError):
        return str(exc)
    return f"unexpected error: {type(exc).__name__}: {exc} (a bug in xrayctl: please report it)"


def error_line(message: str) -> Text:
    return Text("✗ " + clean(redact(message), MAX_LINE), EXCEPTION_STYLE)
