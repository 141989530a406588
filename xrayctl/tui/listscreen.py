"""The trace list: the X-Ray console's list of traces, live while the window ends now.

Columns: the trace id (short; the whole one is under the table), start (UTC; its time alone when every
trace is of one day, the date in the title), duration, response time, status, HTTP status, entry point, and
a column per annotation key (the keys on most traces first, at most KEY_COLUMNS of them). A header click or
`s` sorts; the filter expression is edited in place (`f`), and X-Ray's rejection of it shows under it, the
list staying as it was. New traces are polled for on a worker thread, paced by `aws/follow.Pace`; the title
says when the list was last refreshed, and a failed poll is one line under the list, polled again later.
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime, timezone
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Input, Static

from xrayctl.render.format import DIM, STATUS_STYLES, WARNING_STYLE, fmt_duration, status_word
from xrayctl.text.sanitize import clean
from xrayctl.trace.rows import TraceRow, annotation_keys
from xrayctl.tui.keys import HandsOnKeys
from xrayctl.tui.messages import error_line, failure_text
from xrayctl.tui.source import Source, TraceList
from xrayctl.tui.tracescreen import TraceScreen

# What to do about an expression X-Ray refused, inside the app (the CLI's fix names --filter).
FILTER_FIX = "Edit it (X-Ray's filter expression syntax) and press Enter, or Esc to keep the filter in force."
KEY_COLUMNS = 8
SHORT_ID = 20  # cells of the list's id column: `1-` + 8 digits of time + `-` + 8 of the random part + `…`
CELL = 60  # characters of an annotation value or an entry point shown in a cell
COLUMNS = [
    ("start", "start (UTC)"),
    ("duration", "duration"),
    ("response", "response"),
    ("status", "status"),
    ("http", "HTTP"),
    ("entry", "entry point"),
]


class TraceTable(DataTable[Text], HandsOnKeys):
    """The list's table: `f` or `/` typed on it opens the filter, and what is typed next goes there."""

    opens_with = ("f", "slash")


class TraceListScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor(1)", "down", show=False),
        Binding("k", "cursor(-1)", "up", show=False),
        Binding("g", "ends(0)", "first", show=False),
        Binding("G", "ends(1)", "last", show=False),
        Binding("f,slash", "edit_filter", "filter"),
        Binding("s", "sort_next", "sort"),
        Binding("S", "sort_reverse", "reverse", show=False),
        Binding("r", "refresh", "refresh"),
        Binding("y", "copy_id", "copy id"),
        Binding("escape", "leave_filter", "back", show=False),
        Binding("q", "quit", "quit"),
    ]
    DEFAULT_CSS = """
    TraceListScreen {
        #title { height: auto; padding: 0 1; background: $panel; }
        #note { height: auto; padding: 0 1; }
        #filter { height: 3; }
        #filter-error { height: auto; padding: 0 1; }
        #traces { height: 1fr; }
        #empty { height: auto; padding: 1 1; }
        #selected { height: auto; padding: 0 1; background: $panel; }
        #status { height: auto; padding: 0 1; }
    }
    """

    def __init__(self, source: Source, rows: list[TraceRow], *, limit: int, note: str | None = None) -> None:
        super().__init__()
        self.source = source
        self.model = TraceList(limit)
        self.model.replace_all(rows)
        self.note = note
        self._pace = source.list_pace()
        self._columns: list[str] = []
        self._day: str | None = None  # the one UTC date of every listed trace, shown in the title
        self.refreshed: datetime | None = datetime.now(timezone.utc) if source.live else None
        self._refreshing = False
        self._timer: Timer | None = None  # the next poll

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="title")
        yield Static(Text(clean(self.note, 2000), WARNING_STYLE) if self.note else Text(""), id="note")
        yield Input(
            value=self.source.filter_expression or "",
            placeholder="filter expression, X-Ray's syntax (f to edit, Enter to apply): annotation.key = 1",
            id="filter",
        )
        yield Static(Text(""), id="filter-error")
        table = TraceTable(id="traces", cursor_type="row", zebra_stripes=True)
        table.opener = self._open_filter
        yield table
        yield Static(Text(""), id="empty")
        yield Static(Text(""), id="selected")
        yield Static(Text(""), id="status")
        yield Footer()

    def on_mount(self) -> None:
        for line in ("#filter-error", "#empty", "#status"):
            self.query_one(line, Static).display = False
        self.query_one("#note", Static).display = bool(self.note)
        self.query_one("#filter", Input).display = self.source.filterable
        self._fill()
        self.query_one(DataTable).focus()
        if self.source.live:
            self._next_poll(self._pace.base)

    # -------------------------------------------------------------------------------------- the table

    def _title(self) -> Text:
        title = Text("xrayctl browse", "bold")
        title.append(" · " + clean(self.source.title, 300))
        if self.source.statuses:
            title.append(" · status " + " or ".join(self.source.statuses))
        count = len(self.model)
        title.append(f" · {count} trace{'s' if count != 1 else ''}")
        if self._day is not None:
            title.append(f" on {self._day} (UTC)")
        if count >= self.model.limit:
            title.append(f" (the newest {self.model.limit})", DIM)
        if self.refreshed is not None:
            title.append(f" · live, refreshed {self.refreshed:%H:%M:%S} UTC", DIM)
        return title

    def _fill(self) -> None:
        """The table from the model, the cursor kept on the same trace."""
        table = self.query_one(DataTable)
        current = self.current_id()
        rows = self.model.rows()
        keys = annotation_keys(rows)[:KEY_COLUMNS]
        # Traces of one day (a window of minutes, as most are) show their time alone; the title has the date.
        days = {_utc_day(row.start) for row in rows if row.start is not None}
        self._day = days.pop() if len(days) == 1 else None
        # The id first, short: the row's name, seen at any width (last, it was cut to the `1-<time>` that
        # traces of one second share); the whole id is under the table.
        columns = ["id"] + [name for name, _ in COLUMNS] + [f"annotation:{key}" for key in keys]
        # The headers say the order (an arrow): they are made again with the rows.
        table.clear(columns=True)
        self._columns = columns
        for name in columns:
            table.add_column(self._header(name), key=name)
        for row in rows:
            table.add_row(*self._cells(row, keys), key=row.trace_id)
        if current is not None and current in self.model:
            table.move_cursor(row=table.get_row_index(current), scroll=True)
        waiting = " yet: new traces appear here as X-Ray receives them" if self.source.live else ""
        if self.source.filterable and self.source.filter_expression:
            empty = f"No traces in the window match the filter{waiting}. f edits it; an empty one lists all."
        else:
            empty = f"No traces in the window{waiting}."
        self._say("#empty", None if rows else Text(empty, DIM))
        self._show_selected()
        self.query_one("#title", Static).update(self._title())

    def _header(self, column: str) -> Text:
        label = dict(COLUMNS).get(column) or ("trace id" if column == "id" else clean(column[11:], 40))
        if column == "start" and self._day is not None:
            label = "start"  # times of one day: "(UTC)" is in the title with the date
        text = Text(label)
        if column == self.model.sort_column:
            text.append(" ▼" if self.model.reverse else " ▲", "bold")
        return text

    def _cells(self, row: TraceRow, keys: list[str]) -> list[Text]:
        shape = "%H:%M:%S" if self._day is not None else "%Y-%m-%d %H:%M:%S"
        start = (
            datetime.fromtimestamp(row.start, tz=timezone.utc).strftime(shape)
            if row.start is not None
            else "—"
        )
        status = Text(status_word(row.status), STATUS_STYLES[row.status])
        if row.partial:
            status.append(" partial", WARNING_STYLE)
        entry = Text(clean(row.entry, CELL) if row.entry else "—")
        if row.entry_type and row.entry_type != row.entry:
            entry.append(f" ({clean(row.entry_type, CELL)})", DIM)
        cells = [
            Text(_short_id(row.trace_id), DIM),
            Text(start),
            Text(fmt_duration(row.duration), justify="right"),
            Text(fmt_duration(row.response), justify="right"),
            status,
            Text(str(row.http_status) if row.http_status is not None else "—", justify="right"),
            entry,
        ]
        for key in keys:
            values = row.annotations.get(key, ())
            cells.append(Text(", ".join(_value(value) for value in values)[: CELL * 2]))
        return cells

    def _say(self, line: str, text: Text | None) -> None:
        """A line of the screen: shown with `text`, or hidden."""
        widget = self.query_one(line, Static)
        widget.update(text or Text(""))
        widget.display = text is not None

    def _show_selected(self) -> None:
        """Under the table: the highlighted trace's id and annotations, whole (the cells may cut them)."""
        trace_id = self.current_id()
        row = self.model.get(trace_id) if trace_id is not None else None
        if row is None:
            self._say("#selected", None)
            return
        line = Text(clean(row.trace_id, 100), "bold")
        for key, values in row.annotations.items():
            line.append(f"  {clean(key, 100)}=", "cyan")
            line.append(",".join(_value(value) for value in values))
        self._say("#selected", line)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_selected()

    def current_id(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:  # noqa: BLE001 - no row under the cursor
            return None
        return key.value

    # ------------------------------------------------------------------------------------------ events

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        trace_id = event.row_key.value
        if trace_id:
            self.app.push_screen(TraceScreen(self.source, trace_id))

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        self.model.sort_by(str(event.column_key.value))
        self._fill()

    def action_cursor(self, step: int) -> None:
        table = self.query_one(DataTable)
        table.action_cursor_down() if step > 0 else table.action_cursor_up()

    def action_ends(self, last: int) -> None:
        """To the first trace of the list, or the last (as g and G go in a trace's tree)."""
        table = self.query_one(DataTable)
        if table.row_count:
            table.move_cursor(row=table.row_count - 1 if last else 0, scroll=True)

    def action_sort_next(self) -> None:
        """Sort by the next column (largest first)."""
        index = self._columns.index(self.model.sort_column) if self.model.sort_column in self._columns else -1
        column = self._columns[(index + 1) % len(self._columns)]
        self.model.sort_by(column)
        self._fill()

    def action_sort_reverse(self) -> None:
        self.model.reverse = not self.model.reverse
        self._fill()

    def action_copy_id(self) -> None:
        trace_id = self.current_id()
        if trace_id is None:
            self.app.bell()
            return
        self.app.copy_to_clipboard(trace_id)
        self.notify(f"copied {clean(trace_id, 100)} (through the terminal: OSC 52)", markup=False, timeout=3)

    async def action_quit(self) -> None:
        self.app.exit()

    # ------------------------------------------------------------------------------------------ filter

    def action_edit_filter(self) -> None:
        self._open_filter()

    def _open_filter(self) -> Widget:
        box = self.query_one("#filter", Input)
        if not self.source.filterable:
            self.notify("X-Ray reads filter expressions: a file's traces are all listed", markup=False)
            return box  # not shown: no key goes to it
        self.set_focus(box)
        return box

    def action_leave_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_focus:
            box.value = self.source.filter_expression or ""
            self._say("#filter-error", None)  # the rejected expression is gone from the box: so is its error
            self._leave_filter()

    def _leave_filter(self) -> None:
        table = self.query_one(TraceTable)
        table.keys_to = None
        self.set_focus(table)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self._say("#filter-error", Text("applying the filter…", DIM))
            self._apply_filter(event.value)

    @work(thread=True, exclusive=True, group="list")
    def _apply_filter(self, expression: str) -> None:
        try:
            rows = self.source.set_filter(expression)
        except Exception as exc:  # noqa: BLE001 - X-Ray's rejection is shown under the filter
            self._from_thread(self._filter_failed, failure_text(exc, refused_fix=FILTER_FIX))
            return
        self._from_thread(self._filtered, rows)

    def _filtered(self, rows: list[TraceRow]) -> None:
        self._say("#filter-error", None)
        self.model.replace_all(rows)
        self.refreshed = datetime.now(timezone.utc) if self.source.live else None
        self._fill()
        self._leave_filter()

    def _filter_failed(self, message: str) -> None:
        self._say("#filter-error", error_line(message))

    # ------------------------------------------------------------------------------------ live refresh

    def action_refresh(self) -> None:
        if self.source.live:
            self._poll()
        else:
            self.notify("the window has ended: nothing new can appear in it", markup=False, timeout=3)

    def _next_poll(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(delay, self._poll)

    def _poll(self) -> None:
        if self._refreshing:
            return
        if self._timer is not None:
            self._timer.stop()
        self._refreshing = True
        self._read_new()

    @work(thread=True, exclusive=True, group="refresh")
    def _read_new(self) -> None:
        started = time.monotonic()
        try:
            rows = self.source.refresh()
        except Exception as exc:  # noqa: BLE001 - a failed poll is a line; the next one may succeed
            self._from_thread(self._refresh_failed, failure_text(exc))
            return
        self._from_thread(self._refreshed, rows, time.monotonic() - started)

    def _refreshed(self, rows: list[TraceRow], took: float) -> None:
        self._refreshing = False
        self.refreshed = datetime.now(timezone.utc)
        self._say("#status", None)
        added = self.model.merge(rows)
        dropped = self.model.drop_before(self.source.window_start())
        if added or dropped:
            self._fill()
        else:
            self.query_one("#title", Static).update(self._title())
        self._next_poll(self._pace.after(news=bool(added)))

    def _refresh_failed(self, message: str) -> None:
        self._refreshing = False
        delay = self._pace.after_failure()
        line = error_line(message)
        line.append(f"  (polling again in {delay:.0f} s)", DIM)
        self._say("#status", line)
        self._next_poll(delay)

    def _from_thread(self, callback: object, *args: object) -> None:
        with contextlib.suppress(RuntimeError):  # the app has closed meanwhile
            self.app.call_from_thread(callback, *args)  # type: ignore[arg-type]


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return clean(value, CELL)


def _utc_day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d")


def _short_id(trace_id: str) -> str:
    """An X-Ray id to the first 8 digits of its random part (`1-6b1533cc-624ada4b…`), as a short git hash
    names a commit; any other id to as many characters."""
    text = clean(trace_id, 100)
    return text if len(text) <= SHORT_ID else text[: SHORT_ID - 1] + "…"
