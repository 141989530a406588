"""What a command writes on: the width it draws at (COLUMNS, its terminal, the controlling terminal of a
pipe), and a standard output that is not there."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.cli import run_cli
from tests.support.paths import fixture_path

LAMBDA_TRACE = fixture_path("xray-real", "traces", "iatk-lambda-traceWithLinks01.json")
XRAYCTL = [sys.executable, "-m", "xrayctl"]
posix_terminals = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR", "TERM")}
    return {**env, "NO_COLOR": "1", **extra}


@pytest.mark.parametrize("columns", ["0", "1", "5", "-3", "abc", "99999999"])
def test_a_columns_value_that_cannot_be_drawn_falls_back_to_a_width_that_can(columns: str) -> None:
    result = run_cli(["show-trace", "--input", str(LAMBDA_TRACE)], env={"COLUMNS": columns})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("Initialization" in line for line in lines)
    assert any(line.startswith("xray-stuff-ProducerA-LbbjYUkcchrB  AWS::Lambda") for line in lines)
    assert max(len(line) for line in lines) <= 10_000


@posix_terminals
def test_piped_output_is_as_wide_as_the_controlling_terminal() -> None:
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 97, 0, 0))
    terminal = os.ttyname(follower)

    def in_a_session_on_that_terminal() -> None:
        os.setsid()
        os.close(os.open(terminal, os.O_RDWR))  # a session leader's first terminal becomes its own

    try:
        done = subprocess.run(
            [*XRAYCTL, "show-trace", "--input", str(LAMBDA_TRACE)],
            stdin=subprocess.DEVNULL,
            capture_output=True,  # stdout and stderr are pipes: only the controlling terminal has a width
            text=True,
            env=_env(),
            preexec_fn=in_a_session_on_that_terminal,
            timeout=60,
            check=False,
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == 0, done.stderr
    assert max(len(line) for line in done.stdout.splitlines()) == 97


def test_piped_output_without_a_terminal_is_200_columns_wide() -> None:
    done = subprocess.run(
        [*XRAYCTL, "show-trace", "--input", str(LAMBDA_TRACE)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=_env(),
        start_new_session=True,  # no controlling terminal, as under a service manager or in CI
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert max(len(line) for line in done.stdout.splitlines()) == 200


@posix_terminals
@pytest.mark.parametrize("output", ["text", "json"])
def test_a_closed_stdout_is_an_error_of_one_line_not_a_silent_success(output: str) -> None:
    command = [*XRAYCTL, "-o", output, "show-trace", "--input", str(LAMBDA_TRACE)]
    done = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", *command],  # the shell closes stdout, as `xrayctl ... >&-` does
        capture_output=False,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "xrayctl: standard output is closed: nothing could be written. Give the command somewhere to write "
        "(a file, a pipe, or >/dev/null to discard it)."
    ]


NOTE = (
    "to fit 60 columns: start without its date; columns left out: get_response, put_response; cut with …: "
    "trace id (-o json has all of it)"
)


@posix_terminals
def test_a_note_on_a_terminal_wraps_at_word_boundaries_and_to_a_pipe_stays_one_line() -> None:
    import io
    import pty

    from rich.console import Console

    from xrayctl.cli.terminal import say

    leader, follower = pty.openpty()
    try:
        with open(follower, "w", encoding="utf-8", closefd=False) as terminal:
            say(Console(file=terminal, width=40, no_color=True), NOTE)
        written = os.read(leader, 65536).decode("utf-8").replace("\r\n", "\n")
    finally:
        os.close(follower)
        os.close(leader)
    lines = written.splitlines()
    assert len(lines) > 1 and max(len(line.rstrip()) for line in lines) <= 40
    assert " ".join(line.strip() for line in lines) == NOTE  # no word cut in two: each line ends a word
    piped = io.StringIO()
    say(Console(file=piped, width=40, force_terminal=True, no_color=True), NOTE)  # FORCE_COLOR into a log
    assert piped.getvalue() == NOTE + "\n"  # a log keeps the line whole


def test_unpadded_drops_the_spaces_that_end_a_line_and_keeps_those_inside_one() -> None:
    import io

    from xrayctl.cli.terminal import Unpadded

    sink = io.StringIO()
    stream = Unpadded(sink)
    for piece in ["name   ", "  value   ", "\n", "(no traces)" + " " * 175 + "\nlast  "]:
        stream.write(piece)
    assert sink.getvalue() == "name     value\n(no traces)\nlast"  # the last line's spaces: never followed


def test_unpadded_drops_padding_before_the_styles_rich_closes_and_keeps_the_styles() -> None:
    import io

    from xrayctl.cli.terminal import Unpadded

    sink = io.StringIO()
    stream = Unpadded(sink)
    stream.write("\x1b[1mOK\x1b[0m   \x1b[2m  ")
    stream.write("\x1b[0m\nnext \x1b[31mred\x1b[0m  \n")
    assert sink.getvalue() == "\x1b[1mOK\x1b[0m\x1b[2m\x1b[0m\nnext \x1b[31mred\x1b[0m\n"
