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

import http.client
import importlib.util
import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from xrayctl.errors import LocalStackError
from xrayctl.local.httpserver import LOOPBACK, REFUSED_HOST, is_loopback_host
from xrayctl.local.lambda_.service import LambdaConfig, LambdaService
from xrayctl.local.running import LocalEndpoints
from xrayctl.local.xray.api import XRayApiServer
from xrayctl.local.xray.daemon import Daemon, DaemonStats
from xrayctl.local.xray.store import TraceStore

logger = logging.getLogger(__name__)


def _function_dir() -> Path:
    """Where the bundled function lives: function/ in a checkout, xrayctl/function/ in an installed wheel."""
    spec = importlib.util.find_spec("xrayctl.function")
    if spec is None or not spec.submodule_search_locations:
        return Path(__file__).resolve().parents[2] / "function"
    return Path(next(iter(spec.submodule_search_locations)))


REGION = "us-east-1"
CREDENTIALS = ("xrayctl-local", "xrayctl-local")  # dummy: the stand-ins check no signature
DEFAULT_CODE_DIR = _function_dir()
STORE_FILE = "traces.sqlite3"
_INSTALL_FIX = "Install the local extras: pip install 'xrayctl[local]'."


class LocalStack:
    """A context manager running the whole local stack for `home` (the trace store lives there)."""

    def __init__(
        self,
        home: Path,
        *,
        code_dir: Path = DEFAULT_CODE_DIR,
        function_name: str = "xrayctl-demo",
        bucket: str = "xrayctl-demo-bucket",
        handler: str = "lambda_function.lambda_handler",
        timeout: float = 3.0,
        memory_mb: int = 128,
        api_delay: float = 0.0,
    ) -> None:
        self.home = home
        self.function_name = function_name
        self.bucket = bucket
        self.region = REGION
        self.credentials = CREDENTIALS
        self.options: dict[str, Any] = {
            "code_dir": code_dir,
            "function_name": function_name,
            "bucket": bucket,
            "handler": handler,
            "timeout": timeout,
            "memory_mb": memory_mb,
            "api_delay": api_delay,
        }
        self._lambda_config = LambdaConfig(
            code_dir=code_dir,
            name=function_name,
            handler=handler,
            timeout=timeout,
            memory_mb=memory_mb,
            region=REGION,
            environment={
                "BUCKET_NAME": bucket,
                "AWS_ACCESS_KEY_ID": CREDENTIALS[0],
                "AWS_SECRET_ACCESS_KEY": CREDENTIALS[1],
            },
        )
        self._api_delay = api_delay
        self._stops: list[Callable[[], None]] = []  # each started part's stop(), in start order
        self._endpoints: LocalEndpoints | None = None
        self._daemon: Daemon | None = None

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
        s3 = _S3Server(self.bucket)
        self._stops.append(s3.stop)
        s3.start()

        store = TraceStore(self.home / STORE_FILE)
        self._stops.append(store.close)

        try:
            api = XRayApiServer(store, delay=self._api_delay)
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
            self._lambda_config, store.put_documents, daemon_address=daemon.address, s3_endpoint=s3.url
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


class _S3Server:
    """moto's S3 server, with the function's bucket, on a socket bound before moto is even imported."""

    def __init__(self, bucket: str) -> None:
        self._bucket = bucket
        try:
            self._listener = socket.create_server((LOOPBACK, 0))
        except OSError as exc:
            raise LocalStackError(
                f"The local S3 server cannot listen on {LOOPBACK}: {exc.strerror}.",
                "Check that the loopback interface is up.",
            ) from exc
        self.url = f"http://{LOOPBACK}:{self._listener.getsockname()[1]}"
        self._server: Any = None  # werkzeug's BaseWSGIServer, once moto is imported
        self._serving: threading.Thread | None = None
        self._failure: LocalStackError | None = None
        self._starter = threading.Thread(target=self._start, name="local-s3-start", daemon=True)

    def start(self) -> None:
        self._starter.start()

    def wait_ready(self) -> None:
        self._starter.join()
        if self._failure is not None:
            raise self._failure

    def stop(self) -> None:
        if self._starter.is_alive():
            self._starter.join()  # an import cannot be interrupted; it ends within a second
        if self._server is not None:
            self._server.shutdown()  # serve_forever then closes the server's socket itself
        if self._serving is not None:
            self._serving.join()
        self._listener.close()

    def _start(self) -> None:
        try:
            self._serve()
        except ImportError as exc:
            self._failure = LocalStackError(
                f"The local S3 server (moto) cannot be loaded: {exc}.", _INSTALL_FIX
            )
        except Exception as exc:  # reported by wait_ready(), on the thread that started the stack
            logger.debug("the local S3 server did not start", exc_info=True)
            self._failure = LocalStackError(
                f"The local S3 server did not start: {type(exc).__name__}: {exc}.",
                "Reinstall the local extras (pip install --force-reinstall 'xrayctl[local]') if it persists.",
            )
            self._failure.__cause__ = exc

    def _serve(self) -> None:
        # ThreadedMotoServer would bind only after the import (so the Lambda child could not start until
        # then), print to stdout, and hang if its bind failed; this is its code with those three fixed.
        from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        class QuietHandler(MotoRequestHandler):
            def log(self, type: str, message: str, *args: Any) -> None:
                # werkzeug writes a line per request to stderr; the stack's output is the CLI's to decide.
                logger.debug("s3: " + message.rstrip(), *args)

        self._server = make_server(
            LOOPBACK,
            0,
            _loopback_only(DomainDispatcherApplication(create_backend_app)),
            threaded=True,
            request_handler=QuietHandler,
            fd=self._listener.fileno(),
        )
        self._serving = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="local-s3", daemon=True
        )
        self._serving.start()
        self._create_bucket()

    def _create_bucket(self) -> None:
        # S3's CreateBucket (us-east-1: no body) as plain HTTP: an S3 client would cost 0.1 s of model loading
        # on the stack's critical path, and moto needs no signature (it routes unsigned requests to S3).
        connection = http.client.HTTPConnection(LOOPBACK, self._listener.getsockname()[1], timeout=30)
        try:
            connection.request("PUT", f"/{quote(self._bucket)}", headers={"Content-Length": "0"})
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()  # a kept-alive connection would hold one of moto's request threads open
        if response.status != 200:
            raise RuntimeError(f"CreateBucket {self._bucket} answered {response.status}: {body[:300]!r}")


def _loopback_only(app: Any) -> Any:
    """moto's WSGI app, answering only requests addressed to this machine, as the other local APIs do
    (see httpserver.is_loopback_host): a web page must not reach the local bucket through DNS rebinding."""

    def guarded(environ: dict[str, Any], start_response: Any) -> Any:
        if is_loopback_host(environ.get("HTTP_HOST"), subdomains=True):
            return app(environ, start_response)
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>AccessDenied</Code><Message>{REFUSED_HOST}</Message></Error>"
        ).encode()
        start_response(
            "403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return guarded
