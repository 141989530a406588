"""xrayctl's own Lambda runtime loop: the Runtime API client for where awslambdaric does not install.

awslambdaric ships wheels for Linux only (building it elsewhere needs autotools and cmake), so on macOS and
Windows the runtime child runs this loop instead (see `child`). It speaks the same Lambda Runtime API and
behaves as awslambdaric 2.x-4.x does, as seen by the function and by the Runtime API server:

- init: the handler `module.function` is imported; a failure is posted to /runtime/init/error with
  `Lambda-Runtime-Function-Error-Type` (Runtime.ImportModuleError, Runtime.UserCodeSyntaxError,
  Runtime.HandlerNotFound, Runtime.MalformedHandlerName, Runtime.BuiltInModuleConflict, or the exception's
  own type), after the same LAMBDA_WARNING and [ERROR] lines, and the process exits 1;
- each event: GET /runtime/invocation/next; its `Lambda-Runtime-Trace-Id` goes into `_X_AMZN_TRACE_ID` (and
  a missing one removes it), the request id into the log lines of the root logger, the other headers into the
  context object; the event is JSON-decoded (Runtime.UnmarshalError), the result JSON-encoded (bytes are
  sent as they are, Runtime.MarshalError otherwise) and posted to /invocation/{id}/response;
- an exception: the error document (`errorMessage`, `errorType`, `requestId`, `stackTrace`) is logged as one
  `[ERROR]` record (its lines joined by CR, which CloudWatch keeps as one event) and posted to
  /invocation/{id}/error with `Lambda-Runtime-Function-Error-Type` and the X-Ray cause in
  `Lambda-Runtime-Function-XRay-Error-Cause`, dropped (as awslambdaric drops it) when 1 MiB or more;
- a Runtime API call that is not answered as expected (a 413 for a response over 6 MB) raises, and the
  runtime exits, as awslambdaric's does.

Differences, by design: the log format is Lambda's text format only (AWS_LAMBDA_LOG_FORMAT=JSON is not
read); `decimal.Decimal` results are encoded as numbers through float (awslambdaric's simplejson keeps every
digit); SnapStart hooks and multi-concurrency do not exist locally. Standard library only: the function's
process must look like Lambda's.
"""

from __future__ import annotations

import decimal
import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback
from typing import Any, NoReturn

_ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
_XRAY_CAUSE_HEADER = "Lambda-Runtime-Function-XRay-Error-Cause"
_MAX_XRAY_CAUSE = 1024 * 1024  # awslambdaric's bound: a larger cause is not sent at all
_LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
# Runtimes whose awslambdaric writes JSON without escaping non-ASCII characters.
_UNESCAPED_JSON_RUNTIMES = {f"AWS_Lambda_python3.{minor}" for minor in range(12, 16)}
_UNHANDLED_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. However, "
    "in rare cases, a Lambda runtime update can cause unexpected function behavior. For functions using "
    "managed runtimes, runtime updates can be triggered by a function change, or can be applied "
    "automatically. To determine if the runtime has been updated, check the runtime version in the "
    "INIT_START log entry. If this error correlates with a change in the runtime version, you may be able to "
    "mitigate this error by temporarily rolling back to the previous runtime version. For more information, "
    "see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)

_request_id = ""  # what the root logger's records carry as aws_request_id


class Fault(Exception):
    """A failure the runtime itself names (Runtime.*), as awslambdaric's FaultException."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type, self.message, self.trace = error_type, message, trace


class RuntimeApiError(Exception):
    """The Runtime API did not answer a call as it should: the runtime stops, as awslambdaric's does."""


class RuntimeApi:
    """The Lambda Runtime API at `address` ("host:port"), over one kept-alive connection."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self._connection = http.client.HTTPConnection(host, int(port))

    def next(self) -> tuple[bytes, http.client.HTTPMessage]:
        return self._call("GET", "/2018-06-01/runtime/invocation/next", 200)

    def response(self, request_id: str, body: bytes, content_type: str) -> None:
        path = f"/2018-06-01/runtime/invocation/{request_id}/response"
        self._call("POST", path, 202, body, {"Content-Type": content_type})

    def error(self, request_id: str, document: dict[str, Any], xray_cause: str | None) -> None:
        headers = {_ERROR_TYPE_HEADER: document["errorType"], "Content-Type": "application/json"}
        if xray_cause is not None and len(xray_cause.encode()) < _MAX_XRAY_CAUSE:
            headers[_XRAY_CAUSE_HEADER] = xray_cause
        path = f"/2018-06-01/runtime/invocation/{request_id}/error"
        self._call("POST", path, 202, to_json(document).encode(), headers)

    def init_error(self, document: dict[str, Any]) -> None:
        headers = {_ERROR_TYPE_HEADER: document["errorType"], "Content-Type": "application/json"}
        self._call("POST", "/2018-06-01/runtime/init/error", 202, to_json(document).encode(), headers)

    def _call(
        self,
        method: str,
        path: str,
        expected: int,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[bytes, http.client.HTTPMessage]:
        try:
            self._connection.request(method, path, body, headers or {})
            response = self._connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self._connection.close()  # the next call connects again
            raise
        if response.status != expected:
            raise RuntimeApiError(
                f"Request to Lambda Runtime '{path}' endpoint failed. Reason: '{response.status}'. "
                f"Response body: '{data!r}'"
            )
        return data, response.headers


class LambdaContext:
    """The handler's `context`, with awslambdaric's attributes and methods."""

    def __init__(self, headers: http.client.HTTPMessage) -> None:
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.tenant_id = headers.get("Lambda-Runtime-Aws-Tenant-Id")
        client_context = _json_header(headers.get("Lambda-Runtime-Client-Context"), "Client Context")
        self.client_context = _Attributes.of(client_context, ("custom", "env", "client"))
        if self.client_context is not None:
            self.client_context.client = _Attributes.of(
                self.client_context.client,
                ("installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"),
            )
        identity = _json_header(headers.get("Lambda-Runtime-Cognito-Identity"), "Cognito Identity") or {}
        self.identity = _Attributes(
            cognito_identity_id=identity.get("cognitoIdentityId"),
            cognito_identity_pool_id=identity.get("cognitoIdentityPoolId"),
        )
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms") or 0)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, message: object) -> None:
        sys.stdout.write(str(message))


class _Attributes:
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    @classmethod
    def of(cls, data: Any, names: tuple[str, ...]) -> Any:
        if not isinstance(data, dict):
            return None
        return cls(**{name: data.get(name) for name in names})


class _Unbuffered:
    """A stream that flushes every write: the function's output is in the pipe before its result is posted,
    which is what lets the sandbox attribute output to the right invocation."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def write(self, text: str) -> int:
        written = self._stream.write(text)
        self._stream.flush()
        return int(written or 0)

    def writelines(self, lines: Any) -> None:
        self._stream.writelines(lines)
        self._stream.flush()


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _request_id
        return True


class _StdoutHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        sys.stdout.write(self.format(record))


def run(handler: str, api: RuntimeApi) -> None:
    """Import `handler`, then serve events from `api` until the process ends."""
    global _request_id
    sys.stdout = _Unbuffered(sys.stdout)
    sys.stderr = _Unbuffered(sys.stderr)
    _setup_logging()
    try:
        function = _load_handler(handler)
    except Fault as fault:
        document = error_document(fault.message, fault.error_type, fault.trace)
        _fail_init(api, document)
    except Exception as exc:  # noqa: BLE001 - whatever the function's import raised is its init error
        frames = _user_frames(exc.__traceback__)
        _fail_init(api, error_document(str(exc), type(exc).__name__, traceback.format_list(frames)))
    while True:
        body, headers = api.next()
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
        _request_id = request_id
        trace = headers.get("Lambda-Runtime-Trace-Id")
        if trace is not None:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        _handle(api, function, request_id, body, headers)


def _handle(api: RuntimeApi, function: Any, request_id: str, body: bytes, headers: Any) -> None:
    xray_cause: str
    try:
        context = LambdaContext(headers)
        event = _unmarshal(body, headers.get("Content-Type"))
        result, content_type = _marshal(function(event, context))
    except Fault as fault:
        xray_cause = to_json(_xray_cause("LambdaValidationError", fault.message, traceback.StackSummary()))
        document = error_document(fault.message, fault.error_type, fault.trace, request_id)
    except Exception as exc:  # noqa: BLE001 - whatever the handler raised is the invocation's error
        frames = _user_frames(exc.__traceback__)
        xray_cause = to_json(_xray_cause(type(exc).__name__, str(exc), frames))
        document = error_document(str(exc), type(exc).__name__, traceback.format_list(frames), request_id)
    else:
        api.response(request_id, result, content_type)
        return
    log_error(document)
    api.error(request_id, document, xray_cause)


def _fail_init(api: RuntimeApi, document: dict[str, Any]) -> NoReturn:
    logging.warning(_UNHANDLED_WARNING)
    log_error(document)
    api.init_error(document)
    sys.exit(1)


def _load_handler(handler: str) -> Any:
    module_name, _, function_name = handler.rpartition(".")
    if not module_name:
        raise Fault(
            "Runtime.MalformedHandlerName",
            f"Bad handler '{handler}': not enough values to unpack (expected 2, got 1)",
        )
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise Fault(
            "Runtime.BuiltInModuleConflict", f"Cannot use built-in module {module_name} as a handler module"
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise Fault("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from exc
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise Fault(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}", trace
        ) from exc
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise Fault(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        ) from None


def _unmarshal(body: bytes, content_type: str | None) -> Any:
    if content_type not in (None, "application/json"):
        return body
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Fault("Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}") from exc


def _marshal(result: Any) -> tuple[bytes, str]:
    if isinstance(result, bytes):
        return result, "application/unknown"
    try:
        return to_json(result).encode(), "application/json"
    except (TypeError, ValueError, RecursionError) as exc:
        raise Fault("Runtime.MarshalError", f"Unable to marshal response: {exc}") from exc


def to_json(value: Any) -> str:
    """JSON as awslambdaric writes it: NaN allowed, non-ASCII unescaped on python3.12 and later runtimes."""
    ascii_only = os.environ.get("AWS_EXECUTION_ENV") not in _UNESCAPED_JSON_RUNTIMES
    return json.dumps(value, ensure_ascii=ascii_only, allow_nan=True, default=_decimal)


def _decimal(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value.is_finite() and value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def error_document(
    message: str, error_type: str, trace: list[str] | None, request_id: str | None = None
) -> dict[str, Any]:
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id or "",
        "stackTrace": trace or [],
    }


def _user_frames(tb: Any) -> traceback.StackSummary:
    """The traceback without the runtime's own frames at its start, as awslambdaric trims bootstrap.py."""
    frames = traceback.extract_tb(tb)
    first = next((i for i, frame in enumerate(frames) if frame.filename != __file__), len(frames))
    return traceback.StackSummary.from_list(frames[first:])


def _xray_cause(error_type: str, message: str, frames: traceback.StackSummary) -> dict[str, Any]:
    stack = [{"label": frame.name, "path": frame.filename, "line": frame.lineno} for frame in frames]
    return {
        "working_directory": os.getcwd(),
        "exceptions": [{"message": message, "type": error_type, "stack": stack}],
        "paths": list({frame.filename for frame in frames}),
    }


def log_error(document: dict[str, Any]) -> None:
    """The `[ERROR]` record awslambdaric writes: its lines joined by CR, so CloudWatch keeps one event."""
    description = "[ERROR]"
    if document["errorType"]:
        description += " " + document["errorType"] + (":" if document["errorMessage"] else "")
    if document["errorMessage"]:
        description += " " + document["errorMessage"]
    lines = [description, "Traceback (most recent call last):"]
    for element in document["stackTrace"]:
        lines.extend([_indent(line) for line in element.splitlines()] if element else [""])
    sys.stdout.write("\r".join(lines) + "\n")


def _indent(line: str) -> str:
    # Leading spaces become no-break spaces, which CloudWatch does not strip.
    stripped = line.lstrip(" ")
    return "\u00a0" * (len(line) - len(stripped)) + stripped


def _json_header(value: str | None, name: str) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError as exc:
        raise Fault("Runtime.LambdaContextUnmarshalError", f"Unable to parse {name} JSON: {exc}") from exc


def _setup_logging() -> None:
    logging.Formatter.converter = time.gmtime
    handler = _StdoutHandler()
    handler.setFormatter(logging.Formatter(_LOG_FORMAT, "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper().replace("TRACE", "DEBUG")
    if level and isinstance(logging.getLevelName(level), int):  # a level's name gives its number
        root.setLevel(level)
    root.addHandler(handler)


def main(handler: str) -> None:
    run(handler, RuntimeApi(os.environ["AWS_LAMBDA_RUNTIME_API"]))
