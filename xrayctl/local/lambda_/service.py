"""The local Lambda service: the Invoke API over a small pool of sandboxes, and the segments Lambda records.

`POST /2015-03-31/functions/{name}/invocations` behaves as botocore's lambda model and the real service say:
RequestResponse answers 200 with the payload, Event 202 at once (the function runs in the background), DryRun
204; a function error, a timeout or a crash is still a 200, with `X-Amz-Function-Error: Unhandled` and the
error document as the payload; `X-Amz-Log-Type: Tail` adds the last 4 KB of the log (START, the function's
output, END, REPORT) base64-encoded in `X-Amz-Log-Result`.

Tracing is always active: the caller's `X-Amzn-Trace-Id` is honoured (a new trace starts without one, and
`Sampled=0` records nothing), the function gets `Root=<trace>;Parent=<Invocation id>` so that the X-Ray
SDK's subsegments nest under the Invocation subsegment, and the `AWS::Lambda` / `AWS::Lambda::Function`
documents (see `lambda_segments`) go to `sink` before the Invoke call is answered, so a caller that reads the
trace right after its invocation finds Lambda's part of it already stored.

Sandboxes: one is started eagerly with the service, so that the interpreter and the runtime client load while
the rest of the stack starts; the function's own init waits for the first invocation (see `runtime`), so the
Initialization subsegment sits where Lambda puts it, just before the cold start's Invocation. A warm one is
reused (most recently used first, so consecutive calls see the same process); when
calls overlap the pool grows up to `LambdaConfig.concurrency`, and past that a call waits for a free sandbox
(real Lambda would throttle; locally, waiting is the useful answer). A sandbox that timed out, crashed or
failed to initialize is discarded, and the next call starts a cold one.
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import logging
import os
import re
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from xrayctl.errors import InvalidTraceId, LocalStackError
from xrayctl.local.httpserver import LoopbackHTTPServer, Request, Response
from xrayctl.local.lambda_ import otel_layer
from xrayctl.local.lambda_ import results as lambda_results
from xrayctl.local.lambda_.runtime import RuntimeRequest, Sandbox, runtime_client
from xrayctl.local.lambda_.segments import (
    LOCAL_ACCOUNT_ID,
    InvocationRecord,
    function_arn,
    lambda_segments,
    new_segment_id,
)
from xrayctl.trace.ids import new_trace_id, normalize_trace_id, parse_trace_header

logger = logging.getLogger(__name__)

Sink = Callable[[list[str]], list[dict[str, Any]]]

_INVOKE_PREFIX = "/2015-03-31/functions/"
_INVOKE_SUFFIX = "/invocations"
_MAX_PAYLOAD = 6 * 1024 * 1024  # Lambda's limit for a synchronous request
_LOG_TAIL_BYTES = 4096
_SEGMENT_ID_CHARS = frozenset("0123456789abcdef")
_BARE_CR = re.compile(r"\r(?!\n)")


@dataclass(frozen=True, kw_only=True)
class LambdaConfig:
    """The one function the local service serves."""

    code_dir: Path
    name: str = "xrayctl-demo"
    handler: str = "lambda_function.lambda_handler"
    timeout: float = 3.0  # seconds, Lambda's default
    memory_mb: int = 128
    environment: dict[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    concurrency: int = 4  # sandboxes at most, as a function's reserved concurrency
    sdk: str = "xray"  # "otel": run as Lambda runs it with the ADOT layer (see `otel_layer`)

    @property
    def function_arn(self) -> str:
        return function_arn(self.region, self.name)


@dataclass(frozen=True)
class _TraceContext:
    root: str
    parent: str | None
    sampled: bool

    def header(self, parent: str | None) -> str:
        parent_field = f";Parent={parent}" if parent else ""
        return f"Root={self.root}{parent_field};Sampled={1 if self.sampled else 0}"


@dataclass(frozen=True)
class _Call:
    request_id: str
    payload: bytes
    trace: _TraceContext
    client_context: str | None
    tail: bool
    asynchronous: bool
    received: float


@dataclass(frozen=True)
class InvocationReport:
    """One invocation as it ended: what `local serve` shows a line of while it runs."""

    function_name: str
    request_id: str
    trace_id: str
    failure: str | None  # how it failed (the outcome's kind: error, timeout, exit...), None when it did not
    duration: float | None  # seconds from the event's delivery to the result
    cold: bool


class _Stopping(Exception):
    """The service stopped while a call waited for a sandbox."""


class LambdaService:
    """Serve `config`'s function on 127.0.0.1:`port`; segments go to `sink`, the function's own X-Ray data to
    the daemon at `daemon_address` ("host:port"), and its S3 calls to `s3_endpoint` when given. The functions
    of `also` are served on the same port, each with sandboxes of its own (as one account's functions share
    the Invoke API)."""

    def __init__(
        self,
        config: LambdaConfig,
        sink: Sink,
        *,
        daemon_address: str,
        s3_endpoint: str | None = None,
        port: int = 0,
        on_invocation: Callable[[InvocationReport], None] | None = None,
        also: Sequence[LambdaConfig] = (),
    ) -> None:
        self.config = config
        self._others = [
            LambdaService(
                other,
                sink,
                daemon_address=daemon_address,
                s3_endpoint=s3_endpoint,
                on_invocation=on_invocation,
            )
            for other in also
        ]
        self._on_invocation = on_invocation
        self._sink = sink
        self._daemon_address = daemon_address
        self._s3_endpoint = s3_endpoint
        self._port = port
        self._server: LoopbackHTTPServer | None = None
        self._pool = threading.Condition()
        self._idle: list[Sandbox] = []  # a stack: the most recently used (warmest) on top
        self._sandboxes: set[Sandbox] = set()
        self._background: set[threading.Thread] = set()
        self._closed = False
        self._runtime = "awslambdaric"

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Lambda service is not started")
        return self._server.url

    def start(self) -> LambdaService:
        for service in (self, *self._others):
            service._check()
        try:
            self._server = LoopbackHTTPServer(self._handle, port=self._port, max_body=_MAX_PAYLOAD)
        except OSError as exc:
            raise LocalStackError(
                f"The local Lambda service cannot listen on port {self._port}: {exc.strerror}.",
                "Choose another port, or 0 for any free one.",
            ) from exc
        self._server.start()
        for service in (self, *self._others):
            with service._pool:
                service._idle.append(service._new_sandbox())
        return self

    def _check(self) -> None:
        code_dir = self.config.code_dir
        if not code_dir.is_dir():
            raise LocalStackError(
                f"The function's code directory {code_dir} does not exist.",
                "Point the local stack at function/.",
            )
        self._runtime = runtime_client()
        if self.config.sdk == "otel" and importlib.util.find_spec("amazon.opentelemetry.distro") is None:
            raise LocalStackError(
                "OpenTelemetry functions run under the ADOT distro (aws-opentelemetry-distro), which is not "
                "installed.",
                "Install it: pip install 'xrayctl[otel]'.",
            )

    def stop(self) -> None:
        """Kill every sandbox's process group, finish background invocations, close the server. Idempotent."""
        for other in self._others:
            other.stop()
        with self._pool:
            self._closed = True
            sandboxes = list(self._sandboxes)
            self._idle.clear()
            self._pool.notify_all()
        for sandbox in sandboxes:
            sandbox.stop()  # a call still running on it ends now, as a crash
        if self._server is not None:
            self._server.stop()
        for thread in list(self._background):
            thread.join(timeout=5)

    # -- the Invoke API --

    def _handle(self, request: Request) -> Response:
        path = request.path
        if request.method != "POST" or not (
            path.startswith(_INVOKE_PREFIX) and path.endswith(_INVOKE_SUFFIX)
        ):
            return Response.aws_error(
                404, "UnknownOperationException", f"Unknown operation {request.method} {path}"
            )
        requested = unquote(path[len(_INVOKE_PREFIX) : -len(_INVOKE_SUFFIX)])
        qualifier = parse_qs(request.query).get("Qualifier", [None])[0]
        if not self._is_our_function(requested, qualifier):
            for other in self._others:
                if other._is_our_function(requested, qualifier):
                    return other._handle(request)
            return Response.aws_error(
                404, "ResourceNotFoundException", f"Function not found: {_as_arn(requested, self.config)}"
            )
        headers = {name.lower(): value for name, value in request.headers.items()}
        invocation_type = headers.get("x-amz-invocation-type", "RequestResponse")
        if invocation_type not in ("RequestResponse", "Event", "DryRun"):
            return Response.aws_error(
                400, "InvalidParameterValueException", f"Unsupported invocation type {invocation_type!r}."
            )
        request_id = str(uuid.uuid4())
        if invocation_type == "DryRun":
            return Response(204, headers={"x-amzn-RequestId": request_id})
        client_context: str | None = None
        if "x-amz-client-context" in headers:
            try:
                client_context = base64.b64decode(headers["x-amz-client-context"], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return Response.aws_error(
                    400,
                    "InvalidParameterValueException",
                    "Client context must be a valid Base64-encoded JSON object.",
                )
        call = _Call(
            request_id=request_id,
            payload=request.body or b"{}",  # an Invoke without a payload gets the event {}
            trace=_caller_trace(headers.get("x-amzn-trace-id")),
            client_context=client_context,
            tail=headers.get("x-amz-log-type") == "Tail",
            asynchronous=invocation_type == "Event",
            received=time.time(),
        )
        response_headers = {
            "x-amzn-RequestId": request_id,
            "X-Amz-Executed-Version": "$LATEST",
            "X-Amzn-Trace-Id": call.trace.header(call.trace.parent),
        }
        if call.asynchronous:
            self._start_background(call)
            return Response(202, headers=response_headers)
        try:
            payload, failed, log = self._run(call)
        except _Stopping:
            return Response.aws_error(503, "ServiceException", "The local Lambda service is stopping.")
        response_headers["Content-Type"] = "application/json"
        if failed:
            response_headers["X-Amz-Function-Error"] = "Unhandled"
        if call.tail:
            response_headers["X-Amz-Log-Result"] = lambda_results.log_result(log)
        return Response(200, payload, response_headers)

    def _is_our_function(self, requested: str, qualifier: str | None) -> bool:
        # Accepted like Lambda: name, name:qualifier, 123456789012:function:name, or the full ARN.
        parts = requested.split(":")
        if requested.startswith("arn:"):
            if len(parts) not in (7, 8) or parts[3] != self.config.region or parts[4] != LOCAL_ACCOUNT_ID:
                return False
            parts = parts[6:]
        elif len(parts) in (3, 4) and parts[1] == "function":
            if parts[0] != LOCAL_ACCOUNT_ID:
                return False
            parts = parts[2:]
        if len(parts) == 2:
            if qualifier not in (None, parts[1]):
                return False
            qualifier = parts[1]
        return len(parts) in (1, 2) and parts[0] == self.config.name and qualifier in (None, "$LATEST")

    def _start_background(self, call: _Call) -> None:
        accepted = time.time()

        def run() -> None:
            try:
                self._run(call, accepted=accepted)
            except _Stopping:
                pass  # stop() came first: like a queued event when its function is deleted
            finally:
                with self._pool:
                    self._background.discard(thread)

        thread = threading.Thread(target=run, name=f"lambda-event:{call.request_id}", daemon=True)
        with self._pool:
            self._background.add(thread)
        thread.start()

    # -- one invocation --

    def _run(self, call: _Call, accepted: float | None = None) -> tuple[bytes, bool, str]:
        """Run `call` on a sandbox and record its segments; return (payload, function failed, log)."""
        invocation_id = new_segment_id()
        function_segment_id = new_segment_id()
        request = RuntimeRequest(
            request_id=call.request_id,
            payload=call.payload,
            trace_header=call.trace.header(invocation_id),
            function_arn=self.config.function_arn,
            timeout=self.config.timeout,
            client_context=call.client_context,
        )
        sandbox = self._acquire()
        try:
            outcome = sandbox.invoke(request)
        finally:
            self._release(sandbox)
        failure = lambda_results.failure(outcome, call.request_id, self.config.timeout)
        payload = (
            outcome.body
            if failure is None or outcome.kind in ("error", "init_error")
            else lambda_results.error_document(failure)
        )
        log = lambda_results.log_text(
            call.request_id,
            outcome,
            failure,
            timeout=self.config.timeout,
            memory_mb=self.config.memory_mb,
            xray=(call.trace.root, function_segment_id) if call.trace.sampled else None,
        )
        if call.trace.sampled:
            self._emit(
                InvocationRecord(
                    trace_id=call.trace.root,
                    caller_parent_id=call.trace.parent,
                    function_name=self.config.name,
                    region=self.config.region,
                    request_id=call.request_id,
                    service_segment_id=new_segment_id(),
                    function_segment_id=function_segment_id,
                    invocation_id=invocation_id,
                    received=call.received,
                    responded=accepted if accepted is not None else time.time(),
                    init=outcome.init,
                    invocation=outcome.invocation,
                    overhead_end=outcome.ready_at,
                    asynchronous=call.asynchronous,
                    failure=failure,
                )
            )
        self._report(
            InvocationReport(
                function_name=self.config.name,
                request_id=call.request_id,
                trace_id=call.trace.root,
                failure=None if failure is None else outcome.kind,
                duration=outcome.invocation[1] - outcome.invocation[0] if outcome.invocation else None,
                cold=outcome.init is not None,
            )
        )
        return payload, failure is not None, log

    def _report(self, report: InvocationReport) -> None:
        """Hand the invocation's report to `on_invocation` (local serve's line), after Lambda's segments are
        stored: whatever the callback does (a closed stderr), the invocation has happened and is answered."""
        if self._on_invocation is None:
            return
        try:
            self._on_invocation(report)
        except Exception:
            logger.exception("reporting an invocation failed")

    def _emit(self, record: InvocationRecord) -> None:
        """Store Lambda's segments; what cannot be stored is logged (the invocation itself succeeded)."""
        documents = lambda_segments(record)
        try:
            refused = self._sink(documents)
        except Exception as exc:
            logger.debug("the trace store failed on Lambda's segments", exc_info=True)
            refused = [{"Id": "", "ErrorCode": type(exc).__name__, "Message": str(exc)}]
        for entry in refused:
            logger.warning(
                "Lambda's segment %s of trace %s was not stored: %s: %s",
                entry.get("Id") or "(all)",
                record.trace_id,
                entry.get("ErrorCode"),
                entry.get("Message"),
            )

    # -- the pool --

    def _acquire(self) -> Sandbox:
        with self._pool:
            while True:
                if self._closed:
                    raise _Stopping
                while self._idle:
                    sandbox = self._idle.pop()
                    if sandbox.alive:
                        return sandbox
                    self._sandboxes.discard(sandbox)
                    self._stop_later(sandbox)
                if len(self._sandboxes) < self.config.concurrency:
                    return self._new_sandbox()
                self._pool.wait()

    def _release(self, sandbox: Sandbox) -> None:
        with self._pool:
            if sandbox.alive and not self._closed:
                self._idle.append(sandbox)
            else:
                self._sandboxes.discard(sandbox)
                self._stop_later(sandbox)
            self._pool.notify()

    def _new_sandbox(self) -> Sandbox:
        # Called with the pool lock held, so stop() cannot miss a sandbox that is being started.
        env = self._sandbox_environment()
        # The runtime runs `_HANDLER`: the function's own, or the layer's wrapper around it.
        sandbox = Sandbox(env["_HANDLER"], self.config.code_dir, env, runtime=self._runtime).start()
        self._sandboxes.add(sandbox)
        return sandbox

    def _stop_later(self, sandbox: Sandbox) -> None:
        # Called with the pool lock held. Stopping joins threads and a server: not under the lock, and not on
        # the caller's time.
        def stop() -> None:
            sandbox.stop()
            with self._pool:
                self._background.discard(thread)

        thread = threading.Thread(target=stop, name="lambda-sandbox-stop", daemon=True)
        self._background.add(thread)
        thread.start()

    def _sandbox_environment(self) -> dict[str, str]:
        """What Lambda sets for a Python function, built from nothing: the function must never see the
        user's own credentials, profile or xrayctl settings."""
        config = self.config
        daemon_host, _, daemon_port = self._daemon_address.rpartition(":")
        spec = importlib.util.find_spec("awslambdaric" if self._runtime == "awslambdaric" else "xrayctl")
        today = datetime.now(timezone.utc)
        runtime_dir = (
            Path(spec.origin).parent.parent if spec is not None and spec.origin else Path(sys.prefix)
        )
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONPATH": str(config.code_dir),
            # /var/task is read-only on Lambda: leave no __pycache__ in function/ either.
            "PYTHONDONTWRITEBYTECODE": "1",
            "LAMBDA_TASK_ROOT": str(config.code_dir),
            "LAMBDA_RUNTIME_DIR": str(runtime_dir),
            "_HANDLER": config.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{today:%Y/%m/%d}/[$LATEST]{secrets.token_hex(16)}",
            "AWS_REGION": config.region,
            "AWS_DEFAULT_REGION": config.region,
            "AWS_XRAY_DAEMON_ADDRESS": self._daemon_address,
            "_AWS_XRAY_DAEMON_ADDRESS": daemon_host,
            "_AWS_XRAY_DAEMON_PORT": daemon_port,
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            # Dummy credentials: enough for botocore to sign requests to the local stand-ins.
            "AWS_ACCESS_KEY_ID": "xrayctl-local",
            "AWS_SECRET_ACCESS_KEY": "xrayctl-local",
            "AWS_SESSION_TOKEN": "xrayctl-local",
        }
        if self._s3_endpoint:
            env["AWS_ENDPOINT_URL_S3"] = self._s3_endpoint
        env.update(config.environment)
        if config.sdk == "otel":
            env.update(otel_layer.wrapper_environment(env))
        return env


def _caller_trace(value: str | None) -> _TraceContext:
    fields = parse_trace_header(value or "")
    try:
        root = normalize_trace_id(fields.get("Root", ""))
    except InvalidTraceId:
        root = new_trace_id()  # no usable trace context: Lambda starts a trace of its own
    parent = fields.get("Parent", "").lower()
    valid_parent = len(parent) == 16 and set(parent) <= _SEGMENT_ID_CHARS
    return _TraceContext(root, parent if valid_parent else None, fields.get("Sampled") != "0")


def _as_arn(requested: str, config: LambdaConfig) -> str:
    return requested if requested.startswith("arn:") else function_arn(config.region, requested)
