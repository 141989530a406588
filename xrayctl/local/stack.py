"""The local stack: every part of the AWS data path on 127.0.0.1 ephemeral ports, started and stopped as one.

Parts, in start order: S3 (moto's server, the function's bucket created), the trace store (SQLite), the X-Ray
API over it, the X-Ray daemon writing into it, and the Lambda service running the function. They stop in the
reverse order, also when a part fails to start or on Ctrl-C, so no thread, socket or child process outlives
the stack. The Lambda service stops first so that nothing sends to the daemon while it drains into the store.

Startup is on the critical path of every `xrayctl --local` command. Importing moto takes about 0.4 s and its
first S3 request another 0.2 s, so S3's socket is bound first (its URL is then known), and moto is imported,
served and given its bucket on a thread while the other parts start and the Lambda runtime child (a separate
process) imports the function.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType

from xrayctl.errors import LocalStackError
from xrayctl.local.endpoints import LocalEndpoints
from xrayctl.local.home import STORE_FILE
from xrayctl.local.httpserver import LOOPBACK
from xrayctl.local.lambda_.service import InvocationReport, LambdaConfig, LambdaService
from xrayctl.local.options import StackOptions
from xrayctl.local.s3 import S3Server
from xrayctl.local.xray.api import XRayApiServer
from xrayctl.local.xray.daemon import Daemon, DaemonStats
from xrayctl.local.xray.destination import CLOUDWATCH_LOGS, SearchSettings
from xrayctl.local.xray.store import TraceStore

logger = logging.getLogger(__name__)


REGION = "us-east-1"
CREDENTIALS = ("xrayctl-local", "xrayctl-local")  # dummy: the stand-ins check no signature


class LocalStack:
    """A context manager running the whole local stack for `home` (the trace store lives there)."""

    def __init__(
        self,
        home: Path,
        options: StackOptions | None = None,
        *,
        on_invocation: Callable[[InvocationReport], None] | None = None,
    ) -> None:
        """`on_invocation` is called with each invocation's report as it ends (`local serve` prints them)."""
        self.home = home
        self._on_invocation = on_invocation
        self.options = options or StackOptions()
        self.function = function = self.options.function.resolved()
        self.function_name = function.name
        self.bucket = function.bucket
        self.region = REGION
        self.credentials = CREDENTIALS
        self._lambda_configs = [
            LambdaConfig(
                code_dir=function.code_dir,
                name=name,
                handler=handler,
                timeout=function.timeout,
                memory_mb=function.memory_mb,
                region=REGION,
                environment={
                    "BUCKET_NAME": function.bucket,
                    "AWS_ACCESS_KEY_ID": CREDENTIALS[0],
                    "AWS_SECRET_ACCESS_KEY": CREDENTIALS[1],
                },
                sdk=sdk,
            )
            for name, handler, sdk in function.functions()
        ]
        self._stops: list[Callable[[], None]] = []  # each started part's stop(), in start order
        self._endpoints: LocalEndpoints | None = None
        self._daemon: Daemon | None = None
        self._store: TraceStore | None = None

    @property
    def local_endpoints(self) -> LocalEndpoints:
        if self._endpoints is None:
            raise RuntimeError("the local stack is not started")
        return self._endpoints

    @property
    def endpoints(self) -> dict[str, str]:
        return dict(self.local_endpoints.endpoints)

    @property
    def daemon_address(self) -> str:
        return self.local_endpoints.daemon_address

    @property
    def daemon_stats(self) -> DaemonStats:
        """The daemon's counts; after stop(), the final ones (its queue drained into the store)."""
        if self._daemon is None:
            raise RuntimeError("the local stack is not started")
        return self._daemon.stats

    def search_settings(self) -> SearchSettings:
        """The store's segment destination and indexing rule (Transaction Search), as they are now."""
        if self._store is None:
            raise RuntimeError("the local stack is not started")
        return self._store.search_settings()

    def env_lines(self) -> list[str]:
        """The lines `local serve` prints: `NAME=value` for the AWS CLI, boto3 and the X-Ray SDK."""
        return self.local_endpoints.env_lines()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> LocalStack:
        try:
            self._start()
        except BaseException:  # KeyboardInterrupt included: stop whatever already runs
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every started part, last started first; the first failure is raised after all were tried."""
        failure: BaseException | None = None
        while self._stops:
            stop = self._stops.pop()
            try:
                stop()
            except BaseException as exc:  # one part failing to stop must not leave the others running
                logger.exception("a part of the local stack failed to stop")
                failure = failure or exc
        self._endpoints = None  # the daemon is kept: its final counts stay readable (daemon_stats)
        if failure is not None:
            raise failure

    def _start(self) -> None:
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LocalStackError(
                f"Cannot create the local stack's directory {self.home}: {exc.strerror}.",
                "Set XRAYCTL_HOME to a directory you can write to.",
            ) from exc
        s3 = S3Server(self.bucket)
        self._stops.append(s3.stop)
        s3.start()

        store = self._store = TraceStore(self.home / STORE_FILE)
        self._stops.append(store.close)
        if self.options.transaction_search:
            now = time.time()
            store.update_search_settings(lambda settings: settings.switched(CLOUDWATCH_LOGS, now, pending=0))

        try:
            api = XRayApiServer(store, delay=self.options.api_delay)
        except OSError as exc:
            raise LocalStackError(
                f"The local X-Ray API cannot listen on {LOOPBACK}: {exc.strerror}.",
                "Check that the loopback interface is up.",
            ) from exc
        api.start()
        self._stops.append(api.stop)

        daemon = Daemon(store.put_documents)
        try:
            daemon.start()
        except OSError as exc:
            raise LocalStackError(
                f"The local X-Ray daemon cannot listen on {LOOPBACK}: {exc.strerror}.",
                "Check that the loopback interface is up.",
            ) from exc
        self._stops.append(daemon.stop)
        self._daemon = daemon

        service = LambdaService(
            self._lambda_configs[0],
            store.put_documents,
            daemon_address=daemon.address,
            s3_endpoint=s3.url,
            on_invocation=self._on_invocation,
            also=self._lambda_configs[1:],
        )
        self._stops.append(service.stop)  # before start(): a half-started service has a child to kill
        service.start()

        s3.wait_ready()
        self._endpoints = LocalEndpoints(
            endpoints=MappingProxyType({"xray": api.url, "lambda": service.url, "s3": s3.url}),
            region=self.region,
            credentials=self.credentials,
            function_name=self.function_name,
            bucket=self.bucket,
            daemon_address=daemon.address,
        )
