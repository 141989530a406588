"""Where the AWS calls go: real AWS, or the embedded local stack.

The inspector does not know which one it talks to: both are reached through botocore over HTTP, and the only
difference is the endpoints and the credentials. Given `StackOptions`, `connect` uses a running
`xrayctl local serve` when there is one that runs the function asked for, or starts a stack for the length of
the `with` block.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from xrayctl.aws.clients import AwsOptions, Clients
from xrayctl.aws.wait import SETTLE_TIME

if TYPE_CHECKING:
    from xrayctl.aws.reader import XRayReader
    from xrayctl.local.endpoints import LocalEndpoints
    from xrayctl.local.options import StackOptions


logger = logging.getLogger(__name__)

# How long a trace's documents must stay unchanged before it counts as complete. X-Ray ingests each segment
# on its own schedule (seconds, unbounded), so against AWS a quiet second is the evidence; the local stack
# stores every document within milliseconds of receiving it, so a tenth of that is as safe there.
AWS_SETTLE_TIME = SETTLE_TIME
LOCAL_SETTLE_TIME = 0.1
# The local stack stores what it receives at once: an id it does not have after this long of waiting, whose
# trace started a minute ago or more, was mistyped or never sent (X-Ray may take seconds: no grace there).
LOCAL_MISSING_GRACE = 2.0


@dataclass
class Backend:
    clients: Clients
    local: LocalEndpoints | None = None
    max_concurrency: int | None = None  # calls in flight at once (--max-concurrency); None: the reader's

    @property
    def settle_time(self) -> float:
        return LOCAL_SETTLE_TIME if self.local is not None else AWS_SETTLE_TIME

    def reader(self, *, rows: bool = False) -> XRayReader:
        """`rows`: the trace summaries read hold only what annotation rows show (`Clients.xray_rows`)."""
        from xrayctl.aws.reader import MAX_CONCURRENCY, XRayReader

        return XRayReader(
            self.clients.xray_rows if rows else self.clients.xray,
            settle_time=self.settle_time,
            missing_grace=LOCAL_MISSING_GRACE if self.local is not None else None,
            max_workers=self.max_concurrency or MAX_CONCURRENCY,
        )


@contextmanager
def connect(options: AwsOptions, *, local: StackOptions | None, home: Path) -> Iterator[Backend]:
    """Clients for AWS, or with `local` for the local stack of `home` (a running serve's, or one started
    for the block)."""
    if local is None:
        yield Backend(Clients(options))
        return
    from xrayctl.local.running import local_endpoints

    ignored = [
        name
        for name, value in (
            ("--profile", options.profile),
            ("--region", options.region),
            ("--endpoint-url", options.endpoint_url),
        )
        if value
    ]
    if ignored:
        logger.warning("%s: no effect with --local (the local stack has its own)", ", ".join(ignored))
    from xrayctl.aws.errors import advising_local

    with advising_local(), local_endpoints(home, local) as endpoints:
        local_options = dataclasses.replace(
            options,
            profile=None,  # the user's profile must not leak real credentials into local calls
            region=endpoints.region,
            endpoint_url=None,
            service_endpoints=dict(endpoints.endpoints),
            credentials=endpoints.credentials,
            isolated=True,
        )
        yield Backend(Clients(local_options), endpoints)
