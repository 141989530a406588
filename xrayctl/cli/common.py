"""What the commands share: turning global state into a backend, and printing traces in the chosen format."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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
def waiting(state: AppState, what: str) -> Iterator[Any]:
    """A spinner on stderr while waiting (only on a terminal); yields the callback that updates its text."""
    err = consoles(state)[1]
    if not err.is_terminal or state.output == "json":
        yield lambda status: None
        return
    with err.status(what) as spinner:

        def on_poll(status: Any) -> None:
            spinner.update(f"{what}: {status}")

        yield on_poll
