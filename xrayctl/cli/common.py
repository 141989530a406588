"""What the commands share: turning global state into a backend, and printing traces in the chosen format."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from xrayctl.cli.logs import configure_logging
from xrayctl.cli.options import AppState
from xrayctl.cli.terminal import consoles

if TYPE_CHECKING:
    from rich.console import Console

    from xrayctl.backend import Backend
    from xrayctl.model import Trace


@contextmanager
def backend(state: AppState, **stack_options: Any) -> Iterator[Backend]:
    from xrayctl.backend import connect
    from xrayctl.session import AwsOptions

    configure_logging(state.debug)
    options = AwsOptions(profile=state.profile, region=state.region, endpoint_url=state.endpoint_url)
    with connect(options, local=state.local, home=state.xrayctl_home, **stack_options) as connected:
        yield connected


def echo_json(data: Any) -> None:
    from xrayctl.render.jsonout import dumps

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
    state: AppState, traces: Sequence[Trace], *, details: bool, out: Console | None = None
) -> None:
    from xrayctl.render.jsonout import trace_to_dict
    from xrayctl.render.tree import traces_view

    if state.output == "json":
        echo_json({"traces": [trace_to_dict(trace) for trace in traces]})
    else:
        # Warnings go to stderr (below), so a pipe of the tree holds only the tree.
        (out or consoles(state)[0]).print(traces_view(traces, details=details, with_warnings=False))
    # With several traces, say which trace each warning is about.
    prefix = len(traces) > 1
    warn_about(state, [f"{t.id}: {w}" if prefix else w for t in traces for w in t.warnings])


def warn_about(state: AppState, warnings: Sequence[str]) -> None:
    if not warnings:
        return
    from xrayctl.render.tree import warnings_view

    consoles(state)[1].print(warnings_view(warnings))


@contextmanager
def progress(state: AppState, text: str) -> Iterator[Callable[[str], None]]:
    """A spinner on stderr (only on a terminal, never with --output json); yields `say(text)` to change its
    text. Output printed while it spins appears above it (rich redirects stdout during a live display)."""
    err = consoles(state)[1]
    if not err.is_terminal or state.output == "json":
        yield lambda text: None
        return
    with err.status(text) as spinner:
        yield spinner.update
