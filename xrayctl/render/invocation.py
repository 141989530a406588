"""Lambda invocations for the terminal: one's result as it comes (status, cold start, function error,
payload, log tail), and once their traces are read, a table of each one's HTTP status beside its trace's;
and `local serve`'s line for each invocation it runs.

The payload and the log tail come from the function, so they are as untrusted as any trace text: every line
goes through `sanitize.clean` into a `Text`. Both are cut (payload to its first lines, log to its last) with a
line saying how much was left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.style import Style
from rich.text import Text

from xrayctl.aws.invoke import InvocationResult, parse_payload, payload_text
from xrayctl.render.format import DIM, EXCEPTION_STYLE, STATUS_STYLES, fmt_duration, status_word
from xrayctl.render.tables import Column, Grid
from xrayctl.text.jsonwrite import iter_json
from xrayctl.text.sanitize import clean
from xrayctl.trace.model import Trace
from xrayctl.trace.status import trace_status

if TYPE_CHECKING:
    from xrayctl.local.lambda_.service import InvocationReport

PAYLOAD_LINES = 40
LOG_LINES = 20
INDENT = "  "
LABEL = Style(dim=True)


def invocation_view(result: InvocationResult) -> Group:
    title = Text()
    title.append("Invoked ", LABEL)
    title.append(clean(result.function_name, 200), Style(bold=True))
    if result.executed_version:
        title.append(f" ({clean(result.executed_version, 50)})", DIM)
    title.append("  ")
    # A 200 says the call reached the function, not that the request went well: the trace says that (a
    # function that catches its own failure answers 200 over a FAULT trace), so only a failure is coloured.
    ok = 200 <= result.status_code < 300 and not result.function_error
    title.append(f"status {result.status_code}", None if ok else STATUS_STYLES["fault"])
    start = start_text(result)
    if start:
        title.append(f"  {start}", DIM)
    lines: list[RenderableType] = [title]
    # Ids on lines of their own: a wrapped id cannot be copied in one go.
    for label, value in (("trace", result.trace_id), ("request", result.request_id)):
        if value:
            line = Text(INDENT + f"{label} ", LABEL, no_wrap=True, overflow="ellipsis")
            line.append(clean(value, 100), Style())
            lines.append(line)
    if result.function_error:
        lines.append(Text(f"✗ function error: {clean(result.function_error, 200)}", EXCEPTION_STYLE))

    text = payload_text(result.payload)
    if text:
        lines.append(Text("payload", LABEL))
        lines.append(_Indented([Text(line) for line in _payload_lines(text)]))
    if result.log_tail:
        log = result.log_tail.splitlines()
        lines.append(Text("log tail", LABEL))
        if len(log) > LOG_LINES:
            lines.append(_Indented([Text(f"… {len(log) - LOG_LINES} earlier lines", DIM)]))
        # Lambda's REPORT line is tab-separated; a tab would otherwise show as an escaped \x09.
        lines.append(_Indented([Text(clean(line.expandtabs(2)), DIM) for line in log[-LOG_LINES:]]))
    lines.append(Text(""))  # a blank line before whatever follows (the next invocation, the trace)
    return Group(*lines)


def start_text(result: InvocationResult) -> str:
    """`cold start, init 276 ms, ran 17 ms` or `warm, ran 4.1 ms`, from the REPORT line ("" without one)."""
    report = result.report
    if report is None:
        return ""
    parts = [f"cold start, init {fmt_duration(report.init_duration)}" if result.cold_start else "warm"]
    if report.duration is not None:
        parts.append(f"ran {fmt_duration(report.duration)}")
    return ", ".join(parts)


class InvocationsView:
    """The invocations' table (`invocations_table`); with several functions (`--sdk both`), a table for
    each under the function's name, its invocations numbered from 1. After rendering, `notes` says what the
    tables gave up to fit, for stderr."""

    def __init__(self, tables: list[tuple[str | None, Grid]]) -> None:
        self.tables = tables

    @property
    def notes(self) -> list[str]:
        return list(dict.fromkeys(note for _, table in self.tables for note in table.notes))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for index, (title, table) in enumerate(self.tables):
            if index:
                yield Text("")
            if title is not None:
                yield Text(title, Style(bold=True))
            yield table


def invocations_view(results: Sequence[InvocationResult], traces: Sequence[Trace]) -> InvocationsView:
    """The invocations by function, in the order first invoked; titled by their function when there are
    several."""
    by_function: dict[str, list[InvocationResult]] = {}
    for result in results:
        by_function.setdefault(result.function_name, []).append(result)
    several = len(by_function) > 1
    return InvocationsView(
        [
            (clean(name, 200) if several else None, invocations_table(invocations, traces))
            for name, invocations in by_function.items()
        ]
    )


def invocations_table(results: Sequence[InvocationResult], traces: Sequence[Trace]) -> Grid:
    """One row per invocation once its trace is known: the HTTP status beside the trace's (a 200 over a
    FAULT trace is a failure the function caught), which was a cold start, and for how long it ran.

    The trace id is what a user copies from it into `show-trace`: it is never cut. On a narrow terminal
    the run time and init duration go first (each invocation's line above says them too)."""
    statuses = {trace.id: trace_status(trace) for trace in traces}
    columns = [
        Column("#", right=True),
        Column("http", right=True),
        Column("trace"),
        Column("start"),
        Column("init", right=True, droppable=True),
        Column("ran", right=True, droppable=True),
        Column("trace id", uncut=True),
    ]
    rows: list[list[tuple[str, Style | None]]] = []
    for number, result in enumerate(results, 1):
        status = statuses.get(result.trace_id)
        report = result.report
        failed = not 200 <= result.status_code < 300 or result.function_error
        cold = result.cold_start
        rows.append(
            [
                (str(number), None),
                (str(result.status_code), STATUS_STYLES["fault"] if failed else None),
                (status_word(status) if status else "not read", STATUS_STYLES.get(status or "", DIM)),
                ("—" if cold is None else "cold" if cold else "warm", None),
                (fmt_duration(report.init_duration) if report and report.init_duration else "—", None),
                (fmt_duration(report.duration) if report and report.duration is not None else "—", None),
                (clean(result.trace_id, 100), None),
            ]
        )
    return Grid(columns, rows, empty="no invocations")


def _payload_lines(text: str) -> list[str]:
    """The first lines of the payload, pretty JSON when it parses, each cleaned for the terminal."""
    parsed, value = parse_payload(text)
    lines = list(_first_lines(iter_json(value, 2), PAYLOAD_LINES + 1)) if parsed else text.splitlines()
    shown = [clean(line) for line in lines[:PAYLOAD_LINES]]
    if len(lines) > PAYLOAD_LINES:
        shown.append("… (payload cut: --output json has all of it)")
    return shown


def _first_lines(chunks: Iterator[str], count: int) -> Iterator[str]:
    """The first `count` lines of text given in chunks, without joining the rest."""
    pending = ""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line
            count -= 1
            if count == 0:
                return
    yield pending


class _Indented:
    """Indented lines that wrap under their indent rather than being cut (the end of a payload string or of
    Lambda's REPORT line, with the durations and memory, is what the reader came for), with no trailing
    padding for a pipe to keep."""

    def __init__(self, lines: list[Text]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(1, options.max_width - len(INDENT))
        for text in self.lines:
            for line in text.wrap(console, width, overflow="fold"):
                yield Text(INDENT) + line


def serve_line(report: InvocationReport) -> str:
    """`local serve`'s line for one invocation, as plain text (the caller escapes it). The function's own
    subsegments reach the store through the daemon after the invocation is answered, so the trace's status is
    not known yet: the line says whether the function returned, not whether its trace is OK."""
    outcome = "function returned" if report.failure is None else f"failed ({report.failure})"
    took = f", {1000 * report.duration:.1f} ms" if report.duration is not None else ""
    cold = ", cold start" if report.cold else ""
    ids = f"request {report.request_id}, trace {report.trace_id}"
    return f"invoked {report.function_name}: {ids}, {outcome}{took}{cold}"
