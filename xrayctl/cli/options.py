"""Global options, accepted before or after the command name, and the state they fill.

`xrayctl --output json show-trace ID` and `xrayctl show-trace ID --output json` mean the same, as with the
AWS CLI. Every command carries the same global options; each option's callback records the value on the one
`AppState` of the invocation, and a value given after the command name wins over one given before it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

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
    max_concurrency: int | None = None  # None: the reader's default
    home: Path | None = None
    # Where each recorded value came from: a value typed on the command line is never replaced by one the
    # environment supplies to the same option on the other side of the command name.
    sources: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def xrayctl_home(self) -> Path:
        if self.home is not None:
            return self.home
        from xrayctl.local.home import default_home

        return default_home()


# Command line over environment; a default never records anything.
_RANK = {ParameterSource.COMMANDLINE: 2, ParameterSource.ENVIRONMENT: 1}


def _record(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        rank = _RANK.get(ctx.get_parameter_source(param.name or name), 0)  # type: ignore[arg-type]
        state = ctx.ensure_object(AppState)
        # Equal rank: the later one (after the command name) wins, as the module docstring says.
        if value is None or rank == 0 or rank < state.sources.get(name, 0):
            return
        setattr(state, name, value)
        state.sources[name] = rank

    return callback


def _option(*decls: str, name: str, help: str, **kwargs: Any) -> Callable[[F], F]:
    return click.option(
        *decls, expose_value=False, is_eager=True, callback=_record(name), help=help, **kwargs
    )


_OPTIONS: dict[str, Callable[[F], F]] = {
    "profile": _option(
        "--profile", name="profile", metavar="NAME", help="AWS profile (default: AWS_PROFILE or the chain)."
    ),
    "region": _option(
        "--region",
        name="region",
        metavar="REGION",
        help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION / the profile's).",
    ),
    "endpoint_url": _option(
        "--endpoint-url",
        name="endpoint_url",
        metavar="URL",
        help="Send X-Ray and Lambda calls to this endpoint (AWS_ENDPOINT_URL_XRAY etc. also work).",
    ),
    "output": _option(
        "--output",
        "-o",
        name="output",
        type=click.Choice(["text", "json"]),
        envvar="XRAYCTL_OUTPUT",
        help="text for people (default), json for programs. Env: XRAYCTL_OUTPUT.",
    ),
    "no_color": _option(
        "--no-color", name="no_color", is_flag=True, default=None, help="No colour (NO_COLOR works too)."
    ),
    "debug": _option(
        "--debug", name="debug", is_flag=True, default=None, help="Tracebacks, and the AWS calls on stderr."
    ),
    "local": _option(
        "--local/--no-local",
        name="local",
        default=None,
        envvar="XRAYCTL_LOCAL",
        help="Use the embedded local stack (a running `xrayctl local serve`, or one started for this "
        "command). Env: XRAYCTL_LOCAL=1.",
    ),
    "max_concurrency": _option(
        "--max-concurrency",
        name="max_concurrency",
        # botocore keeps 10 connections per client: more threads than that would open and drop connections.
        type=click.IntRange(1, 10),
        metavar="N",
        envvar="XRAYCTL_MAX_CONCURRENCY",
        help="X-Ray calls in flight at once: list-annotations' time slices, show-trace's summaries "
        "(default 5; 1: one after another). Env: XRAYCTL_MAX_CONCURRENCY.",
    ),
}


def global_options(func: F) -> F:
    """Attach every global option to a command or group."""
    for option in reversed(_OPTIONS.values()):
        func = option(func)
    return func


def some_global_options(*names: str) -> Callable[[F], F]:
    """Attach only the global options `names` (AppState's field names): a command lists none it ignores
    (`local serve` has no AWS profile or region to take)."""

    def attach(func: F) -> F:
        for name in reversed([name for name in _OPTIONS if name in names]):
            func = _OPTIONS[name](func)
        return func

    unknown = set(names) - set(_OPTIONS)
    if unknown:
        raise ValueError(f"no global options {sorted(unknown)}")
    return attach


def state() -> AppState:
    return click.get_current_context().ensure_object(AppState)


class Seconds(click.FloatRange):
    """A number of seconds: finite (click's FloatRange lets `nan` through every bound, since no comparison
    with NaN is true, and `inf`, `1e999` through a minimum), within the bounds given."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        seconds = click.types.FLOAT.convert(value, param, ctx)
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a number of seconds.", param, ctx)
        return super().convert(seconds, param, ctx)


# Lambda's own bounds on a function's timeout; the X-Ray API's added latency is for benchmarks, and a minute
# is already twice the read timeout of every call.
FUNCTION_TIMEOUT = Seconds(min=0.1, max=900)
API_DELAY = Seconds(min=0, max=60)


def timeout_option(default: float, help: str) -> Callable[[F], F]:
    return click.option(
        "--timeout",
        type=Seconds(min=0),
        default=default,
        show_default=True,
        metavar="SECONDS",
        help=help,
    )


def input_options(verb: str) -> Callable[[F], F]:
    """`--input FILE` and `--format`: the traces of a file instead of X-Ray's (show-trace, compare, browse);
    `verb` says what the command does with them."""

    def decorate(func: F) -> F:
        func = click.option(
            "--format",
            "input_format",
            type=click.Choice(["auto", "batch", "otlp", "retrieved", "xrayctl"]),
            default="auto",
            show_default=True,
            help="The --input file's format (auto: detected).",
        )(func)
        return click.option(
            "--input",
            "input_file",
            type=click.Path(exists=True, dir_okay=False, allow_dash=True),
            metavar="FILE",
            help=f"{verb} the traces in a file instead of calling X-Ray (- for stdin): a BatchGetTraces or "
            "ListRetrievedTraces response, OTLP/JSON (resourceSpans), or xrayctl's --output json. At most "
            "64 MB, UTF-8, UTF-16 or UTF-32.",
        )(func)

    return decorate


def reading_options(verb: str) -> Callable[[F], F]:
    """`--input FILE`, `--format`, `--wait/--no-wait` and `--timeout`: how a command that reads traces by id
    gets them (show-trace, compare); `verb` says what it does with the traces of a file."""

    def decorate(func: F) -> F:
        func = timeout_option(
            30.0, "How long --wait waits (and how long a Transaction Search retrieval may take)."
        )(func)
        func = click.option(
            "--wait/--no-wait",
            default=True,
            show_default=True,
            help="Wait until each trace exists and has stopped changing "
            "(X-Ray takes seconds to store a trace, with no set bound).",
        )(func)
        return input_options(verb)(func)

    return decorate


def window_options(func: F) -> F:
    """`--since`, `--start`, `--end`: a time window (list-annotations, service-map)."""
    end = click.option("--end", metavar="TIME", help="Window end (default now), same forms as --start.")
    func = end(func)
    func = click.option(
        "--start", metavar="TIME", help="Window start: ISO 8601 (naive = UTC), epoch seconds, or '2h ago'."
    )(func)
    return click.option(
        "--since", metavar="DURATION", help="Window ending now: 15m, 2h, 1d, 1h30m (default 15m)."
    )(func)


details_option: Callable[[F], F] = click.option(
    "--details", is_flag=True, help="Add http, aws, sql, metadata and exception stacks under each node."
)


def function_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options that shape the local stack's function (`invoke --local` and `local serve`), given to the
    command as one `function: FunctionOptions`."""

    @functools.wraps(func)
    def command(
        *args: Any,
        code_dir: Path | None,
        handler: str | None,
        function_timeout: float | None,
        sdk: str | None,
        **kwargs: Any,
    ) -> Any:
        from xrayctl.local.options import FunctionOptions

        function = FunctionOptions(code_dir=code_dir, handler=handler, timeout=function_timeout, sdk=sdk)
        return func(*args, function=function, **kwargs)

    decorated: Callable[..., Any] = click.option(
        "--sdk",
        type=click.Choice(["xray", "otel", "both"]),
        help="Local stack: what traces the function. xray (the X-Ray SDK; default), otel (OpenTelemetry, "
        "run as Lambda runs it with the ADOT layer; xrayctl's function is then its OpenTelemetry twin), or "
        "both (the two functions, invoked with the same event and drawn on one time scale).",
    )(command)
    decorated = click.option(
        "--handler",
        metavar="MODULE.FUNCTION",
        help="Local stack: the handler to run (default lambda_function.lambda_handler).",
    )(command)
    decorated = click.option(
        "--code",
        "code_dir",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Local stack: run the Python handler in this folder instead of xrayctl's function.",
    )(decorated)
    return click.option(
        "--function-timeout",
        type=FUNCTION_TIMEOUT,
        metavar="SECONDS",
        help="Local stack: the function timeout, 0.1 to 900 (default 3 s, as in Lambda).",
    )(decorated)
