"""Where log records go: stderr, escaped and with secrets redacted, at the level the command asked for.

xrayctl's own loggers (the local daemon's rejections, a part of the stack failing to stop) show warnings
always and everything with --debug; botocore's request log shows only with --debug. Log records carry trace
text (a rejected datagram, a service response), so they pass through the sanitizer like any output, and
credentials (session tokens, request signatures, keys in STS answers) are redacted before they are written.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from xrayctl.text.redact import redact
from xrayctl.text.sanitize import clean_lines

# The botocore loggers that say what a user debugging a call needs: which credentials were found, each request
# sent (with its endpoint and parameters), each retry and why, and the connections. The rest of botocore's
# DEBUG output (event hooks, signing steps, model loading) runs to thousands of lines a command.
_AWS_LOGGERS = (
    "botocore.credentials",
    "botocore.endpoint",
    "botocore.retries",
    "botocore.retryhandler",
    "urllib3.connectionpool",
)


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(clean_lines(redact(super().format(record)), max_len=20_000))


class _OwnFormatter(_Formatter):
    """xrayctl's own records read as messages to the user (`xrayctl: warning: ...`, and info lines such as
    `local serve`'s one line per invocation as they are); with --debug, each names its level and module."""

    def __init__(self) -> None:
        super().__init__()
        self.debug = False

    def formatMessage(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if self.debug:
            return f"xrayctl: {record.levelname.lower()} {record.name}: {message}"
        if record.levelno >= logging.WARNING:
            return f"xrayctl: {record.levelname.lower()}: {message}"
        return message


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when the record is emitted (a test runner swaps it per command)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


_OWN_FORMAT = _OwnFormatter()
_OWN = _StderrHandler()
_OWN.setFormatter(_OWN_FORMAT)
_AWS = _StderrHandler()
_AWS.setFormatter(_Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))


def configure_logging(debug: bool) -> None:
    """Set the loggers for this command; called again (one process, many commands) it replaces, never adds."""
    _OWN_FORMAT.debug = debug
    own = logging.getLogger("xrayctl")
    own.propagate = False
    own.setLevel(logging.DEBUG if debug else logging.WARNING)
    if _OWN not in own.handlers:
        own.addHandler(_OWN)
    for name in _AWS_LOGGERS:
        logger = logging.getLogger(name)
        if debug:
            logger.setLevel(logging.DEBUG)
            if _AWS not in logger.handlers:
                logger.addHandler(_AWS)
        else:
            logger.setLevel(logging.NOTSET)
            logger.removeHandler(_AWS)
