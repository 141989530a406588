"""The command line: click commands only. Options, one error boundary, the choice of renderer; no logic.

Importing this package must stay cheap (`xrayctl --help` budget: 150 ms): boto3, rich and the local stack are
imported inside the commands that need them.
"""

from __future__ import annotations

import gc
import importlib
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


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="xrayctl", message="%(prog)s %(version)s")
@global_options
def cli() -> None:
    """See AWS X-Ray traces from a terminal.

    \b
    Exit codes: 0 ok, 1 error, 2 usage, 3 trace not found, 4 configuration (credentials, region, profile),
    5 access denied, 6 throttled, 7 endpoint unreachable, 8 function error (invoke), 130 interrupted.
    """


# The cycle collector's first threshold for a run of xrayctl (Python's default is 700 allocations).
COLLECTOR_THRESHOLD = 50_000


def main(args: list[str] | None = None) -> NoReturn:
    # Nearly everything a run allocates while it starts (the modules of botocore and rich, botocore's endpoint
    # data and service model: ~60,000 objects the cycle collector tracks) lives until it exits. At Python's
    # default threshold the collector runs ~120 times during `show-trace` and frees next to nothing, 34 ms of
    # the ~330 (measured with gc.callbacks); at this one it runs ~18 times, 11 ms. It still collects what
    # polling and serving leave behind, in fewer and larger sweeps.
    gc.set_threshold(COLLECTOR_THRESHOLD, *gc.get_threshold()[1:])
    run(cli, args)
