"""Where log records go: stderr, escaped and with secrets redacted, at the level the command asked for.

xrayctl's own loggers (the local daemon's rejections, a part of the stack failing to stop) show warnings
always and everything with --debug; botocore's request log shows only with --debug. Log records carry trace
text (a rejected datagram, a service response), so they pass through the sanitizer like any output, and
credentials (session tokens, request signatures, keys in STS answers) are redacted before they are written.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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

    def __init__(self, *, debug: bool) -> None:
        super().__init__()
        self.debug = debug

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


@contextmanager
def logging_to_stderr(debug: bool) -> Iterator[None]:
    """For the length of the block, xrayctl's own records go to stderr (warnings, or everything with
    --debug), and botocore's request log too with --debug. Handlers of this block's own are added, and
    removed with the levels restored on the way out: one process may run many commands (the tests do), and
    none may see another's settings."""
    own = _StderrHandler()
    own.setFormatter(_OwnFormatter(debug=debug))
    aws = _StderrHandler()
    aws.setFormatter(_Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    loggers = [(logging.getLogger("xrayctl"), own, logging.DEBUG if debug else logging.WARNING)]
    if debug:
        loggers += [(logging.getLogger(name), aws, logging.DEBUG) for name in _AWS_LOGGERS]
    own_logger = loggers[0][0]
    propagate = own_logger.propagate
    own_logger.propagate = False  # the root logger's handlers (a test runner's) are not ours to write to
    levels = [logger.level for logger, _, _ in loggers]
    for logger, handler, level in loggers:
        logger.setLevel(level)
        logger.addHandler(handler)
    try:
        yield
    finally:
        for (logger, handler, _), level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
        own_logger.propagate = propagate
