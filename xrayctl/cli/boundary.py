"""The one place where every failure becomes a message on stderr and a documented exit code.

Commands raise; nothing below the boundary prints an error or calls sys.exit. A traceback is shown only with
`--debug`. botocore exceptions that a command did not translate itself are translated here, so a new code path
cannot leak a raw `ClientError` to the user.
"""

from __future__ import annotations

import io
import os
import sys
import traceback
from typing import NoReturn

import click

from xrayctl.cli.options import AppState
from xrayctl.errors import ExitCode, OutputClosed, XrayctlError
from xrayctl.text.redact import redact
from xrayctl.text.sanitize import clean, clean_lines


def _say(message: str) -> None:
    # The message may carry user input (a bad trace id, a file name): never let it drive the terminal. And an
    # endpoint's error message may quote our request back, session token and signature included.
    click.echo(f"xrayctl: {clean(redact(message), max_len=4000)}", err=True)


def _translate_aws(exc: Exception, *, local: bool) -> XrayctlError | None:
    if "botocore" not in sys.modules:  # nothing AWS ran, so it cannot be an AWS error; don't import botocore
        return None
    from xrayctl.aws.errors import translate

    return translate(exc, local=local)


class _ClosedOutput(io.TextIOBase):
    """Standard output for a process started without one (`>&-`: Python then sets sys.stdout to None, and
    click and rich write to None as to nowhere, so a command would succeed having printed nothing): writing
    to it is an error."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OutputClosed()


def run(group: click.Group, args: list[str] | None = None) -> NoReturn:
    if sys.stdout is None:
        sys.stdout = _ClosedOutput()
    # A terminal or pipe that is not UTF-8 (LANG=C, PYTHONIOENCODING=ascii) cannot take the tree's box
    # characters: write what it cannot encode as escapes rather than fail on the first one.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="backslashreplace")
    state = AppState()
    code: int = ExitCode.OK
    try:
        rv = group.main(args=args, prog_name="xrayctl", standalone_mode=False, obj=state)
        code = rv if isinstance(rv, int) else ExitCode.OK
    except XrayctlError as exc:
        code = _fail(state, exc, exc)
    except click.ClickException as exc:  # usage errors: click already knows how to say them
        exc.show()
        code = exc.exit_code
    except (KeyboardInterrupt, click.Abort):
        _say("interrupted.")
        code = ExitCode.INTERRUPTED
    except BrokenPipeError:
        # `xrayctl ... | head`: the reader took what it wanted and left. Not a failure; say nothing, and keep
        # Python from complaining about the closed stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = ExitCode.OK
    except OSError as exc:
        code = _fail(state, exc, XrayctlError(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")))
    except Exception as exc:  # noqa: BLE001 - the boundary: every failure must become one line
        translated = _translate_aws(exc, local=state.local)
        if translated is None:
            translated = XrayctlError(
                f"unexpected error: {type(exc).__name__}: {str(exc).rstrip('.')}.",
                "This is a bug in xrayctl; run again with --debug for the traceback and report it.",
            )
        code = _fail(state, exc, translated)
    sys.exit(code)


def _fail(state: AppState, original: BaseException, error: XrayctlError) -> int:
    if state.debug:
        # A traceback quotes exception messages, which quote what an endpoint or a trace said: escaped too.
        text = redact("".join(traceback.format_exception(original)))
        sys.stderr.write("\n".join(clean_lines(text, max_len=100_000)) + "\n")
    _say(str(error))
    return int(error.exit_code)
