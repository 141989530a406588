"""A view written to a file for sharing (`--export FILE`): SVG, HTML or plain text, by the file's suffix.

The view is drawn by rich's recording console exactly as on a terminal, at a fixed width: the same
renderables, so trace text has gone through `xrayctl.text.sanitize.clean` into `rich.text.Text` (no markup
read, controls shown as escapes), and rich escapes `&`, `<` and `>` in SVG and HTML. What XML cannot hold at
all (U+FFFE, U+FFFF, which no terminal escape covers because a terminal shows them harmlessly) is written as
the same visible `\\uNNNN` escape, so every exported SVG parses.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console, RenderableType
from rich.terminal_theme import MONOKAI

from xrayctl.errors import UsageError
from xrayctl.text.sanitize import clean

FORMATS = {".svg": "svg", ".html": "html", ".htm": "html", ".txt": "text", ".text": "text"}
DEFAULT_WIDTH = 120
MIN_WIDTH, MAX_WIDTH = 40, 1000
# Characters outside XML 1.0's Char production (tab, newline and return are in it).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def export_format(path: Path) -> str:
    """`svg`, `html` or `text` for `path`'s suffix; UsageError for any other."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise UsageError(
            f"--export {clean(str(path), 300)}: the file's suffix says which format to write.",
            "End the name with .svg, .html or .txt.",
        )
    return kind


def _xml_safe(text: str) -> str:
    return _NOT_XML.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def render_export(
    renderable: RenderableType, kind: str, *, width: int, title: str, color: bool = True
) -> str:
    """The document `renderable` makes as `kind` (`svg`, `html` or `text`), drawn `width` columns wide."""
    console = Console(
        record=True,
        file=io.StringIO(),
        width=width,
        color_system="truecolor" if color else None,
        force_terminal=color,
        no_color=not color,
        highlight=False,
        soft_wrap=False,
        legacy_windows=False,
    )
    console.print(renderable)
    if kind == "svg":
        # The title is the picture's caption: ours, but it may quote a trace id the user typed.
        return _xml_safe(console.export_svg(title=clean(title, 200), theme=MONOKAI))
    if kind == "html":
        return _xml_safe(console.export_html(theme=MONOKAI, inline_styles=True))
    # Plain text is read in editors and diffs: no line ends in the padding that fills it to the width.
    return "\n".join(line.rstrip(" ") for line in console.export_text(styles=False).split("\n"))


def write_export(
    renderable: RenderableType, path: Path, *, width: int = DEFAULT_WIDTH, title: str, color: bool = True
) -> str:
    """Write `renderable` to `path` in the format its suffix names; return that format. OSError (an
    unwritable path) is left to the caller's error boundary."""
    kind = export_format(path)
    document = render_export(renderable, kind, width=width, title=title, color=color)
    path.write_text(document, encoding="utf-8")
    return kind
