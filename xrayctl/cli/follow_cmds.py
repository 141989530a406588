"""`browse` and `tail`: traces as they arrive, in a terminal app or one line (or tree) each.

Both read the first answer before anything is drawn, so that a failure there (no credentials, a rejected
filter, access denied, ...) is the CLI's one line and exit code; after that, `browse` shows failures in the
app and `tail` on stderr, and both poll on.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

import click

from xrayctl.cli.common import backend, progress, trace_warnings, warn_about
from xrayctl.cli.options import AppState, Seconds, global_options, input_options, state, window_options
from xrayctl.cli.terminal import consoles
from xrayctl.errors import UsageError

STATUS_CHOICE = click.Choice(["fault", "error", "throttle", "ok"])


def _filter_options(func: click.decorators.FC) -> click.decorators.FC:
    func = click.option(
        "--status",
        "statuses",
        multiple=True,
        type=STATUS_CHOICE,
        help="Only traces with this status (repeatable: any of them); AND'd with --filter.",
    )(func)
    return click.option(
        "--filter",
        "filter_expression",
        metavar="EXPR",
        help="X-Ray filter expression, e.g. 'annotation.put_response = 200 AND duration > 1'.",
    )(func)


@click.command("browse")
@window_options
@_filter_options
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=1000,
    show_default=True,
    metavar="N",
    help="Traces listed at most (the newest; 1 to 10,000).",
)
@input_options("Browse")
@global_options
def browse(
    since: str | None,
    start: str | None,
    end: str | None,
    filter_expression: str | None,
    statuses: tuple[str, ...],
    limit: int,
    input_file: str | None,
    input_format: str,
) -> None:
    """Browse traces in a terminal app: the trace list of a window, live while it ends now; each trace's tree
    with its timeline, folded, searched, its nodes' details.

    Keys: arrows or j/k, Enter opens, Esc or q goes back, / searches, f edits the filter, ? lists them all.
    """
    app = state()
    if app.output == "json":
        raise UsageError(
            "browse is interactive: it has no JSON output.",
            "Use list-annotations -o json for a window, tail -o json to follow new traces.",
        )
    if input_file == "-":
        raise UsageError("browse reads its keys from standard input: it cannot read traces from it too.")
    if input_file is not None and (filter_expression or statuses or since or start or end):
        raise UsageError(
            "--filter, --status and the window options ask X-Ray; --input reads a file.",
            "Give either --input or those options.",
        )
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(
            "browse needs a terminal (its input and output are not one).",
            "Use list-annotations or tail in a pipe or a script.",
        )
    if input_file is not None:
        _browse_file(app, input_file, input_format, limit)
        return
    from xrayctl.text.timeparse import parse_since, resolve_window
    from xrayctl.tui.source import LiveSource

    window_start, window_end = resolve_window(since=since, start=start, end=end)
    sliding = parse_since(since or "15m") if start is None and end is None else None
    with backend(app) as connected:
        label = (
            "local stack" if connected.local is not None else f"AWS {connected.clients.xray.meta.region_name}"
        )
        source = LiveSource(
            connected.reader(),
            start=window_start,
            end=window_end if end is not None else None,
            since=sliding,
            filter_expression=filter_expression,
            statuses=statuses,
            limit=limit,
            settle_time=connected.settle_time,
            local=connected.local is not None,
            label=label,
        )
        with progress(app, "reading trace summaries"):
            rows = source.first()
            note = source.coverage_note()
        from xrayctl.tui.app import run_browser

        run_browser(source, rows, limit=limit, note=note, no_color=app.no_color)


def _browse_file(app: AppState, input_file: str, input_format: str, limit: int) -> None:
    from xrayctl.trace.formats import load_traces_file
    from xrayctl.tui.source import FileSource

    traces = load_traces_file(input_file, fmt=input_format)
    source = FileSource(traces, name=input_file)
    rows = source.first()
    from xrayctl.tui.app import run_browser

    run_browser(source, rows, limit=limit, no_color=app.no_color)


@click.command("tail")
@click.option(
    "--since",
    metavar="DURATION",
    help="Also the traces of this long before now (15m, 2h), as they complete; default: only new ones.",
)
@_filter_options
@click.option("--tree", is_flag=True, help="Draw each trace as show-trace does instead of one line.")
@click.option("--details", is_flag=True, help="With --tree: http, aws, sql, metadata and stacks too.")
@click.option(
    "--count",
    type=click.IntRange(min=1),
    metavar="N",
    help="Stop after N traces (exit 0); without it, Ctrl-C stops (exit 130).",
)
@click.option(
    "--timeout",
    type=Seconds(min=1),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="How long a trace is read until complete; one still incomplete then is printed with a warning.",
)
@global_options
def tail(
    since: str | None,
    filter_expression: str | None,
    statuses: tuple[str, ...],
    tree: bool,
    details: bool,
    count: int | None,
    timeout: float,
) -> None:
    """Follow new traces as X-Ray completes them: one line each, or --tree to draw each.

    A trace is printed once, when complete (the rule of show-trace --wait: nothing in progress and its
    documents unchanged for a moment). -o json writes one JSON object a line, the trace object of the README's
    schema. Stops after --count N traces, or on Ctrl-C (exit 130, as `tail -f` in a shell).
    """
    from xrayctl.aws.follow import follow_traces
    from xrayctl.text.timeparse import parse_since
    from xrayctl.trace import ranking

    app = state()
    now = datetime.now(timezone.utc)
    start = now - (parse_since(since) if since is not None else timedelta(0))
    expression = ranking.status_filter(statuses, filter_expression)
    out, err = consoles(app)
    printed = 0
    with backend(app) as connected:
        followed = follow_traces(
            connected.reader(),
            start=start,
            filter_expression=expression,
            settle_time=connected.settle_time,
            timeout=timeout,
            local=connected.local is not None,
        )
        if err.is_terminal and app.output != "json":
            err.print(f"following traces from {start:%H:%M:%S} UTC (Ctrl-C stops)", style="dim", markup=False)
        for item in followed:
            if isinstance(item, str):
                warn_about(app, [item])
                continue
            if app.output == "json":
                from xrayctl.render.schema import trace_to_dict
                from xrayctl.text.jsonwrite import dumps

                click.echo(dumps(trace_to_dict(item), indent=None))
            elif tree:
                from rich.rule import Rule

                from xrayctl.render.tree import trace_view

                if printed:
                    out.print(Rule(style="dim"))
                out.print(trace_view(item, details=details, with_warnings=False))
            else:
                from xrayctl.render.oneline import trace_line

                out.print(trace_line(item), soft_wrap=True)
            warn_about(app, trace_warnings([item]))
            printed += 1
            if count is not None and printed >= count:
                return
