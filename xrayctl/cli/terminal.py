"""Consoles for data (stdout) and for chatter (stderr), built per command so --no-color and NO_COLOR apply.

Colour and animation only on a terminal: rich decides that from the stream, and `NO_COLOR` from the
environment.
rich is imported here, inside the function, so `xrayctl --help` never pays for it.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from xrayctl.cli.options import AppState
from xrayctl.sanitize import clean_lines

if TYPE_CHECKING:
    from rich.console import Console


def consoles(state: AppState) -> tuple[Console, Console]:
    from rich.console import Console

    no_color = True if state.no_color else None  # None: let rich read NO_COLOR and the stream's tty-ness
    out = Console(no_color=no_color, highlight=False, soft_wrap=False)
    err = Console(stderr=True, no_color=no_color, highlight=False)
    return out, err


class _EscapingFormatter(logging.Formatter):
    """Log records can carry trace text (a rejected datagram, a bad document): escape it like any output."""

    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(clean_lines(super().format(record), max_len=20_000))


def configure_logging(debug: bool) -> None:
    """xrayctl's own loggers (the local daemon's rejections, a part failing to stop) go to stderr, escaped:
    warnings always, everything with --debug."""
    logger = logging.getLogger("xrayctl")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_EscapingFormatter("xrayctl: %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.DEBUG if debug else logging.WARNING)
