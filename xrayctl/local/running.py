"""Use the running `local serve`, or start a stack for the length of a command.

`local_endpoints` is what every --local command uses; `serving` is what `local serve` runs, advertised in
serve.json (see `servefile`) while it runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from xrayctl.local.endpoints import LocalEndpoints
from xrayctl.local.options import StackOptions
from xrayctl.local.servefile import SERVE_FILE, claim, find, remove_if_unchanged, write_record

if TYPE_CHECKING:
    from xrayctl.local.lambda_.service import InvocationReport
    from xrayctl.local.stack import LocalStack

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def local_endpoints(home: Path, options: StackOptions) -> Iterator[LocalEndpoints]:
    """Yield the running serve's endpoints, or run a LocalStack(home, options) for the block.

    A serve whose function differs from what `options` ask for (another --code, --handler...) is not used:
    the command gets its own stack, as it would have without the serve.
    """
    found = find(home)
    if found is not None:
        endpoints, serving_function = found
        if options.function.accepts(serving_function):
            yield endpoints
            return
        # Say so: the user may expect the serve's warm runtime, or to see this call in its window.
        logger.warning("`local serve` runs another function: this command starts a local stack of its own")
    from xrayctl.local.stack import LocalStack

    with LocalStack(home, options) as stack:
        yield stack.local_endpoints


@contextlib.contextmanager
def serving(
    home: Path, options: StackOptions, *, on_invocation: Callable[[InvocationReport], None] | None = None
) -> Iterator[LocalStack]:
    """Run a LocalStack for `local serve`: advertised in serve.json for as long as the block runs, and the
    only serve of `home` (see servefile.claim)."""
    with claim(home), _stack(home, options, on_invocation) as stack:
        path = home / SERVE_FILE
        write_record(path, stack.local_endpoints, stack.function)
        try:
            yield stack
        finally:
            remove_if_unchanged(path, os.getpid())


def _stack(
    home: Path, options: StackOptions, on_invocation: Callable[[InvocationReport], None] | None
) -> LocalStack:
    from xrayctl.local.stack import LocalStack

    return LocalStack(home, options, on_invocation=on_invocation)
