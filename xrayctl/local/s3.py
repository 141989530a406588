"""S3 on the local stack: moto's S3 server on a loopback socket, holding the function's bucket.

Importing moto takes about 0.4 s and its first S3 request another 0.2 s, so the socket is bound first (its URL
is then known to the rest of the stack) and moto is imported, served and given its bucket on a thread.
"""

from __future__ import annotations

import http.client
import logging
import socket
import threading
from typing import Any
from urllib.parse import quote

from xrayctl.errors import LocalStackError
from xrayctl.local.home import install_hint
from xrayctl.local.httpserver import LOOPBACK, REFUSED_HOST, is_loopback_host

logger = logging.getLogger(__name__)


class S3Server:
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
                f"The local S3 server (moto) cannot be loaded: {exc}.", install_hint()
            )
        except Exception as exc:  # reported by wait_ready(), on the thread that started the stack
            logger.debug("the local S3 server did not start", exc_info=True)
            self._failure = LocalStackError(
                f"The local S3 server did not start: {type(exc).__name__}: {exc}.",
                f"If it persists, reinstall the local extra. {install_hint()}",
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
