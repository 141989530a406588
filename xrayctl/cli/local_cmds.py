"""`local serve`, `local env` and `local reset`: the embedded stack on its own."""

from __future__ import annotations

import shlex
import signal
import sys
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING

import click

from xrayctl.cli.common import echo_json
from xrayctl.cli.logs import logging_to_stderr
from xrayctl.cli.options import API_DELAY, function_options, some_global_options, state
from xrayctl.cli.terminal import consoles
from xrayctl.text.sanitize import clean

if TYPE_CHECKING:
    from xrayctl.local.lambda_.service import InvocationReport
    from xrayctl.local.options import FunctionOptions
    from xrayctl.local.stack import LocalStack


@click.group("local")
@some_global_options("debug")
def local() -> None:
    """The embedded local stack: X-Ray API, daemon, Lambda and S3 on 127.0.0.1, no AWS account."""


@local.command("serve")
@click.option(
    "--api-delay",
    type=API_DELAY,
    default=0.0,
    metavar="SECONDS",
    help="Add this latency, 0 to 60, to every X-Ray API answer (for benchmarks).",
)
@click.option(
    "--transaction-search",
    is_flag=True,
    help="Turn Transaction Search on in the store, ACTIVE at once (destination CloudWatchLogs: "
    "BatchGetTraces finds nothing, traces are retrieved with StartTraceRetrieval). It stays on with the "
    "store; `aws xray update-trace-segment-destination --destination XRay` turns it off.",
)
@function_options
@some_global_options("no_color", "debug")
def serve(api_delay: float, transaction_search: bool, function: FunctionOptions) -> None:
    """Run the local stack in the foreground until Ctrl-C.

    Prints the environment that points the AWS CLI, `sam traces` or boto3 at it; other xrayctl commands given
    --local use it while it runs.
    """
    from xrayctl.local.options import StackOptions
    from xrayctl.local.running import serving

    app = state()
    err = consoles(app)[1]

    from xrayctl.render.invocation import serve_line

    def report(invocation: InvocationReport) -> None:
        # From the Lambda service's request threads, as each invocation ends; the request and trace ids
        # come from the caller: shown escaped.
        err.print(clean(serve_line(invocation)), markup=False)

    # Ctrl-C is how serve is meant to stop, and SIGTERM (kill, a supervisor) must stop it as cleanly: both end
    # the loop below, the stack stops (no orphan runtime process) and serve exits 0.
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    served: list[LocalStack] = []
    try:
        options = StackOptions(function, api_delay=api_delay, transaction_search=transaction_search)
        with (
            logging_to_stderr(app.debug),
            serving(app.xrayctl_home, options, on_invocation=report) as stack,
        ):
            served.append(stack)
            for line in stack.env_lines():
                click.echo(line)
            settings = stack.search_settings()
            if settings.transaction_search(time.time()):  # kept with the store: say so, it changes every read
                mode = f"; Transaction Search on (CloudWatchLogs, indexing {settings.percentage:g}%)"
            else:
                mode = ""
            err.print(
                f"local stack running (store: {app.xrayctl_home}{mode}); Ctrl-C to stop",
                style="dim",
                markup=False,
            )
            while not stop.wait(0.5):
                pass
    finally:
        for sig, old_handler in previous.items():
            signal.signal(sig, old_handler)
        # Counted once the stack has stopped: the daemon has drained its queue into the store by then, so
        # every datagram is counted (a count taken before would miss the last batch).
        for stack in served:
            stats = stack.daemon_stats
            reasons = ", ".join(f"{n} {reason.value}" for reason, n in stats.rejected_by_reason.items())
            err.print(
                f"daemon: received {stats.received}, stored {stats.stored}, rejected {stats.rejected}"
                + (f" ({reasons})" if reasons else "")
                + (f", OpenTelemetry spans {stats.spans}" if stats.spans else "")
                + (f", unsampled {stats.unsampled}" if stats.unsampled else "")
                + (f", lost by the kernel {stats.dropped_by_kernel}" if stats.dropped_by_kernel else ""),
                markup=False,
            )


@local.command("env")
@some_global_options("output", "debug")
def env() -> None:
    """Print `export` lines for the running `local serve`: eval "$(xrayctl local env)" (-o json: an object).

    They point the AWS CLI, `sam traces`, boto3 and the X-Ray SDK at the local stack.
    """
    from xrayctl.errors import LocalStackError
    from xrayctl.local.servefile import find_running

    app = state()
    running = find_running(app.xrayctl_home)
    if running is None:
        raise LocalStackError(
            f"no `xrayctl local serve` is running for {app.xrayctl_home}.",
            "Start one in another terminal: xrayctl local serve",
        )
    values = dict(line.split("=", 1) for line in running.env_lines())
    if app.output == "json":
        echo_json(values)
        return
    # A profile in the environment would send the AWS CLI and sam looking for it in ~/.aws/config.
    click.echo("unset AWS_PROFILE AWS_DEFAULT_PROFILE")
    for name, value in values.items():
        click.echo(f"export {name}={shlex.quote(value)}")


@local.command("reset")
@click.option("--yes", "-y", is_flag=True, help="Do not ask (asked only when stdin is a terminal).")
@some_global_options("debug")
def reset(yes: bool) -> None:
    """Delete every trace in the local store (also the one a running `local serve` uses)."""
    from xrayctl.local.home import STORE_FILE
    from xrayctl.local.xray.store import empty_store

    app = state()
    path = app.xrayctl_home / STORE_FILE
    if not yes and sys.stdin.isatty() and not click.confirm(f"Delete every trace in {path}?", err=True):
        consoles(app)[1].print("nothing deleted", markup=False)
        return
    removed = empty_store(path)
    noun = "trace" if removed == 1 else "traces"
    consoles(app)[1].print(f"local store emptied ({removed} {noun} removed)", markup=False)
