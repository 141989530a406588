"""What the commands share: turning global state into a backend, and printing traces in the chosen format."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from xrayctl.cli.logs import logging_to_stderr
from xrayctl.cli.options import AppState
from xrayctl.cli.terminal import consoles
from xrayctl.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

    from xrayctl.aws.backend import Backend
    from xrayctl.local.options import FunctionOptions
    from xrayctl.trace.model import Trace


WARNINGS_SHOWN = 5


@contextmanager
def backend(state: AppState, function: FunctionOptions | None = None) -> Iterator[Backend]:
    """AWS, or the local stack with --local; `function`: what --code, --handler, --function-timeout asked."""
    from xrayctl.aws.backend import connect
    from xrayctl.aws.clients import AwsOptions
    from xrayctl.local.options import FunctionOptions, StackOptions

    function = function or FunctionOptions()
    if not state.local and function.asked:
        raise UsageError(
            "--code, --handler and --function-timeout shape the function of the local stack.",
            "Add --local, or leave them out to invoke a deployed function.",
        )
    options = AwsOptions(profile=state.profile, region=state.region, endpoint_url=state.endpoint_url)
    stack = StackOptions(function) if state.local else None
    with logging_to_stderr(state.debug), connect(options, local=stack, home=state.xrayctl_home) as connected:
        if state.max_concurrency is not None:
            connected.max_concurrency = state.max_concurrency
        yield connected


def echo_json(data: Any) -> None:
    from xrayctl.text.jsonwrite import dumps

    click.echo(dumps(data))


@contextmanager
def showing_found(state: AppState, *, details: bool) -> Iterator[None]:
    """When some traces are missing, still draw the ones that were found before the error is reported."""
    from xrayctl.errors import TraceNotFound

    try:
        yield
    except TraceNotFound as exc:
        if exc.found:
            print_traces(state, exc.found, details=details)
        raise


def print_traces(
    state: AppState,
    traces: Sequence[Trace],
    *,
    details: bool,
    out: Console | None = None,
    one_scale: bool = False,
) -> None:
    from xrayctl.render.schema import trace_to_dict
    from xrayctl.render.tree import traces_view

    if state.output == "json":
        echo_json({"traces": [trace_to_dict(trace) for trace in traces]})
    else:
        # Warnings go to stderr (below), so a pipe of the tree holds only the tree.
        view = traces_view(traces, details=details, with_warnings=False, one_scale=one_scale)
        (out or consoles(state)[0]).print(view)
    warn_about(state, trace_warnings(traces))


def trace_warnings(traces: Sequence[Trace]) -> list[str]:
    """The traces' warnings for stderr: at most WARNINGS_SHOWN a trace (a broken file can hold thousands; the
    JSON output has them all), each prefixed with its trace id when there are several traces."""
    shown: list[str] = []
    for trace in traces:
        prefix = f"{trace.id}: " if len(traces) > 1 else ""
        shown += [prefix + warning for warning in trace.warnings[:WARNINGS_SHOWN]]
        hidden = len(trace.warnings) - WARNINGS_SHOWN
        if hidden > 0:
            shown.append(f"{prefix}… and {hidden} more warnings (--output json lists them all)")
    return shown


def warn_about(state: AppState, warnings: Sequence[str]) -> None:
    if not warnings:
        return
    from xrayctl.render.tree import warnings_view

    consoles(state)[1].print(warnings_view(warnings))


class Progress:
    """A spinner on stderr while something runs; `say` changes its text, `show` prints data to stdout with
    the spinner out of the way (two consoles on one terminal would otherwise write over each other)."""

    def __init__(self, status: Status | None = None) -> None:
        self._status = status

    def say(self, text: str) -> None:
        if self._status is not None:
            self._status.update(text)

    def show(self, console: Console, renderable: Any) -> None:
        if self._status is None:
            console.print(renderable)
            return
        self._status.stop()
        console.print(renderable)
        self._status.start()


@contextmanager
def progress(state: AppState, text: str) -> Iterator[Progress]:
    """A Progress that spins only on a terminal, and never with --output json."""
    err = consoles(state)[1]
    if not err.is_terminal or state.output == "json":
        yield Progress()
        return
    with err.status(text) as status:
        yield Progress(status)
