"""Consoles for data (stdout) and for chatter (stderr), built per command so --no-color and NO_COLOR apply.

Colour and animation only on a terminal: rich decides that from the stream, and `NO_COLOR` from the
environment. The width is decided here, for each stream (`width_for`):

1. `COLUMNS`, when it holds a width that can be drawn (some environments export `COLUMNS=0`);
2. the stream's own terminal;
3. for a pipe or a file, the controlling terminal's width when there is one (`xrayctl ... | less` reads
   best at the width of the terminal it is read on);
4. else `PIPE_WIDTH`: a reader of a file scrolls sideways rather than lose names and values.

A width narrower than `MIN_WIDTH` or wider than `MAX_WIDTH` cannot be drawn (nothing fits, or every line is
padded to megabytes) and is passed over like a missing one.

Views pad their lines to the width (a table's last column, a tree's blank critical column, an empty list's
note): on a terminal that shows as nothing, but a pipe or a file keeps it (a diff, a grep, `(no traces in the
window)` and 175 spaces). Data that does not go to a terminal is written through `Unpadded`, which drops the
spaces that end a line.
rich is imported here, inside the function, so `xrayctl --help` never pays for it.
"""

from __future__ import annotations

import os
import re
from typing import IO, TYPE_CHECKING, TextIO

from xrayctl.cli.options import AppState

if TYPE_CHECKING:
    from rich.console import Console, RenderableType


PIPE_WIDTH = 200
MIN_WIDTH = 20  # a tree needs its name column, its duration and a mark; a table its numbers whole
MAX_WIDTH = 10_000
TERMINAL_WIDTH = 80  # a terminal that does not say how wide it is, as rich assumes


def _drawable(width: int | None) -> int | None:
    return width if width is not None and MIN_WIDTH <= width <= MAX_WIDTH else None


def _columns_variable() -> int | None:
    text = os.environ.get("COLUMNS", "").strip()
    return _drawable(int(text)) if text.isascii() and text.isdigit() and len(text) < 8 else None


def _fd_width(fd: int) -> int | None:
    try:
        return os.get_terminal_size(fd).columns if os.isatty(fd) else None
    except (OSError, ValueError):
        return None


def _stream_width(stream: IO[str] | None) -> tuple[bool, int | None]:
    """Whether `stream` is a terminal, and its width if it is."""
    try:
        fd = stream.fileno() if stream is not None else -1
    except (AttributeError, OSError, ValueError):  # a test runner's buffer, a closed stream
        return False, None
    if fd < 0 or not os.isatty(fd):
        return False, None
    return True, _fd_width(fd)


def controlling_terminal_width() -> int | None:
    """The width of the terminal this process runs in, when it has one, whatever its streams are."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | getattr(os, "O_NOCTTY", 0))
    except OSError:  # no controlling terminal (a service, CI), or no /dev/tty (Windows)
        fd = -1
    if fd >= 0:
        try:
            width = _fd_width(fd)
        finally:
            os.close(fd)
        if width is not None:
            return width
    for standard in (2, 0):  # Windows has no /dev/tty: a console on stderr or stdin is the one
        width = _fd_width(standard)
        if width is not None:
            return width
    return None


def width_for(stream: TextIO | None) -> int:
    """The width to draw `stream`'s output at (see the module docstring)."""
    columns = _columns_variable()
    if columns is not None:
        return columns
    is_terminal, width = _stream_width(stream)
    if is_terminal:
        return _drawable(width) or (TERMINAL_WIDTH if width is None else MIN_WIDTH)
    return _drawable(controlling_terminal_width()) or PIPE_WIDTH


# What may end a line of a view: padding, and the styles rich closes after it (FORCE_COLOR into a pipe).
_LINE_END = re.compile("(?: |\x1b\\[[0-9;]*m)+$")
# Padding before a newline, matched from the first space of a run only (the look-behind): linear in the text,
# where a run tried from each of its spaces costs its length squared (a 100,000-row table is 15 MB).
_PADDING = re.compile("(?<! ) +(?=\n)")


def _unpadded(line: str) -> str:
    end = _LINE_END.search(line)
    return line if end is None else line[: end.start()] + end.group().replace(" ", "")


class Unpadded:
    """A text stream that writes what it is given but the spaces that end a line (see the module's docstring).
    What ends a write is held until the next one says whether the line goes on."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._held = ""

    def write(self, text: str) -> int:
        given = len(text)
        text = self._held + text
        if "\x1b" in text:  # styles in it (FORCE_COLOR): line by line, each line's closing styles kept
            *lines, last = text.split("\n")
            end = _LINE_END.search(last)
            self._held = "" if end is None else end.group()
            kept = last if end is None else last[: end.start()]
            self._stream.write("".join(_unpadded(line) + "\n" for line in lines) + kept)
            return given
        # Plain text, a whole table at a time: one pass in C, and no copy of it but the one written.
        text = _PADDING.sub("", text)
        last = text[text.rfind("\n") + 1 :]
        held = len(last) - len(last.rstrip(" "))
        self._held = " " * held
        self._stream.write(text[: len(text) - held] if held else text)
        return given

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"


def consoles(state: AppState) -> tuple[Console, Console]:
    import sys

    from rich.console import Console

    no_color = True if state.no_color else None  # None: let rich read NO_COLOR and the stream's tty-ness
    stdout = sys.stdout
    piped = stdout is not None and not _stream_width(stdout)[0]
    out = Console(
        file=Unpadded(stdout) if piped else None,  # type: ignore[arg-type]  # a write-only text stream
        no_color=no_color,
        highlight=False,
        soft_wrap=False,
        width=width_for(stdout),
    )
    # soft_wrap: a warning or progress line is one line however long; the terminal wraps it, a log keeps it.
    err = Console(
        stderr=True, no_color=no_color, highlight=False, soft_wrap=True, width=width_for(sys.stderr)
    )
    return out, err


def say(err: Console, message: str | RenderableType, *, style: str | None = None) -> None:
    """A note on stderr (a str is plain text: no markup read): on a terminal, wrapped at word boundaries to
    its width (the terminal itself would cut words in two); to a pipe or a log, a line however long.
    (Whether the stream is a terminal, not whether rich draws as if it were one: FORCE_COLOR into a log is
    still a log.)"""
    on_terminal = _stream_width(err.file)[0]
    err.print(message, style=style, markup=False, highlight=False, soft_wrap=not on_terminal)
