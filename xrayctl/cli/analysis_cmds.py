"""`compare` and `service-map`: answers drawn from traces that already exist."""

from __future__ import annotations

from pathlib import Path

import click

from xrayctl.cli.common import backend, echo_json, progress, trace_warnings, warn_about
from xrayctl.cli.exporting import check_export, export_options, show_view
from xrayctl.cli.options import global_options, reading_options, state, window_options
from xrayctl.cli.terminal import consoles, say
from xrayctl.cli.traces_cmds import read_traces
from xrayctl.errors import UsageError


@click.command("compare")
@click.argument("trace_ids", nargs=-1, metavar="[A B [C]...]")
@reading_options("Compare (without ids: all)")
@export_options
@global_options
def compare(
    trace_ids: tuple[str, ...],
    input_file: str | None,
    input_format: str,
    wait: bool,
    timeout: float,
    export: Path | None,
    width: int | None,
) -> None:
    """Compare traces node by node: their trees merged by the path of names, durations side by side.

    Nodes are matched by their names and origins from the root (repeated siblings in order); each trace's
    duration of a node is shown on one time scale, with its difference to the first trace (A).
    """
    from xrayctl.render.compare import comparison_to_dict, comparison_view
    from xrayctl.render.format import counted
    from xrayctl.trace.compare import MAX_TRACES, merge
    from xrayctl.trace.ids import normalize_trace_id

    app = state()
    ids = list(dict.fromkeys(normalize_trace_id(text) for text in trace_ids))
    if (input_file is None and len(ids) < 2) or len(ids) == 1:
        raise UsageError("compare needs two traces or more.", "Pass two or more different trace ids.")
    if len(ids) > MAX_TRACES:
        raise UsageError(f"compare takes at most {MAX_TRACES} traces, not {len(ids)}.", "Pass fewer ids.")
    check_export(app, export)
    traces = read_traces(app, ids, input_file, input_format, wait=wait, timeout=timeout)
    if ids:  # in the order given, which is what A, B, ... name
        order = {trace_id: index for index, trace_id in enumerate(ids)}
        traces.sort(key=lambda trace: order.get(trace.id, len(order)))
    if not 2 <= len(traces) <= MAX_TRACES:
        source = input_file or "the input"
        raise UsageError(
            f"{source} holds {counted(len(traces), 'trace')}; compare takes 2 to {MAX_TRACES}.",
            "Name the traces to compare after --input.",
        )
    comparison = merge(traces)
    if app.output == "json":
        echo_json(comparison_to_dict(comparison))
    else:
        show_view(app, comparison_view(comparison), export=export, width=width, title="xrayctl compare")
    warn_about(app, trace_warnings(traces))


@click.command("service-map")
@click.argument("trace_ids", nargs=-1, metavar="[TRACE_ID...]")
@window_options
@export_options
@global_options
def service_map(
    trace_ids: tuple[str, ...],
    since: str | None,
    start: str | None,
    end: str | None,
    export: Path | None,
    width: int | None,
) -> None:
    """Draw the services of a time window (GetServiceGraph), or of given traces (GetTraceGraph).

    Each service with its type, requests, OK / error / fault / throttle counts and response-time
    percentiles, and under it the edge that reached it, from the entry points (clients) down.
    """
    from xrayctl.aws import graphs
    from xrayctl.render.servicemap import service_map_to_dict, service_map_view
    from xrayctl.trace.ids import normalize_trace_id
    from xrayctl.trace.servicemap import build_map

    app = state()
    ids = list(dict.fromkeys(normalize_trace_id(text) for text in trace_ids))
    if ids and (since or start or end):
        raise UsageError("trace ids and a time window both choose the traces.", "Give one of them.")
    if len(ids) > graphs.MAX_TRACE_IDS:
        raise UsageError(
            f"service-map takes at most {graphs.MAX_TRACE_IDS} trace ids, not {len(ids)}.",
            "Use a time window (--since, --start/--end) for more.",
        )
    check_export(app, export)
    if not ids:
        from xrayctl.text.timeparse import resolve_window

        window = resolve_window(since=since, start=start, end=end)
    with progress(app, "connecting") as spinner, backend(app) as connected:
        spinner.say("reading the service graph")
        client = connected.clients.xray
        answer = graphs.trace_graph(client, ids) if ids else graphs.service_graph(client, *window)
    found = build_map(answer.calls, start=answer.start, end=answer.end)
    if app.output == "json":
        echo_json(service_map_to_dict(found))
    else:
        view = service_map_view(found, traces=len(ids) if ids else None)
        columns = show_view(app, view, export=export, width=width, title="xrayctl service-map")
        if view.notes:
            say(
                consoles(app)[1], f"to fit {columns} columns: {'; '.join(view.notes)} (-o json has all of it)"
            )
    warn_about(app, found.warnings)
