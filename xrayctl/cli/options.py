"""Global options, accepted before or after the command name, and the state they fill.

`xrayctl --output json show-trace ID` and `xrayctl show-trace ID --output json` mean the same, as with the
AWS CLI. Every command carries the same global options; each option's callback records the value on the one
`AppState` of the invocation, and a value given after the command name wins over one given before it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class AppState:
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    output: str = "text"
    no_color: bool = False
    debug: bool = False
    local: bool = False
    home: Path | None = None
    # Set by the commands that pick the global options up, so the error boundary knows how to speak.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def xrayctl_home(self) -> Path:
        if self.home is not None:
            return self.home
        env = os.environ.get("XRAYCTL_HOME")
        return Path(env) if env else Path(click.get_app_dir("xrayctl"))


def _record(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        source = ctx.get_parameter_source(param.name or name)
        # Defaults never overwrite: the option may already have been given on the other side of the command.
        if value is None or source in (click.core.ParameterSource.DEFAULT, None):
            return
        setattr(ctx.ensure_object(AppState), name, value)

    return callback


def _flag(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value:
            setattr(ctx.ensure_object(AppState), name, True)

    return callback


_OPTIONS: list[Callable[[F], F]] = [
    click.option(
        "--profile",
        metavar="NAME",
        expose_value=False,
        is_eager=True,
        callback=_record("profile"),
        help="AWS profile (default: AWS_PROFILE or the default chain).",
    ),
    click.option(
        "--region",
        metavar="REGION",
        expose_value=False,
        is_eager=True,
        callback=_record("region"),
        help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION / the profile's).",
    ),
    click.option(
        "--endpoint-url",
        metavar="URL",
        expose_value=False,
        is_eager=True,
        callback=_record("endpoint_url"),
        help="Send X-Ray and Lambda calls to this endpoint (AWS_ENDPOINT_URL_XRAY etc. also work).",
    ),
    click.option(
        "--output",
        "-o",
        type=click.Choice(["text", "json"]),
        expose_value=False,
        is_eager=True,
        envvar="XRAYCTL_OUTPUT",
        callback=_record("output"),
        help="text for people (default), json for programs.",
    ),
    click.option(
        "--no-color",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_flag("no_color"),
        help="No colour (NO_COLOR is honoured too).",
    ),
    click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_flag("debug"),
        help="Show tracebacks and log AWS calls on stderr.",
    ),
    click.option(
        "--local",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        envvar="XRAYCTL_LOCAL",
        callback=_flag("local"),
        help="Use the embedded local stack (a running `xrayctl local serve`, or one started for this "
        "command). Env: XRAYCTL_LOCAL=1.",
    ),
]


def global_options(func: F) -> F:
    """Attach every global option to a command or group."""
    for option in reversed(_OPTIONS):
        func = option(func)
    return func


def state() -> AppState:
    return click.get_current_context().ensure_object(AppState)


def timeout_option(default: float, help: str) -> Callable[[F], F]:
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0),
        default=default,
        show_default=True,
        metavar="SECONDS",
        help=help,
    )


details_option: Callable[[F], F] = click.option(
    "--details", is_flag=True, help="Add http, aws, sql, metadata and exception stacks under each node."
)
