"""`show-trace` and `list-annotations`: reading traces that already exist."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from xrayctl.cli.common import backend, echo_json, print_traces, progress, showing_found, warn_about
from xrayctl.cli.exporting import check_export, export_options
from xrayctl.cli.options import (
    AppState,
    details_option,
    global_options,
    reading_options,
    state,
    window_options,
)
from xrayctl.cli.terminal import consoles, say
from xrayctl.errors import UsageError

if TYPE_CHECKING:
    from xrayctl.aws.indexing import Coverage
    from xrayctl.trace.annotations import Listing, ValueStats
    from xrayctl.trace.model import Trace


@click.command("show-trace")
@click.argument("trace_ids", nargs=-1, metavar="[TRACE_ID]...")
@reading_options("Draw")
@details_option
@click.option(
    "--critical-path",
    "critical",
    is_flag=True,
    help="Mark the nodes on the critical path with the time each adds to the trace (JSON always has it).",
)
@export_options
@global_options
def show_trace(
    trace_ids: tuple[str, ...],
    input_file: str | None,
    input_format: str,
    wait: bool,
    timeout: float,
    details: bool,
    critical: bool,
    export: Path | None,
    width: int | None,
) -> None:
    """Draw traces as a tree of segments with a timeline.

    TRACE_ID is an X-Ray id (1-5f84c7a1-a1b2c3d4e5f6a7b8c9d0e1f2), a W3C id (32 hex digits), an
    X-Amzn-Trace-Id header (Root=1-...;Parent=...;Sampled=1) or a W3C traceparent (00-<32 hex>-<16 hex>-01).
    With Transaction Search on, the traces are read through trace retrievals (StartTraceRetrieval).
    """
    from xrayctl.trace.ids import normalize_trace_id

    app = state()
    ids = [normalize_trace_id(text) for text in trace_ids]  # rejects a bad id before any call
    if input_file is None and not ids:
        raise UsageError("no trace id given.", "Pass one or more trace ids, or --input FILE.")
    check_export(app, export)
    with showing_found(app, details=details, critical=critical, export=export, width=width):
        traces = read_traces(app, ids, input_file, input_format, wait=wait, timeout=timeout)
    print_traces(app, traces, details=details, critical=critical, export=export, width=width)


def read_traces(
    app: AppState,
    ids: list[str],
    input_file: str | None,
    input_format: str,
    *,
    wait: bool,
    timeout: float,
) -> list[Trace]:
    if input_file is not None:
        from xrayctl.trace.formats import load_traces_file

        return load_traces_file(input_file, fmt=input_format, only=ids or None)
    with progress(app, "connecting") as spinner, backend(app) as connected:
        reader = connected.reader()
        if wait:
            spinner.say("waiting for X-Ray")
            return reader.wait_for_traces(
                ids,
                timeout=timeout,
                on_poll=lambda status: spinner.say(f"waiting for X-Ray: {status}"),
                with_summary=True,
            )
        spinner.say("reading from X-Ray")
        return reader.fetch_traces(ids, with_summary=True, timeout=timeout)


@click.command("list-annotations")
@window_options
@click.option(
    "--filter",
    "filter_expression",
    metavar="EXPR",
    help="X-Ray filter expression, e.g. 'annotation.put_response = 200 AND duration > 1'.",
)
@click.option("--key", "keys", multiple=True, metavar="KEY", help="Only these annotation keys (repeatable).")
@click.option("--summary", is_flag=True, help="Per key: each value with its trace count and duration stats.")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(["fault", "error", "throttle", "ok"]),
    help="Only traces with this status (repeatable: any of them); AND'd with --filter.",
)
@click.option(
    "--sort",
    type=click.Choice(["duration", "response", "start"]),
    help="Largest first: duration, response time, or start (newest first, the default order).",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    metavar="N",
    help="Only the first N traces in --sort's order (--summary: summarize those N).",
)
@global_options
def list_annotations(
    since: str | None,
    start: str | None,
    end: str | None,
    filter_expression: str | None,
    keys: tuple[str, ...],
    summary: bool,
    statuses: tuple[str, ...],
    sort: str | None,
    limit: int | None,
) -> None:
    """List annotations across the traces of a time window (from trace summaries, no per-trace fetch)."""
    from xrayctl.aws.retention import retained
    from xrayctl.text.timeparse import resolve_window
    from xrayctl.trace import annotations, ranking

    app = state()
    # What X-Ray does not keep is not read; the user is told before the reading starts.
    window = retained(*resolve_window(since=since, start=start, end=end))
    warn_about(app, window.notes)
    filter_expression_given = bool(filter_expression and filter_expression.strip())
    filter_expression = ranking.status_filter(statuses, filter_expression)
    with progress(app, "connecting") as spinner, backend(app) as connected:
        spinner.say("reading trace summaries")
        reader = connected.reader(rows=True)
        pages = reader.summary_pages(window.start, window.end, filter_expression=filter_expression)
        found = annotations.listing(pages, keys, sort=sort, limit=limit)
        covered = reader.summary_coverage()  # Transaction Search indexes only a fraction of the traces
    if app.output == "json":
        bounds = {"start": window.start.isoformat(), "end": window.end.isoformat()}
        if summary:
            echo_json({**bounds, "values": [annotations.stats_to_dict(s) for s in _stats(found)]})
        else:
            echo_json({**bounds, "traces": [annotations.row_to_dict(row, found.keys) for row in found.rows]})
        _say_coverage(app, covered)
        return
    from xrayctl.render.tables import listing_line, listing_view, matching_text

    out, err = consoles(app)
    matching = matching_text(list(dict.fromkeys(statuses)), bool(filter_expression_given))
    table = listing_view(found, summary=summary, matching=matching)
    out.print(table)
    line = listing_line(
        found, window.start, window.end, keys=found.keys if keys else (), matching=matching, summary=summary
    )
    say(err, line, style="dim")
    if table.notes:
        say(err, f"to fit {out.width} columns: {'; '.join(table.notes)} (-o json has all of it)", style="dim")
    _say_coverage(app, covered)


def _say_coverage(app: AppState, covered: Coverage | None) -> None:
    """With Transaction Search on, what share of the traffic the list stands for (on stderr)."""
    if covered is not None:
        from xrayctl.text.sanitize import clean

        # Rule names come from the account: shown escaped, like any text from outside.
        say(consoles(app)[1], clean(covered.note(), 2000), style="yellow")


def _stats(found: Listing) -> list[ValueStats]:
    from xrayctl.trace.annotations import summarize

    return summarize(found.rows, found.keys)
