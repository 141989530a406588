"""What the commands share: turning global state into a backend, and printing traces in the chosen format."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from xrayctl.cli.exporting import show_view
from xrayctl.cli.logs import logging_to_stderr
from xrayctl.cli.options import AppState
from xrayctl.cli.terminal import consoles, say
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


# Characters of JSON written at a time: the text of 100,000 listed traces is never held whole, nor the
# millions of small pieces it is written in (those took 200 MB).
JSON_WRITE_SIZE = 1 << 20


def echo_json(data: Any) -> None:
    from xrayctl.text.jsonwrite import iter_json

    pending: list[str] = []
    size = 0
    for piece in iter_json(data):
        pending.append(piece)
        size += len(piece)
        if size >= JSON_WRITE_SIZE:
            click.echo("".join(pending), nl=False)
            pending, size = [], 0
    click.echo("".join(pending))


@contextmanager
def showing_found(state: AppState, *, details: bool, **view: Any) -> Iterator[None]:
    """When some traces are missing, still draw the ones that were found before the error is reported.
    `view`: print_traces' critical, export and width."""
    from xrayctl.errors import TraceNotFound

    try:
        yield
    except TraceNotFound as exc:
        if exc.found:
            print_traces(state, exc.found, details=details, **view)
        raise


def print_traces(
    state: AppState,
    traces: Sequence[Trace],
    *,
    details: bool,
    out: Console | None = None,
    one_scale: bool = False,
    critical: bool = False,
    export: Path | None = None,
    width: int | None = None,
) -> None:
    """The traces as JSON, or drawn (with `critical`, their critical paths marked) on stdout or to the
    `export` file."""
    from xrayctl.render.schema import trace_to_dict
    from xrayctl.render.tree import traces_view

    if state.output == "json":
        echo_json({"traces": [trace_to_dict(trace) for trace in traces]})
    else:
        paths = None
        if critical:
            from xrayctl.trace.critical import critical_path

            paths = [critical_path(trace) for trace in traces]
        # Warnings go to stderr (below), so a pipe of the tree holds only the tree.
        view = traces_view(traces, details=details, with_warnings=False, one_scale=one_scale, critical=paths)
        if out is not None:
            out.print(view)
        else:
            title = "xrayctl show-trace" + (f" {traces[0].id}" if len(traces) == 1 else "")
            show_view(state, view, export=export, width=width, title=title)
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

    say(consoles(state)[1], warnings_view(warnings))


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
