"""Formatting shared by the renderers: durations, UTC times, status words, marks and styles, cell fitting.

Everything here returns plain strings or rich `Segment`s; nothing here sanitizes, so callers pass text that
already went through `xrayctl.text.sanitize.clean`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timezone

from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from xrayctl.trace.model import Node

STATUS_STYLES: dict[str, Style] = {
    "ok": Style(color="green"),
    "error": Style(color="yellow"),
    "throttle": Style(color="magenta"),
    "fault": Style(color="red", bold=True),
}
IN_PROGRESS_STYLE = Style(color="yellow", dim=True)
DIM = Style(dim=True)
WARNING_STYLE = Style(color="yellow")
EXCEPTION_STYLE = Style(color="red")
ELLIPSIS = "…"
# Printable ASCII and the characters the renderers draw with: all one cell wide, measured with len().
_ONE_CELL = frozenset(map(chr, range(0x20, 0x7F))) | frozenset("⋮…✗⏸⚠⟳→·µ░▐▕▏▎▍▌▋▊▉█├└│─")


def fmt_duration(seconds: float | None) -> str:
    """`412 µs`, `8.5 ms`, `781 ms`, `1.23 s`, `2m 05s`, `3h 04m`, `79d 23h`; `—` when unknown. At most 8
    characters below 1,000 days, so the duration column holds it."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    if seconds == 0:
        return "0 ms"  # X-Ray times are often whole milliseconds: `0 µs` would claim a precision not there
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s >= 1e9:
        # Thirty years and more: no trace lasts that long, but a hand-written time can say 1e308 (finite, yet
        # past what the rounding below can multiply). The order of magnitude is all there is to say.
        return f"{sign}{s / 86400:.0e}d"
    # Each unit is chosen on the rounded value, so 999.7 ms reads `1.00 s`, not `1000 ms`.
    if round(s * 1e6) < 1000:
        return f"{sign}{s * 1e6:.0f} µs"
    if round(s * 1e4) < 100:
        return f"{sign}{s * 1e3:.1f} ms"
    if round(s * 1e3) < 1000:
        return f"{sign}{s * 1e3:.0f} ms"
    if round(s * 100) < 6000:
        return f"{sign}{s:.2f} s"
    whole = round(s)
    if whole < 3600:
        return f"{sign}{whole // 60}m {whole % 60:02d}s"
    if whole < 86400:
        return f"{sign}{whole // 3600}h {whole % 3600 // 60:02d}m"
    return f"{sign}{whole // 86400}d {whole % 86400 // 3600:02d}h"


def fmt_time(value: float | datetime | None) -> str:
    """`2023-11-08 22:01:59.389 UTC` from epoch seconds or a datetime (a naive one is taken as UTC)."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        moment = (
            value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        )
    else:
        if not math.isfinite(value):
            return "—"
        try:
            moment = datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return f"{value} (epoch, out of range)"
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d} UTC"


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """`1 trace`, `2 traces`, `1,000 traces`: a count with its noun in the number it takes."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


def status_word(status: str) -> str:
    return status.upper()


def status_mark(node: Node) -> tuple[str, Style] | None:
    """The short mark drawn after a node's name (`✗ 500`, `! 404`, `⟳ 429`, `⏸ in progress`), or None."""
    if node.in_progress:
        return "⏸ in progress", IN_PROGRESS_STYLE
    code = str(node.http_status) if node.http_status is not None else None
    if node.status == "fault":
        return f"✗ {code or 'fault'}", STATUS_STYLES["fault"]
    if node.status == "throttle":
        return f"⟳ {code or 'throttle'}", STATUS_STYLES["throttle"]
    if node.status == "error":
        return f"! {code or 'error'}", STATUS_STYLES["error"]
    return None


def cells(text: str) -> int:
    """The terminal width of `text` (sanitized text: no control characters)."""
    return len(text) if _ONE_CELL.issuperset(text) else cell_len(text)


def fit(parts: Iterable[tuple[str, Style | None]], width: int) -> list[Segment]:
    """Segments exactly `width` cells wide: the parts in order, cut with `…` when too long, else padded."""
    if width <= 0:
        return []
    measured = [(text, style, cells(text)) for text, style in parts if text]
    total = sum(length for _, _, length in measured)
    if total <= width:
        segments = [Segment(text, style) for text, style, _ in measured]
        if total < width:
            segments.append(Segment(" " * (width - total)))
        return segments
    segments = []
    budget = width - 1  # one cell for the ellipsis
    last_style: Style | None = None
    for text, style, length in measured:
        if length <= budget:
            segments.append(Segment(text, style))
            budget -= length
            last_style = style
            continue
        if budget > 0:
            # set_cell_size pads with a space when a wide character straddles the cut: the width still holds.
            segments.append(Segment(set_cell_size(text, budget), style))
        last_style = style
        break
    segments.append(Segment(ELLIPSIS, last_style))
    return segments


def fit_text(text: str, width: int, *, align_right: bool = False) -> str:
    """`text` cut with `…` or padded with spaces to exactly `width` cells."""
    if width <= 0:
        return ""
    length = cells(text)
    if length > width:
        return set_cell_size(text, width - 1) + ELLIPSIS
    padding = " " * (width - length)
    return padding + text if align_right else text + padding


class Flow:
    """Fields laid out like words: as many per line as fit, joined by `separator`; a field never splits.
    Lines after the first start `indent` cells in (under a label such as compare's `  A  `), the field that
    opens one without its leading padding (a duration right-aligned for the first line's columns)."""

    def __init__(self, fields: Iterable[Text], separator: Text, *, indent: int = 0) -> None:
        self.fields = [field for field in fields if field]
        self.separator = separator
        self.indent = indent

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        # An indent that leaves too little room for a field is no indent (a very narrow terminal).
        indent = Text(" " * self.indent) if self.indent <= width // 2 else Text()
        line = Text()
        for field in self.fields:
            if line and line.cell_len + self.separator.cell_len + field.cell_len <= width:
                line.append_text(self.separator)
                line.append_text(field)
                continue
            if line:
                yield from _cropped(line, width)
                padding = len(field.plain) - len(field.plain.lstrip(" "))
                line = indent.copy()
                line.append_text(field[padding:])
            else:
                line = field.copy()
        if line:
            yield from _cropped(line, width)


def _cropped(line: Text, width: int) -> RenderResult:
    line.truncate(width, overflow="ellipsis")
    yield line  # a Text ends its own line
