"""The command line: click commands only. Options, one error boundary, the choice of renderer; no logic.

Importing this package must stay cheap (`xrayctl --help` budget: 150 ms): boto3, rich and the local stack are
imported inside the commands that need them.
"""

from __future__ import annotations

from typing import NoReturn

import click

from xrayctl import __version__
from xrayctl.cli.boundary import run
from xrayctl.cli.invoke_cmd import invoke
from xrayctl.cli.local_cmds import local
from xrayctl.cli.options import global_options
from xrayctl.cli.traces_cmds import list_annotations, show_trace

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="xrayctl", message="%(prog)s %(version)s")
@global_options
def cli() -> None:
    """See AWS X-Ray traces from a terminal.

    \b
    Exit codes: 0 ok, 1 error, 2 usage, 3 trace not found, 4 configuration (credentials, region, profile),
    5 access denied, 6 throttled, 7 endpoint unreachable, 8 function error (invoke), 130 interrupted.
    """


cli.add_command(show_trace)
cli.add_command(list_annotations)
cli.add_command(invoke)
cli.add_command(local)


def main(args: list[str] | None = None) -> NoReturn:
    run(cli, args)
