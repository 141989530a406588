"""The command line: click commands only. Options, one error boundary, the choice of renderer; no logic.

Importing this package must stay cheap (`xrayctl --help` within HELP_BUDGET): botocore, rich and the local
stack are imported inside the commands that need them.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import sys
from typing import NoReturn

import click

from xrayctl import __version__
from xrayctl.cli.boundary import run
from xrayctl.cli.options import global_options

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 110}

# Command name -> "module:attribute". A command's module is imported when that command runs (or --help lists
# them all), so `show-trace` does not pay for importing `invoke` and `local` (click's "lazily loading
# subcommands" pattern).
COMMANDS = {
    "show-trace": "xrayctl.cli.traces_cmds:show_trace",
    "list-annotations": "xrayctl.cli.traces_cmds:list_annotations",
    "compare": "xrayctl.cli.analysis_cmds:compare",
    "service-map": "xrayctl.cli.analysis_cmds:service_map",
    "browse": "xrayctl.cli.follow_cmds:browse",
    "tail": "xrayctl.cli.follow_cmds:tail",
    "invoke": "xrayctl.cli.invoke_cmd:invoke",
    "local": "xrayctl.cli.local_cmds:local",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)  # in this order in --help: the everyday commands first

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    # What a bug report needs beside xrayctl's own version: the botocore that parses every answer, and the
    # Python and system it runs on.
    if not value or ctx.resilient_parsing:
        return
    import platform

    import botocore

    python = f"Python {platform.python_version()} on {platform.system() or sys.platform}"
    click.echo(f"xrayctl {__version__} (botocore {botocore.__version__}, {python})")
    ctx.exit()


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show xrayctl's version, botocore's and Python's, and exit.",
)
@global_options
def cli() -> None:
    """See AWS X-Ray traces from a terminal.

    \b
    Exit codes: 0 ok, 1 error, 2 usage, 3 trace not found, 4 configuration (credentials, region, profile),
    5 access denied, 6 throttled, 7 endpoint unreachable, 8 function error (invoke), 9 a Transaction Search
    retrieval failed, 130 interrupted.
    """


def main(args: list[str] | None = None) -> NoReturn:
    """Run xrayctl with `args` (default: sys.argv) through its error boundary; exit with its exit code."""
    run(cli, args)


# What `xrayctl --help` may take, wall clock from a fresh process (`make bench` measures it).
HELP_BUDGET = 0.150

# The cycle collector's first threshold in a process of xrayctl's own (Python's default is 700 allocations).
COLLECTOR_THRESHOLD = 50_000


def console_main() -> NoReturn:
    """The `xrayctl` console script and `python -m xrayctl`: main() in a process of its own, its cycle
    collector tuned (`tune_collector`). main() itself, which the tests run in-process, changes nothing
    global, and neither does the library."""
    tune_collector()
    main()


def tune_collector() -> None:
    """The cycle collector of a process of xrayctl's own; `make bench` measures in-process work after it too.

    Tuned for a short process whose start allocates ~60,000 objects the cycle collector tracks (the modules
    of botocore and rich, botocore's endpoint data and service model), nearly all alive until it exits, and
    whose work (a tree of thousands of nodes, thousands of summaries, the segments rich draws) allocates
    objects that stay alive until it is done. Measured on `show-trace` with gc.callbacks and wall clock.
    """
    # At the default threshold the collector runs ~120 times while show-trace starts and frees next to
    # nothing: 34 ms of its ~330. At this one it runs ~18 times, 11 ms, and still collects what polling and
    # serving leave behind, in fewer and larger sweeps.
    gc.set_threshold(COLLECTOR_THRESHOLD, *gc.get_threshold()[1:])
    # The interpreter's shutdown collects again and again as it takes the modules apart, walking that whole
    # heap each time: ~50 ms, a sixth of show-trace. Frozen at exit, the heap is left to the process's end,
    # as it is anyway. Nothing that must happen at exit waits for those collections: logging's handlers and
    # the standard streams are flushed explicitly, and the local stack closes its store when it stops.
    atexit.register(gc.freeze)
