"""One line per trace, for `tail`: start, duration, status, entry point, trace id, annotations.

    2026-11-24 01:18:42.331    293 ms  OK     xrayctl-demo (AWS::Lambda)  1-6b04e5f2-...  put_response=200

The fixed columns come first so that lines line up; the annotations end the line, whatever their length (a
pipe keeps them whole, a terminal wraps them). Trace text is cleaned into `rich.text.Text`, never markup.
"""

from __future__ import annotations

from datetime import datetime, timezone

from rich.text import Text

from xrayctl.render.format import DIM, STATUS_STYLES, WARNING_STYLE, fmt_duration, status_word
from xrayctl.text.sanitize import clean
from xrayctl.trace.model import Trace
from xrayctl.trace.rows import row_from_trace

ANNOTATION_CHARS = 200
ENTRY_CHARS = 80


def trace_line(trace: Trace) -> Text:
    """The trace as one line."""
    row = row_from_trace(trace)
    line = Text()
    if row.start is not None:
        moment = datetime.fromtimestamp(row.start, tz=timezone.utc)
        line.append(moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}")
    else:
        line.append("—".ljust(23))
    line.append(fmt_duration(row.duration).rjust(10))
    line.append("  ")
    line.append(status_word(row.status).ljust(8), STATUS_STYLES[row.status])
    if row.partial:
        line.append("partial ", WARNING_STYLE)
    entry = clean(row.entry, ENTRY_CHARS) if row.entry else "—"
    line.append(entry)
    if row.entry_type and row.entry_type != row.entry:
        line.append(f" ({clean(row.entry_type, ENTRY_CHARS)})", DIM)
    if row.http_status is not None:
        line.append(f"  HTTP {row.http_status}")
    line.append("  " + clean(row.trace_id, 100), DIM)
    for key, values in row.annotations.items():
        shown = ",".join(_value(value) for value in values)
        line.append(f"  {clean(key, 100)}={shown}", "cyan")
    return line


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return clean(value, ANNOTATION_CHARS)
