"""`invoke`: run the function with a trace id we choose, then wait for its trace and draw it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from xrayctl.cli.common import backend, echo_json, print_traces, progress, trace_warnings, warn_about
from xrayctl.cli.options import (
    AppState,
    details_option,
    function_options,
    global_options,
    state,
    timeout_option,
)
from xrayctl.cli.terminal import consoles, say
from xrayctl.errors import FunctionError, TraceNotFound, UsageError, XrayctlError

if TYPE_CHECKING:
    from xrayctl.aws.invoke import InvocationResult
    from xrayctl.local.options import FunctionOptions
    from xrayctl.trace.model import Trace

_DEFAULT = ParameterSource.DEFAULT


@click.command("invoke")
@click.option(
    "--function",
    "function_name",
    envvar="XRAYCTL_FUNCTION",
    metavar="NAME",
    help="Function name or ARN (env XRAYCTL_FUNCTION). With --local, the local function.",
)
@click.option(
    "--stack", "stack_name", metavar="STACK", help="Take the function from this SAM stack's outputs."
)
@click.option(
    "--bucket", help="Event bucket_name (default: the function's BUCKET_NAME, or the local stack's bucket)."
)
@click.option("--key", default="hello.txt", show_default=True, help="Event bucket_key.")
@click.option("--body", default="Hello from xrayctl", show_default=True, help="Event body.")
@click.option(
    "--payload",
    metavar="JSON|@FILE",
    help="Send this event instead of --bucket/--key/--body (at most 6 MB, Lambda's limit).",
)
@click.option(
    "--count",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="Invoke this many times, then draw every trace and compare them (cold starts, from Lambda's REPORT "
    "lines, marked).",
)
@click.option("--show/--no-show", default=True, show_default=True, help="Wait for the traces and draw them.")
@timeout_option(60.0, "How long to wait for the traces to be complete.")
@details_option
@function_options
@global_options
def invoke(
    function_name: str | None,
    stack_name: str | None,
    bucket: str | None,
    key: str,
    body: str,
    payload: str | None,
    count: int,
    show: bool,
    timeout: float,
    details: bool,
    function: FunctionOptions,
) -> None:
    """Invoke the function with a trace id of our choosing, then draw its trace."""
    from xrayctl.aws import invoke as invoking
    from xrayctl.aws.target import check_choice, resolve_targets
    from xrayctl.render.invocation import invocation_view

    app = state()
    ctx = click.get_current_context()
    given = [f"--{p}" for p in ("bucket", "key", "body") if ctx.get_parameter_source(p) is not _DEFAULT]
    if payload and given:
        raise UsageError(
            f"--payload replaces {', '.join(given)}.", "Give either --payload or the event fields."
        )
    if stack_name and ctx.get_parameter_source("function_name") is ParameterSource.ENVIRONMENT:
        function_name = None  # --stack on the command line wins over XRAYCTL_FUNCTION from the environment
    # What can be refused is refused before anything starts; the event's defaults need the function.
    check_choice(function_name, stack_name, local=app.local)
    sent = invoking.load_payload(payload) if payload else None
    out = consoles(app)[0]
    results: list[InvocationResult] = []
    traces: list[Trace] = []
    try:
        with (
            progress(app, "starting the local stack" if app.local else "connecting") as spinner,
            backend(app, function) as connected,
        ):
            local = connected.local
            targets = resolve_targets(
                function.sdk,
                function_name,
                stack_name,
                local=(local.function_name, local.bucket) if local else None,
                cloudformation=lambda: connected.clients.cloudformation,
                lambda_client=lambda: connected.clients.lambda_,
                need_bucket=sent is None and bucket is None,
            )
            events = []
            for target in targets:
                warn_about(app, target.warnings)
                default = invoking.build_event(bucket or target.bucket, key, body)
                events.append(sent if sent is not None else invoking.encode_event(default))
            for number in range(1, count + 1):
                # --sdk both: the same event to each function, one after the other.
                for target, event in zip(targets, events, strict=True):
                    name = target.function_name
                    spinner.say(f"invoking {name}" + (f" ({number}/{count})" if count > 1 else ""))
                    result = invoking.invoke(connected.clients.lambda_, name, event)
                    results.append(result)
                    if app.output == "text":
                        spinner.show(out, invocation_view(result))
            if show:
                spinner.say("waiting for the traces")
                traces = connected.reader().wait_for_traces(
                    [r.trace_id for r in results],
                    timeout=timeout,
                    on_poll=lambda status: spinner.say(f"waiting for the traces: {status}"),
                    with_summary=True,
                )
    except (XrayctlError, KeyboardInterrupt) as exc:
        # What already happened is reported before the error: an invocation ran, whatever failed after it.
        found = exc.found if isinstance(exc, TraceNotFound) else []
        _report(app, results, found, details=details, one_scale=function.sdk == "both")
        raise
    _report(app, results, traces, details=details, one_scale=function.sdk == "both")
    failed = [r for r in results if r.function_error]
    if failed:
        said = "The invocation" if len(results) == 1 else f"{len(failed)} of {len(results)} invocations"
        raise FunctionError(
            f"{said} failed ({failed[0].function_error}).",
            "The error payload is shown above.",
        )


def _report(
    app: AppState,
    results: list[InvocationResult],
    traces: list[Trace],
    *,
    details: bool,
    one_scale: bool = False,
) -> None:
    """The invocations (text mode printed them as they came) and their traces, in the chosen format; in
    text, a table of each invocation's HTTP status beside its trace's first, once the traces are read, and
    several invocations of a function end with their comparison."""
    from xrayctl.render.compare import comparison_to_dict, comparison_view
    from xrayctl.render.schema import invocation_to_dict, trace_to_dict
    from xrayctl.trace.compare import compare_invocations

    # Several invocations of a function end with their comparison, the cold starts marked (trace.compare).
    comparisons = compare_invocations(traces, [(r.trace_id, r.log_tail, r.function_name) for r in results])
    if app.output == "json":
        if results:
            by_id = {trace.id: trace for trace in traces}
            echo_json(
                {
                    "invocations": [invocation_to_dict(r, by_id.get(r.trace_id)) for r in results],
                    "traces": [trace_to_dict(t) for t in traces],
                    "comparisons": [
                        {"function_name": name, **comparison_to_dict(comparison)}
                        for name, comparison in comparisons
                    ],
                }
            )
        warn_about(app, trace_warnings(traces))
    elif traces:
        from rich.rule import Rule

        from xrayctl.render.invocation import invocations_view

        out, err = consoles(app)
        table = invocations_view(results, traces)
        out.print(table)
        out.print()
        if table.notes:
            say(
                err,
                f"to fit {out.width} columns: {'; '.join(table.notes)} (-o json has all of it)",
                style="dim",
            )
        print_traces(app, traces, details=details, out=out, one_scale=one_scale)
        for name, comparison in comparisons:
            out.print(Rule(style="dim"), comparison_view(comparison, function=name))
    for result in results:
        warn_about(app, result.warnings)
