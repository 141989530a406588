"""Annotation tables: one row per trace (`list-annotations`), or per key and value with duration statistics.

The rows and statistics are `xrayctl.trace.annotations`'s.
The grid is drawn as segments rather than with `rich.Table`: a 10,000-trace window stays quick. When the
table is wider than the terminal, it gives up, in this order (`Grid.layout`):

1. the date part of the start column (a window's traces are of the last days: the time tells them apart);
2. the text of annotation values and keys, cut with `…` down to a few characters;
3. whole annotation columns, from the right (the least common keys), but the first: a list of annotations
   that shows none says nothing (at 60 columns a trace id does not fit whole even without them);
4. the end of the trace id, cut with `…` (its start still says when the trace began; -o json has all of it);
5. the first annotation column (the trace id then takes back what it can);
6. only then, whatever columns still do not fit, from the right (a column marked `uncut` last).

A number, a duration or a status is never cut: a column of them is shown whole or not at all, as `2…` for
`200` or `F…` for `FAULT` would mislead. What was given up is said in `Grid.notes`, for stderr.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style

from xrayctl.render.format import (
    _ONE_CELL,
    DIM,
    STATUS_STYLES,
    cells,
    counted,
    fit,
    fmt_duration,
    fmt_time,
    status_word,
)
from xrayctl.text.sanitize import clean
from xrayctl.trace.annotations import AnnotatedTrace, Listing, ValueStats, summarize
from xrayctl.trace.model import AnnotationValue

Cell = tuple[str, Style | None]

HEADER_STYLE = Style(bold=True)
GAP = "  "
FLEXIBLE_FLOOR = 10  # a text column keeps this many cells (or its widest number) before columns are left out
KEEP_FLOOR = 12  # a trace id cut to `1-6b04e5f2-…` still says when the trace started
VALUE_MAX = 200  # characters of one annotation value before `clean` cuts it
DATE = len("2023-11-08 ")  # the date part of a start cell, given up first


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    right: bool = False
    # Text that may be cut with `…` down to FLEXIBLE_FLOOR cells, but never below `whole`: the widest of its
    # cells that must not be cut (a number, a boolean). A column that is not flexible is never cut.
    flexible: bool = False
    whole: int = 0
    droppable: bool = False  # a whole column that may be left out (an annotation key)
    keep: bool = False  # shortened last (the trace id: what a user copies into `show-trace`)
    # Never cut, and left out only after every other column: the trace id where it is the row's point (one
    # invocation's trace, to copy into `show-trace`).
    uncut: bool = False
    short: int = 0  # characters a cell may lose at its start (a start time's date)
    short_note: str = ""  # what losing them means, for the notes


@dataclass
class Layout:
    """How a grid fits a width: each column's width (0: left out), those cut short, and what was given up."""

    widths: list[int]
    shortened: set[int]
    notes: list[str]


def annotations_table(
    rows: Sequence[AnnotatedTrace], keys: Sequence[str], *, empty: str = "no traces"
) -> Grid:
    """Trace id, start (UTC), duration, status, then a column per annotation key (values joined `, `)."""
    whole = {key: _widest_whole(row.annotations.get(key, ()) for row in rows) for key in keys}
    columns = [
        Column("trace id", keep=True),
        Column("start (UTC)", short=DATE, short_note="start without its date"),
        Column("duration", right=True),
        Column("status"),
        *(Column(clean(key, 100), flexible=True, whole=whole[key], droppable=True) for key in keys),
    ]
    # A key's values repeat from trace to trace (a tenant, a region): each string is cleaned once, and the
    # rows that show the same values share one cell (100,000 rows of ten cells each took 120 MB).
    cleaned: dict[str, str] = {}
    shared: dict[tuple[Any, ...], Cell] = {}
    cells_by_row = [
        [
            (clean(row.trace_id, 100), None),
            # Seconds are enough to tell traces apart in a list (show-trace has the milliseconds), and
            # the four cells saved keep the annotation columns whole at 100 columns.
            (_start_second(row.start_time), None),
            (fmt_duration(row.duration), None),
            (status_word(row.status), STATUS_STYLES.get(row.status)),
            *(_values_cell(row.annotations.get(key, ()), cleaned, shared) for key in keys),
        ]
        for row in rows
    ]
    return Grid(columns, cells_by_row, empty=empty)


def annotations_summary(stats: Sequence[ValueStats], *, empty: str = "no annotations") -> Grid:
    """Per key and value: the number of traces and their min / median / p90 / max duration."""
    columns = [
        Column("key", flexible=True),
        Column("value", flexible=True, whole=_widest_whole([entry.value] for entry in stats)),
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
    return Grid(columns, cells_by_row, empty=empty)


def listing_view(found: Listing, *, summary: bool, matching: str = "") -> Grid:
    """`list-annotations`' table for what it found: a row per trace, or with `summary` per key and value.
    `matching`: what the filter let through (`listing_line`'s `matching`), for the empty table to say."""
    if not found.scanned:
        # The filter is X-Ray's: what the window holds besides is not known, only that nothing matched.
        empty = f"no traces{matching} in the window"
    elif not found.rows:
        # Only --key can leave every trace out: the window has traces, none of them with those keys.
        named = ", ".join(clean(key, 100) for key in found.keys)
        if found.scanned == 1:
            empty = f"the one trace{matching} has no {named}"
        else:
            empty = f"none of the {found.scanned:,} traces{matching} has {named}"
    else:
        empty = "no annotations"
    if summary:
        return annotations_summary(summarize(found.rows, found.keys), empty=empty)
    return annotations_table(found.rows, found.keys, empty=empty)


# How the rows a limit keeps are chosen, by --sort: the first N of these.
_FIRST = {None: "newest", "start": "newest", "duration": "longest", "response": "slowest to respond"}


def matching_text(statuses: Sequence[str], filtered: bool) -> str:
    """What the filter lets through, to follow `traces` (` with status fault or error matching the filter`);
    "" with no filter."""
    text = f" with status {' or '.join(statuses)}" if statuses else ""
    return text + (" matching the filter" if filtered else "")


def listing_line(
    found: Listing, start: datetime, end: datetime, *, keys: Sequence[str], matching: str, summary: bool
) -> str:
    """The line under `list-annotations`' table (for stderr): the window's counts, whatever the limit, and
    which rows the limit kept (`23 traces from ... UTC, 23 with annotations; the table shows the 3 newest`).
    """
    # The keys may come from a script that read them from traces: shown escaped, like any trace text.
    named = ", ".join(clean(key, 100) for key in keys)
    which = f"any of {named}" if len(keys) > 1 else named if keys else "annotations"
    line = (
        f"{counted(found.scanned, 'trace')}{matching} from {start:%Y-%m-%d %H:%M:%S} to "
        f"{end:%Y-%m-%d %H:%M:%S} UTC, {found.annotated:,} with {which}"
    )
    if found.limited:
        first = f"the {len(found.rows):,} {_FIRST.get(found.sort, 'first')}"
        shown = f"the summary is of {first}" if summary else f"the table shows {first}"
        line += f"; {shown} (--limit {found.limit:,})"
    return line


def _widest_whole(values_by_row: Iterable[Iterable[AnnotationValue]]) -> int:
    """The widest cell made only of values that are not text (numbers, booleans): cut, they would mislead."""
    widest = 0
    for values in values_by_row:
        values = list(values)
        if values and not any(isinstance(value, str) for value in values):
            widest = max(widest, cells(", ".join(format_value(value) for value in values)))
    return widest


def _start_second(value: datetime | float | None) -> str:
    """`fmt_time` to the second, without ` UTC`."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo is None else value.astimezone(timezone.utc)
        if moment.year >= 1000:  # strftime does not pad a year below 1000 to four digits; isoformat does
            # fmt_time's strftime, at a fraction of its cost.
            return moment.isoformat(" ", "seconds")[:19]
    return fmt_time(value).removesuffix(" UTC")[:19]


def _values_cell(
    values: Sequence[AnnotationValue], cleaned: dict[str, str], shared: dict[tuple[Any, ...], Cell]
) -> Cell:
    """The cell of `values`: the one an earlier row with the same values has, else a new one."""
    # Keyed with each value's type: True, 1 and 1.0 are equal, and are shown differently.
    key = tuple((type(value), value) for value in values)
    cell = shared.get(key)
    if cell is None:
        cell = shared[key] = (_values(values, cleaned), None)
    return cell


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
    """Aligned columns of sanitized cells, sized to the console width. After rendering, `notes` says what
    was given up to fit (nothing when all of it fitted)."""

    def __init__(self, columns: Sequence[Column], rows: Sequence[Sequence[Cell]], *, empty: str) -> None:
        self.columns = list(columns)
        self.rows = rows
        self.empty = empty
        self.notes: list[str] = []

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        if not self.rows:
            self.notes = []
            yield from fit([(f"({self.empty})", DIM)], width)
            yield Segment.line()
            return
        yield from self._render(width, plain=console.color_system is None and not console.record)

    def layout(self, width: int, lengths: Sequence[Sequence[int]]) -> Layout:
        """The widths that fit `width` (see the module docstring for what gives way, in which order)."""
        columns = self.columns
        count = len(columns)
        natural = [
            max(cells(column.header), max(measured, default=0))
            for column, measured in zip(columns, lengths, strict=True)
        ]
        short_width = [
            max(cells(column.header), max(measured, default=0) - column.short) if column.short else natural[i]
            for i, (column, measured) in enumerate(zip(columns, lengths, strict=True))
        ]
        widths = list(natural)
        shortened: set[int] = set()
        dropped: list[int] = []

        def too_wide() -> bool:
            shown = [size for size in widths if size > 0]
            return sum(shown) + len(GAP) * (len(shown) - 1) > width

        # 1. The date of a start time.
        for index, column in enumerate(columns):
            if column.short and too_wide():
                widths[index] = short_width[index]
                shortened.add(index)
        # 2. Text cut down to its floor, the widest first, a cell at a time (tables have few columns).
        floors = [
            max(column.whole, min(FLEXIBLE_FLOOR, size)) if column.flexible else size
            for column, size in zip(columns, widths, strict=True)
        ]
        _narrow(widths, floors, too_wide)
        # 3. Annotation columns, from the right, but the first (the most common key): a list of annotations
        # with none of them says nothing, and a trace id cut a little is still told apart by its start.
        droppable = [index for index, column in enumerate(columns) if column.droppable]
        for index in reversed(droppable[1:]):
            if too_wide():
                widths[index] = 0
                dropped.append(index)
        # 4. The trace id's end.
        floors = [
            min(KEEP_FLOOR, size) if column.keep and not column.uncut else size
            for column, size in zip(columns, widths, strict=True)
        ]
        _narrow(widths, floors, too_wide)
        # 5. The first annotation column (what it gives back goes to the id, below).
        if droppable and too_wide():
            widths[droppable[0]] = 0
            dropped.append(droppable[0])
        # 6. Whatever is left, from the right; a column never cut goes after all others, and the last column
        # standing is cut rather than left out (a terminal narrower than a trace id).
        for last in (False, True):
            for index in reversed(range(count)):
                if widths[index] and columns[index].uncut == last and too_wide():
                    if sum(1 for size in widths if size) == 1:
                        widths[index] = max(width, 1)
                    else:
                        widths[index] = 0
                        dropped.append(index)
        # What was given up and is not needed after all comes back, the last given up first: cut text, left to
        # right, then the date.
        room = width - (sum(widths) + len(GAP) * (sum(1 for size in widths if size) - 1))
        for index, size in enumerate(widths):
            if size and size < natural[index] and index not in shortened and room > 0:
                grown = min(natural[index], size + room)
                room -= grown - size
                widths[index] = grown
        for index in sorted(shortened):
            if widths[index] and natural[index] - widths[index] <= room:
                room -= natural[index] - widths[index]
                widths[index] = natural[index]
                shortened.discard(index)
        return Layout(
            widths, {i for i in shortened if widths[i]}, self._notes(widths, natural, shortened, dropped)
        )

    def _notes(
        self, widths: list[int], natural: list[int], shortened: set[int], dropped: list[int]
    ) -> list[str]:
        given_up = [self.columns[i].short_note for i in sorted(shortened) if widths[i]]
        left_out = [self.columns[i].header for i in sorted(dropped)]
        if left_out:
            noun = "column" if len(left_out) == 1 else "columns"
            given_up.append(f"{noun} left out: {', '.join(left_out)}")
        cut = [
            self.columns[i].header
            for i, size in enumerate(widths)
            if size and size < natural[i] and i not in shortened
        ]
        if cut:
            given_up.append(f"cut with …: {', '.join(cut)}")
        return given_up

    def _render(self, width: int, *, plain: bool) -> RenderResult:
        count = len(self.columns)
        texts = [[row[index][0] for row in self.rows] for index in range(count)]  # column by column
        lengths = [_lengths(column) for column in texts]  # once: 10,000 rows add up
        fitted = self.layout(width, lengths)
        self.notes = fitted.notes
        widths = fitted.widths
        for index in fitted.shortened:
            cut = self.columns[index].short
            texts[index] = [text[cut:] if len(text) > cut else text for text in texts[index]]
            lengths[index] = [cells(text) for text in texts[index]]
        rows = (
            [
                [
                    (texts[index][row_index], style) if index in fitted.shortened else (text, style)
                    for index, (text, style) in enumerate(row)
                ]
                for row_index, row in enumerate(self.rows)
            ]
            if fitted.shortened
            else self.rows
        )
        header = [(column.header, HEADER_STYLE) for column in self.columns]
        yield from self._line(header, [cells(text) for text, _ in header], widths)
        shown = [index for index in range(count) if widths[index] > 0]
        # A column's cells are padded (or cut) all at once; those whose style shows (with colour, a styled
        # column: the status) go cell by cell, as segments of their own.
        styled = (
            set() if plain else {index for index in shown if any(row[index][1] is not None for row in rows)}
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
            lines = joined[0] if joined else [""] * len(rows)
            # rich keeps every segment until the table is written: what made the lines goes first, and each
            # line is made as rich takes it (100,000 rows held these three times over).
            del texts, lengths, padded, runs, joined, rows
            yield from (Segment(line + "\n") for line in lines)
            return
        for row_index, (row, row_lengths) in enumerate(zip(rows, zip(*lengths, strict=True), strict=True)):
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
        # A column's texts repeat (a status, a tenant): each is padded once, and its rows share the result.
        padded: dict[str, str] = {}
        pad = str.rjust if right else str.ljust
        return [padded.get(text) or padded.setdefault(text, pad(text, size)) for text in texts]
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


def _narrow(widths: list[int], floors: Sequence[int], too_wide: Callable[[], bool]) -> None:
    """Take a cell at a time from the widest column above its floor, while the table is too wide."""
    while too_wide():
        shrinkable = [index for index, size in enumerate(widths) if size > floors[index]]
        if not shrinkable:
            return
        widths[max(shrinkable, key=widths.__getitem__)] -= 1
