"""Annotation tables: one row per trace (`list-annotations`), or per key and value with duration statistics.

The inputs are Protocols, so anything with these attributes renders (`xrayctl.annotations` makes them).
The grid is drawn as segments rather than with `rich.Table`: a 10,000-trace window stays quick, and columns
shrink to the terminal width (annotation columns first, then the widest) with `…`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style

from xrayctl.model import AnnotationValue
from xrayctl.render.format import DIM, STATUS_STYLES, cells, fit, fmt_duration, fmt_time, status_word
from xrayctl.sanitize import clean

Cell = tuple[str, Style | None]

HEADER_STYLE = Style(bold=True)
GAP = "  "
FLEXIBLE_FLOOR = 10  # an annotation column keeps this many cells before the fixed columns give any up
VALUE_MAX = 200  # characters of one annotation value before `clean` cuts it


class AnnotationRow(Protocol):
    """One trace: what `list-annotations` shows per line."""

    @property
    def trace_id(self) -> str: ...
    @property
    def start_time(self) -> datetime | float | None: ...
    @property
    def duration(self) -> float | None: ...
    @property
    def status(self) -> str: ...
    @property
    def annotations(self) -> Mapping[str, Sequence[AnnotationValue]]: ...


class AnnotationStats(Protocol):
    """One annotation value: how many traces carried it, and their durations in seconds."""

    @property
    def key(self) -> str: ...
    @property
    def value(self) -> AnnotationValue: ...
    @property
    def traces(self) -> int: ...
    @property
    def min(self) -> float | None: ...
    @property
    def median(self) -> float | None: ...
    @property
    def p90(self) -> float | None: ...
    @property
    def max(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    right: bool = False
    flexible: bool = False  # given up first when the table is too wide
    keep: bool = False  # given up last (the trace id: what a user copies into `show-trace`)


def annotations_table(rows: Sequence[AnnotationRow], keys: Sequence[str]) -> Grid:
    """Trace id, start (UTC), duration, status, then a column per annotation key (values joined `, `)."""
    columns = [
        Column("trace id", keep=True),
        Column("start (UTC)"),
        Column("duration", right=True),
        Column("status"),
        *(Column(clean(key, 100), flexible=True) for key in keys),
    ]
    cells_by_row = [
        [
            (clean(row.trace_id, 100), None),
            # Seconds are enough to tell traces apart in a list (show-trace has the milliseconds), and the
            # four cells saved keep the annotation columns whole at 100 columns.
            (fmt_time(row.start_time).removesuffix(" UTC")[:19], None),
            (fmt_duration(row.duration), None),
            (status_word(row.status), STATUS_STYLES.get(row.status)),
            *((_values(row.annotations.get(key, ())), None) for key in keys),
        ]
        for row in rows
    ]
    return Grid(columns, cells_by_row, empty="no traces")


def annotations_summary(stats: Sequence[AnnotationStats]) -> Grid:
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


def _values(values: Sequence[AnnotationValue]) -> str:
    return ", ".join(format_value(value) for value in values)


def format_value(value: AnnotationValue) -> str:
    """An annotation value as a user typed it in a filter: `true`, `200`, `checkout`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return clean(value, VALUE_MAX)


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
        measured = [[cells(text) for text, _ in row] for row in self.rows]  # once: 10,000 rows add up
        header_widths = [cells(column.header) for column in self.columns]
        widths = [max(column) for column in zip(header_widths, *measured, strict=True)]
        _shrink(widths, self.columns, width - len(GAP) * (len(widths) - 1))
        header = [(column.header, HEADER_STYLE) for column in self.columns]
        yield from self._line(header, [cells(text) for text, _ in header], widths)
        for row, lengths in zip(self.rows, measured, strict=True):
            yield from self._line(row, lengths, widths)

    def _line(self, row: Sequence[Cell], lengths: Sequence[int], widths: list[int]) -> RenderResult:
        # Unstyled text is gathered into one Segment: rich's cost is per segment, and a 10,000-trace table
        # drawn a segment per cell and gap took a second.
        plain: list[str] = []
        cells_and_columns = zip(row, lengths, self.columns, widths, strict=True)
        for index, ((text, style), length, column, size) in enumerate(cells_and_columns):
            if size <= 0:
                continue
            if index:
                plain.append(GAP)
            padding = size - length
            if padding < 0:
                pieces = [(segment.text, segment.style) for segment in fit([(text, style)], size)]
            elif column.right:
                pieces = [(" " * padding, None), (text, style)]
            else:
                pieces = [(text, style), (" " * padding, None)]
            for piece, piece_style in pieces:
                if piece_style is None:
                    plain.append(piece)
                    continue
                if plain:
                    yield Segment("".join(plain))
                    plain = []
                yield Segment(piece, piece_style)
        plain.append("\n")
        yield Segment("".join(plain))


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
