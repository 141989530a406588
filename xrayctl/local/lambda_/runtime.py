"""One Lambda execution environment: a child process running the real runtime client, and its Runtime API.

A `Sandbox` starts `awslambdaric` (whose native client speaks HTTP through its own libcurl) in a child Python
process and serves it the Lambda Runtime API on 127.0.0.1: GET /runtime/invocation/next blocks until an event
is handed over, and the runtime posts back /invocation/{id}/response, /invocation/{id}/error or
/runtime/init/error. Every sandbox has a server of its own, because a Runtime API request does not say which
process sent it: this way a /next still pending from a killed child can never take an event meant for its
successor. Invocations of one sandbox are serialized; the caller (the Lambda service) pools sandboxes.

Output: the child's stdout and stderr are read by one thread, under the same lock that hands out events, and
attributed to the invocation in progress (output between invocations, such as import-time prints, goes to the
next one). The runtime flushes its output before it posts a result, so when a result arrives the invocation's
output is already in the pipes; `_drain` waits until they are empty, which makes the log tail complete.

No orphans: the child runs apart from xrayctl (its own session on POSIX, so that Ctrl-C at the terminal
reaches only xrayctl, which then stops it; a new process group on Windows) and is always killed with its whole
tree, which on Linux holds everything the function started however it detached (the child is a subreaper),
its process group, and the processes bearing the sandbox's mark in their environment (`_XRAYCTL_SANDBOX`):
see `processes` for what each platform reaches. If xrayctl dies without stopping it (SIGKILL, a crash), a
watchdog thread in the child sees EOF on its stdin, a pipe that only the parent holds open, and does the same.
Chosen over prctl(PR_SET_PDEATHSIG), which fires when the *thread* that spawned the child exits (here a
short-lived HTTP request thread: it would kill warm runtimes), needs a preexec_fn (unsafe in a threaded
parent), exists only on Linux, and reaches only the direct child.

The runtime client is awslambdaric where it is installed, else xrayctl's own loop (`loop`), held to the same
behaviour by the same tests; `XRAYCTL_LAMBDA_RUNTIME=builtin|awslambdaric` chooses one (the suite runs the
local stack's tests both ways). The child's output is read with a selector on POSIX, and by polling how many
bytes wait in each pipe where pipes cannot be selected (Windows; `XRAYCTL_SANDBOX_IO=poll` forces it).
"""

from __future__ import annotations

import codecs
import contextlib
import importlib.util
import json
import math
import os
import re
import secrets
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from xrayctl.errors import LocalStackError
from xrayctl.local.httpserver import LoopbackHTTPServer, Request, Response
from xrayctl.local.lambda_ import processes
from xrayctl.local.lambda_.child import MARK_VARIABLE, RUNTIMES

RUNTIME_VARIABLE = "XRAYCTL_LAMBDA_RUNTIME"  # awslambdaric, builtin, or unset: awslambdaric where installed
IO_VARIABLE = "XRAYCTL_SANDBOX_IO"  # poll: read the child's output as Windows must (a test of that path)

INIT_TIMEOUT = 10.0  # Lambda's limit on the init phase, before the function's own timeout starts
_NEXT_AFTER_RESULT = 0.5  # how long to wait for the runtime to ask for its next event (the Overhead)
_DRAIN_LIMIT = 1.0  # a child that never stops writing must not hold up the answer
_LOG_KEEP = 8192  # characters kept per invocation: at least the 4 KB that a log tail shows

# Lambda's limit on a synchronous response, and what its Runtime API answers a runtime that posts more.
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100
RESPONSE_TOO_LARGE = (
    "Function.ResponseSizeTooLarge",
    f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
)
# The Runtime API's header limit (Go's 1 MiB plus its 4 KB of slack): awslambdaric sends an X-Ray cause of
# up to 1 MiB in a header, so a RecursionError's or a 100 KB message's cause must get through.
_MAX_HEADER_BYTES = 1024 * 1024 + 4096
_POLL_INTERVAL = 0.01  # seconds between looks at the pipes, where they cannot be selected

_RESULT_PATH = re.compile(r"/2018-06-01/runtime/invocation/(?P<id>[^/]+)/(?P<what>response|error)")

Window = tuple[float, float]
OutcomeKind = Literal["response", "error", "init_error", "timeout", "exit"]


@dataclass(frozen=True)
class RuntimeRequest:
    """One event to hand to the runtime, with the headers /next carries."""

    request_id: str
    payload: bytes
    trace_header: str  # Lambda-Runtime-Trace-Id, which awslambdaric copies into _X_AMZN_TRACE_ID
    function_arn: str
    timeout: float
    client_context: str | None = None


@dataclass(frozen=True)
class Outcome:
    """How one invocation ended, with its timing (epoch seconds) and output."""

    kind: OutcomeKind
    body: bytes = b""  # the response, or the error document the runtime posted
    xray_cause: str | None = None  # the runtime's Lambda-Runtime-Function-XRay-Error-Cause header
    init: Window | None = None  # cold start: child start to its first /next (or to its failure)
    invocation: Window | None = None  # the /next that delivered the event to the result (or the kill)
    ready_at: float | None = None  # the runtime's next /next after the result
    log: str = ""
    max_memory_mb: int | None = None
    exit_status: str | None = None  # "exit status 3", "signal: killed": how the child ended, if it did


@dataclass
class _Posted:
    kind: Literal["response", "error", "init_error"]
    body: bytes
    xray_cause: str | None
    at: float


@dataclass
class _Active:
    request: RuntimeRequest
    delivered_at: float
    deadline: float  # time.monotonic()
    result: _Posted | None = None


@dataclass
class _Output:
    chunks: list[str] = field(default_factory=list)
    size: int = 0

    def add(self, text: str) -> None:
        if not text:
            return
        self.chunks.append(text)
        self.size += len(text)
        if self.size > 2 * _LOG_KEEP:  # only a tail is ever shown: keep memory bounded
            kept = "".join(self.chunks)[-_LOG_KEEP:]
            self.chunks, self.size = [kept], len(kept)

    def take(self) -> str:
        text = "".join(self.chunks)
        self.chunks, self.size = [], 0
        return text


class Sandbox:
    """One execution environment for `handler` in `code_dir`, with environment `env` (complete: nothing of
    the parent's environment is added)."""

    def __init__(
        self,
        handler: str,
        code_dir: Path,
        env: Mapping[str, str],
        *,
        runtime: str = "awslambdaric",
        poll_output: bool | None = None,
    ) -> None:
        """`runtime` is one of child.RUNTIMES; `poll_output` reads the child's output by polling the pipes
        (default: where they cannot be selected, or as XRAYCTL_SANDBOX_IO says)."""
        self._argv = [sys.executable, "-m", "xrayctl.local.lambda_.child", runtime, handler]
        if poll_output is None:
            poll_output = not processes.POSIX or os.environ.get(IO_VARIABLE) == "poll"
        self._poll_output = poll_output
        self._code_dir = code_dir
        self._mark = secrets.token_hex(8)  # inherited by every process the function starts: see _kill
        self._env = {**env, MARK_VARIABLE: self._mark}
        self._cond = threading.Condition()
        # A body over Lambda's response limit is read and thrown away, so that its route can still fail the
        # invocation as Lambda does (see _post_result), holding no more than the limit in memory.
        self._server = LoopbackHTTPServer(
            self._route,
            max_body=MAX_RESPONSE_BYTES,
            max_header_bytes=_MAX_HEADER_BYTES,
            read_oversize_body=True,
        )
        self._proc: subprocess.Popen[bytes] | None = None
        self._threads: list[threading.Thread] = []
        self._open_fds: set[int] = set()
        self._output = _Output()
        self._started_at = 0.0
        self._first_next: float | None = None
        self._waiting_since: float | None = None  # the runtime's latest /next began
        self._cold = True
        self._pending: RuntimeRequest | None = None
        self._active: _Active | None = None
        self._init_error: _Posted | None = None
        self._exit_code: int | None = None
        self._killed = False
        self._closed = False

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def alive(self) -> bool:
        """Whether the child can take another invocation (a dead sandbox is never revived)."""
        with self._cond:
            return (
                self._proc is not None
                and self._exit_code is None
                and self._init_error is None
                and not (self._killed or self._closed)
            )

    def start(self) -> Sandbox:
        """Start the Runtime API and the child; return at once (the child initializes in the background)."""
        self._server.start()
        env = {**self._env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self._server.port}"}
        try:
            proc = subprocess.Popen(
                self._argv,
                cwd=self._code_dir,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                **processes.popen_options(),
            )
        except OSError as exc:
            self._server.stop()
            raise LocalStackError(
                f"Could not start the Lambda runtime in {self._code_dir}: {exc}.",
                "Check that the function's code directory exists and that Python can run there.",
            ) from exc
        self._proc = proc
        assert proc.stdout is not None and proc.stderr is not None
        self._open_fds = {proc.stdout.fileno(), proc.stderr.fileno()}
        self._threads = [
            threading.Thread(
                target=self._poll_output_of if self._poll_output else self._read_output,
                args=(proc,),
                name=f"lambda-out:{proc.pid}",
                daemon=True,
            ),
            threading.Thread(
                target=self._wait_exit, args=(proc,), name=f"lambda-wait:{proc.pid}", daemon=True
            ),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def _open_gate(self) -> None:
        """Let the child import the handler: the init phase starts now, as it does on a cold invoke."""
        self._started_at = time.time()
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(b"g")
            self._proc.stdin.flush()
        except OSError:
            pass  # the child is already gone: the invocation sees it exit and reports Runtime.ExitError

    def invoke(self, request: RuntimeRequest) -> Outcome:
        """Run one event to its end: a result, an init error, the child's exit, or the timeout (which kills
        the child). Not reentrant: the caller hands a sandbox to one invocation at a time."""
        with self._cond:
            if self._pending is not None or self._active is not None:
                raise RuntimeError("a sandbox runs one invocation at a time")
            if self._cold and not self._started_at:
                self._open_gate()
            self._pending = request
            self._cond.notify_all()
            init_deadline = time.monotonic() + INIT_TIMEOUT
            while self._active is None and not self._ended_before_delivery():
                if not self._wait_until(init_deadline):
                    break
            active = self._active
            if active is not None:
                while active.result is None and self._exit_code is None and not self._closed:
                    if not self._wait_until(active.deadline):
                        break
            posted = active.result if active is not None else self._init_error
            now = time.time()
            kind: OutcomeKind
            if posted is not None:
                kind = posted.kind
            elif self._exit_code is not None or self._closed:
                kind = "exit"
            else:
                kind = "timeout"
            end = posted.at if posted is not None else now
            memory = processes.max_memory_mb(self._proc.pid) if self._proc is not None else None
            cold, self._cold = self._cold, False
            init: Window | None = None
            if cold:
                init_end = self._first_next if self._first_next is not None else end
                init = (self._started_at, init_end)
            invocation = (active.delivered_at, end) if active is not None else None
        if kind not in ("response", "error"):
            self._kill()
        with self._cond:
            self._drain()
            ready_at = None
            if kind in ("response", "error"):
                ready_at = self._wait_ready(end)
            self._pending = self._active = None
            log = self._output.take()
            returncode = self._proc.returncode if self._proc is not None else None
            exit_status = _exit_status(returncode) if kind in ("exit", "init_error") else None
        return Outcome(
            kind=kind,
            body=posted.body if posted is not None else b"",
            xray_cause=posted.xray_cause if posted is not None else None,
            init=init,
            invocation=invocation,
            ready_at=ready_at,
            log=log,
            max_memory_mb=memory,
            exit_status=exit_status,
        )

    def stop(self) -> None:
        """Kill the child's process group, close the Runtime API, join the threads. Idempotent."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._kill()
        self._server.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._proc is not None:
            for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
                if stream is not None:
                    stream.close()

    # -- waiting (all called with self._cond held) --

    def _ended_before_delivery(self) -> bool:
        return self._init_error is not None or self._exit_code is not None or self._closed

    def _wait_until(self, deadline: float) -> bool:
        """Wait for a change; False once `deadline` (monotonic) has passed."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self._cond.wait(remaining)
        return True

    def _drain(self) -> None:
        # The reader reads only while holding the lock, so with the lock held, empty pipes mean that every
        # byte written before now has been attributed.
        deadline = time.monotonic() + _DRAIN_LIMIT
        while any(processes.pending_bytes(fd) for fd in self._open_fds) and self._wait_until(deadline):
            pass

    def _wait_ready(self, since: float) -> float | None:
        deadline = time.monotonic() + _NEXT_AFTER_RESULT
        while (self._waiting_since is None or self._waiting_since < since) and self._exit_code is None:
            if not self._wait_until(deadline):
                return None
        return self._waiting_since if self._exit_code is None else None

    # -- the child --

    def _kill(self) -> None:
        proc = self._proc
        if proc is None:
            return
        with self._cond:
            self._killed = True
        if proc.returncode is None:  # once reaped, its pid may already be another process's
            processes.kill_tree(proc.pid, mark=f"{MARK_VARIABLE}={self._mark}")
        else:
            processes.kill_marked(f"{MARK_VARIABLE}={self._mark}")
        # Only an uninterruptible sleep delays SIGKILL; the waiter thread reaps the child in any case.
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)

    def _wait_exit(self, proc: subprocess.Popen[bytes]) -> None:
        code = proc.wait()
        with self._cond:
            self._exit_code = code
            self._cond.notify_all()

    def _read_output(self, proc: subprocess.Popen[bytes]) -> None:
        selector = selectors.DefaultSelector()
        for stream in (proc.stdout, proc.stderr):
            assert stream is not None
            os.set_blocking(stream.fileno(), False)
            selector.register(
                stream.fileno(), selectors.EVENT_READ, codecs.getincrementaldecoder("utf-8")("replace")
            )
        try:
            while selector.get_map():
                # The timeout only matters if a process escaped the group and holds a pipe open after stop().
                events = selector.select(timeout=0.5)
                with self._cond:
                    if not events and self._closed:
                        return
                    for key, _ in events:
                        try:
                            data = os.read(key.fd, 65536)
                        except BlockingIOError:
                            continue
                        self._output.add(key.data.decode(data, final=not data))
                        if not data:
                            selector.unregister(key.fd)
                            self._open_fds.discard(key.fd)
                    self._cond.notify_all()
        finally:
            selector.close()

    def _poll_output_of(self, proc: subprocess.Popen[bytes]) -> None:
        """`_read_output` where pipes cannot be selected: look at how many bytes wait in each pipe, and read
        exactly those, under the lock; end when the child has exited and its pipes are empty (or on stop)."""
        streams = [stream.fileno() for stream in (proc.stdout, proc.stderr) if stream is not None]
        decoders = {fd: codecs.getincrementaldecoder("utf-8")("replace") for fd in streams}
        while True:
            with self._cond:
                read = False
                for fd in streams:
                    waiting = processes.pending_bytes(fd)
                    if waiting > 0:
                        self._output.add(decoders[fd].decode(os.read(fd, min(waiting, 65536))))
                        read = True
                if read:
                    self._cond.notify_all()
                elif self._closed or self._exit_code is not None:
                    for decoder in decoders.values():
                        self._output.add(decoder.decode(b"", final=True))
                    self._open_fds.clear()
                    self._cond.notify_all()
                    return
            if not read:
                time.sleep(_POLL_INTERVAL)

    # -- the Runtime API --

    def _route(self, request: Request) -> Response:
        if request.method == "GET" and request.path == "/2018-06-01/runtime/invocation/next":
            return self._next()
        if request.method == "POST" and request.path == "/2018-06-01/runtime/init/error":
            return self._post_init_error(request)
        match = _RESULT_PATH.fullmatch(request.path)
        if request.method == "POST" and match is not None:
            return self._post_result(
                match["id"], "response" if match["what"] == "response" else "error", request
            )
        return _runtime_error(
            404, "UnknownOperation", f"No Runtime API operation at {request.method} {request.path}"
        )

    def _next(self) -> Response:
        with self._cond:
            now = time.time()
            if self._first_next is None:
                self._first_next = now
            self._waiting_since = now
            self._cond.notify_all()
            while self._pending is None and not self._closed:
                self._cond.wait()
            if self._pending is None:
                return _runtime_error(500, "ServiceStopping", "The sandbox is shutting down.")
            request, self._pending = self._pending, None
            active = _Active(request, time.time(), time.monotonic() + request.timeout)
            self._active = active
            self._cond.notify_all()
        headers = {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": request.request_id,
            "Lambda-Runtime-Deadline-Ms": str(math.floor((active.delivered_at + request.timeout) * 1000)),
            "Lambda-Runtime-Invoked-Function-Arn": request.function_arn,
            "Lambda-Runtime-Trace-Id": request.trace_header,
        }
        if request.client_context is not None:
            headers["Lambda-Runtime-Client-Context"] = request.client_context
        return Response(200, request.payload, headers)

    def _post_result(self, request_id: str, kind: Literal["response", "error"], request: Request) -> Response:
        with self._cond:
            active = self._active
            if active is None or active.request.request_id != request_id:
                return _runtime_error(400, "InvalidRequestID", f"No invocation {request_id} in progress.")
            if active.result is not None:
                return _runtime_error(
                    403, "InvalidStateTransition", f"Invocation {request_id} already has a result."
                )
            if request.body_size > MAX_RESPONSE_BYTES:
                # Lambda fails the invocation and refuses the runtime's post; awslambdaric then exits, and the
                # next invocation gets a new sandbox, as in Lambda (REPORT ... Error Type: Runtime.ExitError).
                error_type, message = RESPONSE_TOO_LARGE
                document = json.dumps({"errorMessage": message, "errorType": error_type}).encode()
                active.result = _Posted("error", document, None, time.time())
                self._cond.notify_all()
                return _runtime_error(
                    413,
                    "RequestEntityTooLarge",
                    f"Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
                )
            active.result = _Posted(kind, request.body, _xray_cause(request), time.time())
            self._cond.notify_all()
        return Response.json(202, {"status": "OK"})

    def _post_init_error(self, request: Request) -> Response:
        with self._cond:
            if self._active is not None or self._init_error is not None:
                return _runtime_error(403, "InvalidStateTransition", "The runtime is past its init phase.")
            self._init_error = _Posted("init_error", request.body, _xray_cause(request), time.time())
            self._cond.notify_all()
        return Response.json(202, {"status": "OK"})


def _runtime_error(status: int, error_type: str, message: str) -> Response:
    """An error in the Runtime API's own shape (ErrorResponse), which is what runtime clients log."""
    return Response.json(status, {"errorMessage": message, "errorType": error_type})


def _xray_cause(request: Request) -> str | None:
    # Header names arrive as each client spelled them (libcurl sends them in lower case).
    for name, value in request.headers.items():
        if name.lower() == "lambda-runtime-function-xray-error-cause":
            return value
    return None


def _exit_status(code: int | None) -> str | None:
    """Say how the child ended the way Lambda does (its runtime manager is written in Go)."""
    if code is None:
        return None
    if code >= 0:
        return f"exit status {code}"
    name = signal.strsignal(-code) or f"signal {-code}"
    return f"signal: {name.lower()}"


def runtime_client() -> str:
    """The runtime client sandboxes run: XRAYCTL_LAMBDA_RUNTIME's, else awslambdaric where it is installed,
    else the built-in loop."""
    wanted = os.environ.get(RUNTIME_VARIABLE, "")
    installed = importlib.util.find_spec("awslambdaric") is not None
    if wanted and wanted not in RUNTIMES:
        raise LocalStackError(
            f"{RUNTIME_VARIABLE}={wanted!r} is not a Lambda runtime client xrayctl knows.",
            f"Set it to {' or '.join(RUNTIMES)}, or unset it.",
        )
    if wanted == "awslambdaric" and not installed:
        raise LocalStackError(
            f"{RUNTIME_VARIABLE}=awslambdaric, but awslambdaric is not installed (it has Linux wheels only).",
            f"Install it (pip install awslambdaric), or unset {RUNTIME_VARIABLE} to use the built-in loop.",
        )
    return wanted or ("awslambdaric" if installed else "builtin")
