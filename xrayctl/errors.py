"""Error types a user can cause, each with a fix sentence and a documented exit code.

The core raises these; the CLI's single error boundary prints `message` and `fix` on stderr and exits with
`exit_code`. The codes are part of the interface (the README lists them): scripts branch on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1  # anything not listed below, including malformed input files
    USAGE = 2  # bad option or argument (click's own code), invalid trace id, bad time
    NOT_FOUND = 3  # trace not found (a trace still in progress at --timeout is shown, with a warning)
    CONFIG = 4  # no credentials, no region, unknown profile, an invalid region / endpoint URL / AWS setting,
    # an endpoint that is not the AWS API or a proxy that refuses with a bare 4xx
    ACCESS_DENIED = 5
    THROTTLED = 6  # still throttled after the retries
    UNREACHABLE = 7  # endpoint unreachable, timed out, or failing (5xx, dropped connection) after the retries
    FUNCTION_ERROR = 8  # `invoke`: the function answered with X-Amz-Function-Error
    RETRIEVAL_FAILED = (
        9  # a Transaction Search trace retrieval ended FAILED, CANCELLED or TIMEOUT, or was still
    )
    # running at --timeout (and was cancelled)
    INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


class XrayctlError(Exception):
    """Base of every error the CLI turns into one line and an exit code."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        if not self.fix:
            return self.message
        # A message that quotes the service ("... is expired") must not run into the fix sentence.
        stop = "" if self.message.rstrip().endswith((".", "!", "?")) else "."
        return f"{self.message}{stop} {self.fix}"


class UsageError(XrayctlError):
    exit_code = ExitCode.USAGE


class InvalidTraceId(UsageError):
    pass


class TraceNotFound(XrayctlError):
    """Some traces are not there. `found` holds the ones that are, so a caller can still show them."""

    exit_code = ExitCode.NOT_FOUND

    def __init__(self, message: str, fix: str | None = None, found: Sequence[Any] = ()) -> None:
        super().__init__(message, fix)
        self.found = list(found)


class ConfigError(XrayctlError):
    exit_code = ExitCode.CONFIG


class AccessDenied(XrayctlError):
    exit_code = ExitCode.ACCESS_DENIED


class Throttled(XrayctlError):
    exit_code = ExitCode.THROTTLED


class Unreachable(XrayctlError):
    exit_code = ExitCode.UNREACHABLE

    def __init__(self, message: str, fix: str | None = None, *, refused: bool = False) -> None:
        super().__init__(message, fix)
        # No connection could be made at all (refused, no such host, TLS or proxy failure): the endpoint is
        # wrong or down, not slow or failing for a moment.
        self.refused = refused


class RetrievalFailed(XrayctlError):
    """A trace retrieval (StartTraceRetrieval, Transaction Search) did not complete."""

    exit_code = ExitCode.RETRIEVAL_FAILED


class FunctionError(XrayctlError):
    exit_code = ExitCode.FUNCTION_ERROR


class InputError(XrayctlError):
    """A file given with --input or --payload that cannot be read or parsed."""

    exit_code = ExitCode.ERROR


class OutputClosed(XrayctlError):
    """Standard output is closed (`>&-`): what the command was to print has nowhere to go."""

    exit_code = ExitCode.ERROR

    def __init__(self) -> None:
        super().__init__(
            "standard output is closed: nothing could be written.",
            "Give the command somewhere to write (a file, a pipe, or >/dev/null to discard it).",
        )


class LocalStackError(XrayctlError):
    """The local stack could not start, or a part of it failed."""

    exit_code = ExitCode.ERROR
