"""Annotation tables: one row per trace (`list-annotations`), or per key and value with duration statistics.

The rows and statistics are `xrayctl.trace.annotations`'s.
The grid is drawn as segments rather than with `rich.Table`: a 10,000-trace window stays quick, and columns
shrink to the terminal width (annotation columns first, then the widest) with `…`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style

from xrayctl.render.format import (
    _ONE_CELL,
    DIM,
    STATUS_STYLES,
    cells,
    fit,
    fmt_duration,
    fmt_time,
    status_word,
)
from xrayctl.text.sanitize import clean
from xrayctl.trace.annotations import AnnotatedTrace, ValueStats
from xrayctl.trace.model import AnnotationValue

Cell = tuple[str, Style | None]

HEADER_STYLE = Style(bold=True)
GAP = "  "
FLEXIBLE_FLOOR = 10  # an annotation column keeps this many cells before the fixed columns give any up
VALUE_MAX = 200  # characters of one annotation value before `clean` cuts it


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    right: bool = False
    flexible: bool = False  # given up first when the table is too wide
    keep: bool = False  # given up last (the trace id: what a user copies into `show-trace`)


def annotations_table(rows: Sequence[AnnotatedTrace], keys: Sequence[str]) -> Grid:
    """Trace id, start (UTC), duration, status, then a column per annotation key (values joined `, `)."""
    columns = [
        Column("trace id", keep=True),
        Column("start (UTC)"),
        Column("duration", right=True),
        Column("status"),
        *(Column(clean(key, 100), flexible=True) for key in keys),
    ]
    # A key's values repeat from trace to trace (a tenant, a region): each string is cleaned once.
    cleaned: dict[str, str] = {}
    cells_by_row = [
        [
            (clean(row.trace_id, 100), None),
            # Seconds are enough to tell traces apart in a list (show-trace has the milliseconds), and
            # the four cells saved keep the annotation columns whole at 100 columns.
            (_start_second(row.start_time), None),
            (fmt_duration(row.duration), None),
            (status_word(row.status), STATUS_STYLES.get(row.status)),
            *((_values(row.annotations.get(key, ()), cleaned), None) for key in keys),
        ]
        for row in rows
    ]
    return Grid(columns, cells_by_row, empty="no traces")


def annotations_summary(stats: Sequence[ValueStats]) -> Grid:
    """Per key and value: the number of traces and their min / median / p90 / max duration."""
    columns = [
        Column("key", flexible=True),
        Column("value", flexible=True),
        Column("traces", right=True),
        *(Column(name, right=True) for name in ("min", "median", "p90", "max")),
    ]
    cells_by_row: list[list[Cell]] = []
    previous_key: str | None = None
    for entry in stats:
        # A key is written once, on the first row of its values.
        key = clean(entry.key, 100) if entry.key != previous_key else ""
        previous_key = entry.key
        cells_by_row.append(
            [
                (key, HEADER_STYLE),
                (format_value(entry.value), None),
                (f"{entry.traces:,}", None),
                *((fmt_duration(value), None) for value in (entry.min, entry.median, entry.p90, entry.max)),
            ]
        )
    return Grid(columns, cells_by_row, empty="no annotations")


def _start_second(value: datetime | float | None) -> str:
    """`fmt_time` to the second, without ` UTC`."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo is None else value.astimezone(timezone.utc)
        if moment.year >= 1000:  # strftime does not pad a year below 1000 to four digits; isoformat does
            # fmt_time's strftime, at a fraction of its cost.
            return moment.isoformat(" ", "seconds")[:19]
    return fmt_time(value).removesuffix(" UTC")[:19]


def _values(values: Sequence[AnnotationValue], cleaned: dict[str, str]) -> str:
    """The values joined `, `; `cleaned` remembers the strings already cleaned."""
    texts = []
    for value in values:
        if isinstance(value, str):
            text = cleaned.get(value)
            if text is None:
                text = cleaned[value] = format_value(value)
            texts.append(text)
        else:
            texts.append(format_value(value))
    return texts[0] if len(texts) == 1 else ", ".join(texts)


def format_value(value: AnnotationValue) -> str:
    """An annotation value as a user typed it in a filter: `true`, `200`, `checkout`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return clean(value, VALUE_MAX)
    text = str(value)  # a number: digits, sign, point, exponent, inf or nan; nothing to escape
    return text if len(text) <= VALUE_MAX else clean(text, VALUE_MAX)


class Grid:
    """Aligned columns of sanitized cells, sized to the console width."""

    def __init__(self, columns: Sequence[Column], rows: Sequence[Sequence[Cell]], *, empty: str) -> None:
        self.columns = list(columns)
        self.rows = rows
        self.empty = empty

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        if not self.rows:
            yield from fit([(f"({self.empty})", DIM)], width)
            yield Segment.line()
            return
        yield from self._render(width, plain=console.color_system is None and not console.record)

    def _render(self, width: int, *, plain: bool) -> RenderResult:
        count = len(self.columns)
        texts = [[row[index][0] for row in self.rows] for index in range(count)]  # column by column
        lengths = [_lengths(column) for column in texts]  # once: 10,000 rows add up
        widths = [
            max(cells(column.header), *measured)
            for column, measured in zip(self.columns, lengths, strict=True)
        ]
        _shrink(widths, self.columns, width - len(GAP) * (len(widths) - 1))
        header = [(column.header, HEADER_STYLE) for column in self.columns]
        yield from self._line(header, [cells(text) for text, _ in header], widths)
        shown = [index for index in range(count) if widths[index] > 0]
        # A column's cells are padded (or cut) all at once; those whose style shows (with colour, a styled
        # column: the status) go cell by cell, as segments of their own.
        styled = (
            set()
            if plain
            else {index for index in shown if any(row[index][1] is not None for row in self.rows)}
        )
        padded = {
            index: _pad(texts[index], lengths[index], widths[index], self.columns[index].right)
            for index in shown
            if index not in styled
        }
        # Unstyled text is gathered into one Segment: rich's cost is per segment (a 10,000-trace table drawn
        # a segment per cell and gap took a second). Runs of neighbouring unstyled columns are joined first.
        runs: list[tuple[int, list[str]] | int] = []
        for position, index in enumerate(shown):
            gap = GAP if index else ""  # before every shown column but the first column of all
            if index in styled:
                runs.append(index)
            elif position and isinstance(runs[-1], tuple):
                runs[-1] = (
                    runs[-1][0],
                    [f"{text}{gap}{cell}" for text, cell in zip(runs[-1][1], padded[index], strict=True)],
                )
            else:
                runs.append((index, [gap + cell for cell in padded[index]]))
        if not any(isinstance(run, int) for run in runs):
            joined = [run[1] for run in runs if isinstance(run, tuple)]
            lines = joined[0] if joined else [""] * len(self.rows)
            yield from map(Segment, [line + "\n" for line in lines])
            return
        for row_index, (row, row_lengths) in enumerate(
            zip(self.rows, zip(*lengths, strict=True), strict=True)
        ):
            text = ""
            for run in runs:
                if isinstance(run, tuple):
                    text += run[1][row_index]
                    continue
                cell_text, style = row[run]
                if run:
                    text += GAP
                for piece, piece_style in _pieces(
                    cell_text, style, row_lengths[run], widths[run], self.columns[run].right
                ):
                    if piece_style is None:
                        text += piece
                        continue
                    if text:
                        yield Segment(text)
                        text = ""
                    yield Segment(piece, piece_style)
            yield Segment(text + "\n")

    def _line(self, row: Sequence[Cell], lengths: Sequence[int], widths: list[int]) -> RenderResult:
        plain: list[str] = []
        cells_and_columns = zip(row, lengths, self.columns, widths, strict=True)
        for index, ((text, style), length, column, size) in enumerate(cells_and_columns):
            if size <= 0:
                continue
            if index:
                plain.append(GAP)
            for piece, piece_style in _pieces(text, style, length, size, column.right):
                if piece_style is None:
                    plain.append(piece)
                    continue
                if plain:
                    yield Segment("".join(plain))
                    plain = []
                yield Segment(piece, piece_style)
        plain.append("\n")
        yield Segment("".join(plain))


def _lengths(texts: list[str]) -> list[int]:
    """The width of each text in cells."""
    if _ONE_CELL.issuperset("".join(texts)):
        return list(map(len, texts))  # the usual case, at C speed
    return list(map(cells, texts))


def _pad(texts: list[str], lengths: list[int], size: int, right: bool) -> list[str]:
    """Each text padded to `size` cells on the left (`right`) or right, or cut with `…`."""
    if all(length == len(text) for text, length in zip(texts, lengths, strict=True)) and max(lengths) <= size:
        return [text.rjust(size) for text in texts] if right else [text.ljust(size) for text in texts]
    return [
        "".join(piece for piece, _ in _pieces(text, None, length, size, right))
        for text, length in zip(texts, lengths, strict=True)
    ]


def _pieces(text: str, style: Style | None, length: int, size: int, right: bool) -> list[Cell]:
    """One cell `size` cells wide: its text and the padding, or the text cut with `…` (`fit`'s segments)."""
    padding = size - length
    if padding < 0:
        return [(segment.text, segment.style) for segment in fit([(text, style)], size)]
    if right:
        return [(" " * padding, None), (text, style)]
    return [(text, style), (" " * padding, None)]


def _shrink(widths: list[int], columns: Sequence[Column], available: int) -> None:
    """Narrow the widest columns until the widths fit `available`: flexible ones down to a few characters,
    then all but the kept ones, then all (one cell at a time: tables have few columns)."""
    stages = [
        [
            min(size, FLEXIBLE_FLOOR) if column.flexible else size
            for size, column in zip(widths, columns, strict=False)
        ],
        [size if column.keep else 1 for size, column in zip(widths, columns, strict=False)],
        [1] * len(widths),
    ]
    for floors in stages:
        while sum(widths) > available:
            shrinkable = [index for index, size in enumerate(widths) if size > floors[index]]
            if not shrinkable:
                break
            widths[max(shrinkable, key=widths.__getitem__)] -= 1
    while sum(widths) > available and any(widths):
        # Not even one cell per column fits: columns drop from the right.
        widths[max(index for index, size in enumerate(widths) if size)] = 0
