"""`invoke`: run the function with a trace id we choose, then wait for its trace and draw it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from xrayctl.cli.common import backend, echo_json, print_traces, progress, showing_found
from xrayctl.cli.options import details_option, global_options, state, timeout_option
from xrayctl.cli.terminal import consoles
from xrayctl.errors import FunctionError, UsageError

if TYPE_CHECKING:
    from xrayctl.model import Trace

_DEFAULT = click.core.ParameterSource.DEFAULT


def stack_options(func: click.decorators.FC) -> click.decorators.FC:
    """Options that shape the local stack's function (used by `invoke --local` and `local serve`)."""
    func = click.option(
        "--handler",
        metavar="MODULE.FUNCTION",
        help="With --local: the handler to run (default lambda_function.lambda_handler).",
    )(func)
    func = click.option(
        "--code",
        "code_dir",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="With --local: run the Python handler in this folder instead of xrayctl's function.",
    )(func)
    return click.option(
        "--function-timeout",
        type=click.FloatRange(min=0.1),
        metavar="SECONDS",
        help="With --local: the function timeout (default 3 s, as in Lambda).",
    )(func)


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
@click.option("--bucket", help="Event bucket_name (default: the function's BUCKET_NAME).")
@click.option("--key", default="hello.txt", show_default=True, help="Event bucket_key.")
@click.option("--body", default="Hello from xrayctl", show_default=True, help="Event body.")
@click.option("--payload", metavar="JSON|@FILE", help="Send this event instead of --bucket/--key/--body.")
@click.option(
    "--count",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="Invoke this many times (the first is the cold start), then draw every trace.",
)
@click.option("--show/--no-show", default=True, show_default=True, help="Wait for the traces and draw them.")
@timeout_option(60.0, "How long to wait for the traces to be complete.")
@details_option
@stack_options
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
    handler: str | None,
    code_dir: Path | None,
    function_timeout: float | None,
) -> None:
    """Invoke the function with a trace id of our choosing, then draw its trace."""
    from xrayctl import invoke as invoking
    from xrayctl.render.invocation import invocation_view
    from xrayctl.render.jsonout import invocation_to_dict

    app = state()
    ctx = click.get_current_context()
    given = [f"--{p}" for p in ("bucket", "key", "body") if ctx.get_parameter_source(p) is not _DEFAULT]
    if payload and given:
        raise UsageError(
            f"--payload replaces {', '.join(given)}.", "Give either --payload or the event fields."
        )
    event = (
        invoking.load_payload(payload)
        if payload
        else invoking.encode_event(invoking.build_event(bucket, key, body))
    )
    local_options = {"code_dir": code_dir, "handler": handler, "timeout": function_timeout}
    out, err = consoles(app)
    results = []
    traces: list[Trace] = []
    with (
        progress(app, "starting the local stack" if app.local else "connecting") as say,
        backend(app, **{k: v for k, v in local_options.items() if v is not None}) as connected,
    ):
        name = function_name or (connected.local.function_name if connected.local else None)
        if stack_name and not function_name:
            name = invoking.function_from_stack(connected.clients.cloudformation, stack_name)
        if not name:
            raise UsageError(
                "no function given.", "Pass --function NAME, set XRAYCTL_FUNCTION, or --stack STACK."
            )
        for number in range(1, count + 1):
            say(f"invoking {name}" + (f" ({number}/{count})" if count > 1 else ""))
            result = invoking.invoke(connected.clients.lambda_, name, event)
            results.append(result)
            if app.output == "text":
                out.print(invocation_view(result))
        if show:
            say("waiting for the traces")
            with showing_found(app, details=details):
                traces = connected.reader().wait_for_traces(
                    [r.trace_id for r in results],
                    timeout=timeout,
                    on_poll=lambda status: say(f"waiting for the traces: {status}"),
                    with_summary=True,
                )
    if app.output == "json":
        from xrayctl.render.jsonout import trace_to_dict

        echo_json(
            {
                "invocations": [invocation_to_dict(r) for r in results],
                "traces": [trace_to_dict(t) for t in traces],
            }
        )
    elif traces:
        print_traces(app, traces, details=details, out=out)
    for result in results:
        for warning in result.warnings:
            err.print(f"warning: {warning}", style="yellow", markup=False)
    failed = [r for r in results if r.function_error]
    if failed:
        raise FunctionError(
            f"{len(failed)} of {len(results)} invocations failed ({failed[0].function_error}).",
            "The error payload is shown above.",
        )
