"""The one line a failure becomes inside `browse`: the same sentence (and fix) the CLI prints on stderr,
escaped and with secrets redacted, as `rich.text.Text`."""

from __future__ import annotations

import sys

from rich.text import Text

from xrayctl.errors import UsageError, XrayctlError
from xrayctl.render.format import EXCEPTION_STYLE
from xrayctl.text.redact import redact
from xrayctl.text.sanitize import clean

MAX_LINE = 1000


def failure_text(exc: BaseException, *, refused_fix: str | None = None) -> str:
    """What a failure says: an xrayctl error's message and fix; a botocore failure translated as the CLI's
    boundary translates it; anything else named as a bug. `refused_fix` replaces the fix of a request the
    service refused (the CLI's names an option; inside the app, a key does the same)."""
    if not isinstance(exc, XrayctlError) and "botocore" in sys.modules:
        from xrayctl.aws.errors import translate

        exc = translate(exc) or exc
    if isinstance(exc, UsageError) and refused_fix is not None:
        return str(UsageError(exc.message, refused_fix))
    if isinstance(exc, XrayctlError):
        return str(exc)
    return f"unexpected error: {type(exc).__name__}: {exc} (a bug in xrayctl: please report it)"


def error_line(message: str) -> Text:
    return Text("✗ " + clean(redact(message), MAX_LINE), EXCEPTION_STYLE)
