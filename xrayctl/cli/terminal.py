"""Consoles for data (stdout) and for chatter (stderr), built per command so --no-color and NO_COLOR apply.

Colour and animation only on a terminal: rich decides that from the stream, and `NO_COLOR` from the
environment.
rich is imported here, inside the function, so `xrayctl --help` never pays for it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from xrayctl.cli.options import AppState

if TYPE_CHECKING:
    from rich.console import Console


PIPE_WIDTH = 200


def consoles(state: AppState) -> tuple[Console, Console]:
    from rich.console import Console

    no_color = True if state.no_color else None  # None: let rich read NO_COLOR and the stream's tty-ness
    out = Console(no_color=no_color, highlight=False, soft_wrap=False)
    if not out.is_terminal and not os.environ.get("COLUMNS"):
        # A pipe or a file has no width; rich would assume 80 and cut names and values to fit. A reader of a
        # file scrolls sideways rather than lose data (COLUMNS still sets it).
        out.width = PIPE_WIDTH
    # soft_wrap: a warning or progress line is one line however long; the terminal wraps it, a log keeps it.
    err = Console(stderr=True, no_color=no_color, highlight=False, soft_wrap=True)
    return out, err
