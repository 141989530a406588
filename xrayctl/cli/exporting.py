"""`--export FILE` and `--width N`, shared by the commands that draw a view (show-trace, compare,
service-map), and the one place that sends a view either to stdout or to the file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from xrayctl.cli.options import AppState
from xrayctl.cli.terminal import consoles
from xrayctl.errors import UsageError

if TYPE_CHECKING:
    from rich.console import RenderableType

F = TypeVar("F", bound=Callable[..., Any])


def export_options(func: F) -> F:
    """`--export FILE` and `--width N`, given to the command as `export` and `width`."""
    func = click.option(
        "--width",
        type=click.IntRange(40, 1000),
        metavar="N",
        help="Columns to draw in (default: the terminal's; 120 for --export).",
    )(func)
    return click.option(
        "--export",
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        metavar="FILE",
        help="Write the view to FILE instead of stdout: SVG, HTML or plain text by its suffix "
        "(.svg, .html, .txt).",
    )(func)


def check_export(app: AppState, export: Path | None) -> None:
    """Refuse what cannot work before any call is made: a format that does not exist, or --output json."""
    if export is None:
        return
    from xrayctl.render.export import export_format

    export_format(export)
    if app.output == "json":
        raise UsageError(
            "--export writes the drawn view; --output json prints data.", "Leave out one of them."
        )


def show_view(
    app: AppState, renderable: RenderableType, *, export: Path | None, width: int | None, title: str
) -> int:
    """Print `renderable` on stdout, or with `export` write it to that file and say so on stderr; return the
    width it was drawn at."""
    out, err = consoles(app)
    if export is None:
        if width is not None:
            out.width = width
        out.print(renderable)
        return out.width
    from xrayctl.render.export import DEFAULT_WIDTH, write_export

    columns = width or DEFAULT_WIDTH
    kind = write_export(renderable, export, width=columns, title=title, color=not app.no_color)
    err.print(
        f"wrote {export} ({kind.upper()}, {columns} columns)", style="dim", markup=False, highlight=False
    )
    return columns
